import http from 'node:http';
import https from 'node:https';
import { Readable, type Writable } from 'node:stream';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type InitializeResult,
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type JSONRPCRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { describeTarget, type NodeTarget, Unreachable } from '../client/node-transport.ts';

export interface BridgeIo {
  stdin: Readable;
  stdout: Writable;
  /** Where the bridge says what goes wrong: desktop clients keep a server's stderr as its log. */
  stderr: { write(text: string): unknown };
}

/**
 * `hearth mcp`: an MCP server on stdin/stdout that forwards every message to the box's
 * `/mcp` and back, unchanged, so a desktop client that starts servers as commands gets the
 * box's own tools, resources, prompt, scopes, confirmations and audit. The box holds the
 * session; when it forgets it (a restart), the bridge opens a new one with the client's
 * own initialize and subscriptions, and the client never notices. `resolveTarget` says
 * where the box is and with which credential, again at each new session.
 * Resolves when stdin ends.
 */
export async function runMcpBridge(resolveTarget: () => NodeTarget, io: BridgeIo): Promise<void> {
  let target = resolveTarget();
  const url = new URL('/mcp', target.url ?? 'http://localhost');
  const say = (line: string) => io.stderr.write(`hearth mcp: ${line}\n`);
  const client = new StdioServerTransport(io.stdin, io.stdout);

  let initialize: JSONRPCRequest | undefined;
  const subscriptions = new Set<string>();
  // Answers to the bridge's own requests (a replayed initialize), which the client never sees.
  const own = new Map<string | number, (m: JSONRPCMessage) => void>();
  let ownId = 0;
  let generation = 0;
  let reconnecting: Promise<void> | undefined;

  const connect = async (): Promise<StreamableHTTPClientTransport> => {
    const t = new StreamableHTTPClientTransport(url, { fetch: nodeFetch(target) });
    t.onmessage = (m) => {
      const answer = 'id' in m && !('method' in m) && m.id !== undefined ? own.get(m.id) : undefined;
      if (answer) return answer(m);
      if (initialize && isJSONRPCResultResponse(m) && m.id === initialize.id) {
        t.setProtocolVersion((m.result as InitializeResult).protocolVersion);
      }
      client.send(m).catch((error: unknown) => say(`could not write to the client: ${describe(error)}`));
    };
    t.onerror = (error) => say(describe(error));
    await t.start();
    return t;
  };
  let box = await connect();

  /** A new session on the box, set up as the client had set up the old one. */
  const reopen = async () => {
    // Root's local cookie is new after a daemon restart.
    target = resolveTarget();
    const old = box;
    box = await connect();
    generation += 1;
    void old.close();
    const id = `hearth-mcp-${++ownId}`;
    const answered = new Promise<JSONRPCMessage>((resolve) => own.set(id, resolve));
    await box.send({ ...initialize!, id });
    const answer = await answered;
    own.delete(id);
    if (!isJSONRPCResultResponse(answer)) throw new Error('the box refused to start a new session');
    box.setProtocolVersion((answer.result as InitializeResult).protocolVersion);
    await box.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    for (const uri of subscriptions) {
      const subId = `hearth-mcp-${++ownId}`;
      const done = new Promise<JSONRPCMessage>((resolve) => own.set(subId, resolve));
      await box.send({ jsonrpc: '2.0', id: subId, method: 'resources/subscribe', params: { uri } });
      await done;
      own.delete(subId);
    }
  };

  const forward = async (m: JSONRPCMessage, retried = false): Promise<void> => {
    if (isInitializeRequest(m) && isJSONRPCRequest(m)) initialize = m;
    if (isJSONRPCRequest(m) && m.method === 'resources/subscribe')
      subscriptions.add(String(m.params?.['uri']));
    if (isJSONRPCRequest(m) && m.method === 'resources/unsubscribe')
      subscriptions.delete(String(m.params?.['uri']));
    const sentIn = generation;
    try {
      await box.send(m);
    } catch (error) {
      // 404: the session is unknown; 401: so is the local cookie (both after a daemon restart).
      const forgotten = error instanceof StreamableHTTPError && (error.code === 404 || error.code === 401);
      if (forgotten && !retried && initialize && !isInitializeRequest(m)) {
        if (sentIn === generation) {
          say('the box no longer knows this session (did it restart?): opening a new one');
          reconnecting ??= reopen().finally(() => {
            reconnecting = undefined;
          });
        }
        try {
          await reconnecting;
          return await forward(m, true);
        } catch (again) {
          return answerWithError(m, again);
        }
      }
      return answerWithError(m, error);
    }
  };

  const answerWithError = async (m: JSONRPCMessage, error: unknown) => {
    const message = describe(error);
    if (!isJSONRPCRequest(m)) return void say(message);
    await client.send({ jsonrpc: '2.0', id: m.id, error: { code: -32000, message } });
  };

  // What the client sent is still answered after its stdin ends (a piped request, a client
  // that closes its end first).
  const pending = new Set<Promise<void>>();
  client.onmessage = (m) => {
    const sent = forward(m).finally(() => pending.delete(sent));
    pending.add(sent);
  };
  client.onerror = (error) => say(`bad input from the client: ${describe(error)}`);
  const ended = new Promise<void>((resolve) => {
    io.stdin.once('end', resolve);
    io.stdin.once('close', resolve);
  });
  await client.start();
  await ended;
  await Promise.allSettled(pending);
  await client.close();
  // The box may end the session at once rather than when it has been idle long enough.
  await box.terminateSession().catch(() => {});
  await box.close();
}

/**
 * What went wrong, for a person reading the client's log: the box's own message and hint
 * where it sent one (they travel in the error text of the SDK's transport).
 */
function describe(error: unknown): string {
  if (error instanceof Unreachable) return `${error.message} — hint: ${error.hint}`;
  if (!(error instanceof Error)) return String(error);
  const json = /\{.*\}$/s.exec(error.message)?.[0];
  if (json) {
    try {
      const body = JSON.parse(json) as { error?: { message?: string; data?: { hint?: string } } };
      const e = body.error;
      if (e?.message) return `${e.message}${e.data?.hint ? ` — hint: ${e.data.hint}` : ''}`;
    } catch {}
  }
  if (isJSONRPCErrorResponse(error)) return error.error.message;
  return error.message;
}

/**
 * fetch over node:http, so the bridge can reach the box's local socket (root on the box)
 * as well as a URL (a trusted CA certificate included), with the credential attached.
 */
export function nodeFetch(target: NodeTarget): FetchLike {
  return (input, init = {}) =>
    new Promise((resolve, reject) => {
      const url = new URL(String(input));
      const lib = url.protocol === 'https:' ? https : http;
      const headers = new Headers(init.headers);
      if (target.bearer) headers.set('authorization', `Bearer ${target.bearer}`);
      const req = lib.request(
        url,
        {
          method: init.method ?? 'GET',
          headers: Object.fromEntries(headers),
          ...(target.socketPath ? { socketPath: target.socketPath } : {}),
          ...(target.ca ? { ca: target.ca } : {}),
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 502;
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value])
              out.append(name, v);
          }
          const body = [204, 205, 304].includes(status) ? null : (Readable.toWeb(res) as ReadableStream);
          resolve(new Response(body, { status, headers: out }));
        },
      );
      req.on('error', (e) =>
        reject(e.name === 'AbortError' ? e : new Unreachable(describeTarget(target), e)),
      );
      req.end(typeof init.body === 'string' ? init.body : undefined);
    });
}

export const MCP_HELP = `Usage: hearth mcp [--host URL --token TOKEN]

An MCP server on stdin and stdout for desktop AI clients (Claude Desktop, editors) that
start servers as commands. It forwards everything to the box's /mcp: the same tools,
resources, prompt, scopes, confirmations and audit log as over HTTP.

  On the box (as root):   hearth mcp
  From another machine:   hearth mcp --host https://hearth.local --token hth_…
                          (or HEARTH_HOST and HEARTH_TOKEN in the client's env)

The token's scope (read, operate, admin) decides which tools the agent sees.
Create one with: hearth auth token create --name my-agent --scope operate
More in docs/mcp.md.
`;
