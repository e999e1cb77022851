import type http from 'node:http';
import { WebSocket } from 'ws';
import type { Credentials } from '../auth/auth.ts';
import type { Logger } from '../log/log.ts';
import { type Dispatcher, errorResponse, type Identity, type Transport } from './dispatch.ts';
import { ParseError } from './errors.ts';
import { clientAddress, credentialsOf } from './http-util.ts';
import type { Caller, OutputStream, Surface } from './registry.ts';

// A subscriber this far behind is cut off; it reconnects and resumes from its revision.
const MAX_WS_BUFFER = 8 << 20;
const WS_PING_MS = 30_000;

/** What a WebSocket connection needs of the HTTP surface that accepted it. */
export interface WebSocketDeps {
  dispatcher: Dispatcher;
  identify: (creds: Credentials) => Identity;
  log: Logger;
  /** The transport of a call on this connection (the request's credential, address, …). */
  transport(extra: Partial<Transport>): Transport;
  /** Counts a call under way, for a clean stop. */
  track(p: Promise<void>): void;
  /** The connection among the open ones, with its credential and how to end it (recheck). */
  register(entry: { creds: Credentials; caller: Caller; end: () => void }): void;
  unregister(): void;
}

/** Why the daemon ended a stream, in its `stream.end` notification. */
export interface StreamEndReason {
  code: string;
  message: string;
}

const CREDENTIAL_ENDED: StreamEndReason = {
  code: 'credential_ended',
  message: 'your session or API token has ended (logged out, killed, revoked or expired): log in again',
};

/** Already-serialized JSON. */
class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/**
 * One WebSocket connection: JSON-RPC calls as text frames, and the streams they open
 * (`stream.data`, `stream.end`), a ping every 30 s, and its error path.
 */
export function serveWebSocket(
  ws: WebSocket,
  req: http.IncomingMessage,
  _surface: Surface,
  o: WebSocketDeps,
): void {
  const creds = credentialsOf(req);
  const streams = new Map<string, { controller: AbortController; end: (reason?: StreamEndReason) => void }>();
  o.register({
    creds,
    caller: o.identify(creds).caller,
    end: () => {
      for (const s of [...streams.values()]) {
        s.end(CREDENTIAL_ENDED);
        s.controller.abort();
      }
      ws.close(4401, 'your session or token has ended: log in again');
    },
  });
  let nextStream = 1;
  let alive = true;
  const ping = setInterval(() => {
    if (!alive) return ws.terminate();
    alive = false;
    ws.ping();
  }, WS_PING_MS);
  ws.on('pong', () => {
    alive = true;
  });
  // A frame that breaks the protocol (a reserved opcode or bit, no mask, bad UTF-8, a
  // length over the limit) or a reset: ws closes this connection right after the event.
  // Without a listener the event would end the daemon.
  ws.on('error', (error) => {
    o.log.debug('websocket closed on a protocol error', {
      address: clientAddress(req),
      error: error.message,
    });
  });
  const sendJson = (msg: unknown) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_WS_BUFFER) {
      ws.close(1013, 'too far behind: reconnect and resume from your revision');
      return;
    }
    ws.send(msg instanceof RawJson ? msg.text : JSON.stringify(msg));
  };
  const cancel = (id: string) => {
    const s = streams.get(id);
    s?.controller.abort();
    s?.end();
  };
  ws.on('close', () => {
    clearInterval(ping);
    o.unregister();
    for (const s of streams.values()) s.controller.abort();
    streams.clear();
  });
  // Identified once for the door; each call is identified again by the Dispatcher.
  const door = o.transport({});
  ws.on('message', (data, isBinary) => {
    try {
      o.dispatcher.admit(door);
    } catch (error) {
      return sendJson(errorResponse(null, error));
    }
    if (isBinary) return sendJson(errorResponse(null, new ParseError()));
    let body: unknown;
    try {
      body = JSON.parse(data.toString());
    } catch {
      return sendJson(errorResponse(null, new ParseError()));
    }
    // Streams opened by a call hold their data until the call's answer has gone out,
    // so the client always knows a stream id before its first message.
    const held: (() => void)[] = [];
    let answered = false;
    const openStream = (): OutputStream => {
      const id = `s${nextStream++}`;
      const controller = new AbortController();
      let ended = false;
      const out = (msg: unknown) => {
        if (answered) sendJson(msg);
        else held.push(() => sendJson(msg));
      };
      const stream: OutputStream = {
        id,
        signal: controller.signal,
        send: (d) => {
          if (controller.signal.aborted) return;
          out(
            new RawJson(
              `{"jsonrpc":"2.0","method":"stream.data","params":{"stream":"${id}","data":${jsonOnce(d)}}}`,
            ),
          );
        },
        end: () => end(),
      };
      // Sent once, also after a cancel: it tells the client the stream is gone (and why,
      // when it was not the client's doing).
      const end = (reason?: StreamEndReason) => {
        if (ended) return;
        ended = true;
        out({
          jsonrpc: '2.0',
          method: 'stream.end',
          params: { stream: id, ...(reason ? { reason } : {}) },
        });
        streams.delete(id);
      };
      streams.set(id, { controller, end });
      return stream;
    };
    const transport = o.transport({
      openStream,
      cancelStream: cancel,
      // Progress goes out at once: it is about the call under way, not after it.
      notify: (method, params) => sendJson({ jsonrpc: '2.0', method, params }),
    });
    o.track(
      o.dispatcher.handle(body, transport).then((answer) => {
        if (answer !== undefined) sendJson(answer);
        answered = true;
        for (const f of held) f();
      }),
    );
  });
}

// One state change goes to every subscriber as the same object: serialize it once.
const serialized = new WeakMap<object, string>();
function jsonOnce(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value) ?? 'null';
  let text = serialized.get(value);
  if (text === undefined) {
    text = JSON.stringify(value);
    serialized.set(value, text);
  }
  return text;
}
