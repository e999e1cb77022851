import { WebSocket } from 'ws';
import { RpcError, type RpcErrorData } from './client.ts';
import { describeTarget, type NodeTarget, Unreachable } from './node-transport.ts';

/** Why the box ended a stream (`credential_ended`); absent when it simply ran out or was cancelled. */
export interface StreamEndReason {
  code: string;
  message: string;
}

type StreamEnd = (reason?: StreamEndReason) => void;

/** A `call.progress` notification: how far a call has come. */
export interface CallProgress {
  step: string;
  done?: number;
  total?: number;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onProgress?: ((p: CallProgress) => void) | undefined;
}

/**
 * A JSON-RPC connection over the WebSocket `/ws` from Node: calls, and the streams they
 * open (`stream.data` / `stream.end` notifications, delivered to `onStream` handlers).
 */
export class WsClient {
  readonly #ws: WebSocket;
  readonly #pending = new Map<number, Pending>();
  readonly #streams = new Map<string, { data: (d: unknown) => void; end?: StreamEnd }>();
  // Stream data can arrive in the same network read as the answer that names the stream,
  // before the caller had a chance to register: keep it until then.
  readonly #early = new Map<string, { data: unknown[]; ended: boolean; reason?: StreamEndReason }>();
  #nextId = 1;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (raw) => this.#onMessage(raw.toString()));
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        for (const p of this.#pending.values()) p.reject(new Error(`connection closed (${code})`));
        this.#pending.clear();
        for (const s of this.#streams.values()) s.end?.();
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  static connect(target: NodeTarget): Promise<WsClient> {
    const base = target.socketPath
      ? `ws+unix://${target.socketPath}:`
      : (target.url ?? '').replace(/^http/, 'ws');
    const ws = new WebSocket(`${base}/ws`, {
      headers: {
        ...(target.bearer ? { Authorization: `Bearer ${target.bearer}` } : {}),
        ...target.headers,
      },
      ...(target.ca ? { ca: target.ca } : {}),
      ...(target.localAddress ? { localAddress: target.localAddress } : {}),
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WsClient(ws)));
      ws.once('error', (e) => reject(new Unreachable(describeTarget(target), e)));
      ws.once('unexpected-response', (_, res) =>
        reject(new Error(`WebSocket refused: HTTP ${res.statusCode}`)),
      );
    });
  }

  /** Calls a method; `onProgress` hears the call's progress while it runs. */
  call(
    method: string,
    params: unknown = {},
    options: { onProgress?: (p: CallProgress) => void } = {},
  ): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress: options.onProgress });
      this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /** Sends a raw text frame (tests send malformed ones). */
  sendRaw(text: string): void {
    this.#ws.send(text);
  }

  /** Registers handlers for a stream; data that arrived before is delivered first. */
  onStream(id: string, data: (d: unknown) => void, end?: StreamEnd): void {
    const early = this.#early.get(id);
    this.#early.delete(id);
    for (const d of early?.data ?? []) data(d);
    if (early?.ended) {
      end?.(early.reason);
      return;
    }
    this.#streams.set(id, { data, ...(end ? { end } : {}) });
  }

  #earlyOf(id: string) {
    const e = this.#early.get(id) ?? { data: [], ended: false };
    this.#early.set(id, e);
    return e;
  }

  /** Every message that is neither an answer nor stream data (for tests). */
  onOther: (msg: unknown) => void = () => {};

  close(): Promise<{ code: number; reason: string }> {
    this.#ws.close();
    return this.closed;
  }

  #onMessage(text: string): void {
    const msg = JSON.parse(text) as {
      id?: number;
      result?: unknown;
      error?: { code: number; message: string; data?: RpcErrorData };
      method?: string;
      params?: { stream: string; data?: unknown; reason?: StreamEndReason };
    };
    if (msg.method === 'call.progress' && msg.params) {
      const { id, ...progress } = msg.params as unknown as CallProgress & { id: number };
      this.#pending.get(id)?.onProgress?.(progress);
      return;
    }
    if (msg.method === 'stream.data' && msg.params) {
      const s = this.#streams.get(msg.params.stream);
      if (s) s.data(msg.params.data);
      else this.#earlyOf(msg.params.stream).data.push(msg.params.data);
      return;
    }
    if (msg.method === 'stream.end' && msg.params) {
      const s = this.#streams.get(msg.params.stream);
      const reason = msg.params.reason;
      if (s) s.end?.(reason);
      else Object.assign(this.#earlyOf(msg.params.stream), { ended: true, ...(reason ? { reason } : {}) });
      this.#streams.delete(msg.params.stream);
      return;
    }
    const pending = typeof msg.id === 'number' ? this.#pending.get(msg.id) : undefined;
    if (!pending) {
      this.onOther(msg);
      return;
    }
    this.#pending.delete(msg.id!);
    if (msg.error) pending.reject(new RpcError(msg.error));
    else pending.resolve(msg.result);
  }
}
