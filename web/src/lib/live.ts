import { RpcError } from '../../../core/src/client/client.ts';
import { applyPatch, type Json, type PatchOp } from '../../../core/src/state/json-patch.ts';
import type { MethodName, ParamsOf, ResultOf } from './api.ts';

/** How the UI's line to the box is: `live` once the state document is in sync. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

export interface Progress {
  step: string;
  done?: number;
  total?: number;
}

type StateMessage =
  | { kind: 'patch'; revision: number; patch: PatchOp[] }
  | { kind: 'dump'; revision: number; state: Json };

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  onProgress?: ((p: Progress) => void) | undefined;
}

interface Stream {
  data: (d: unknown) => void;
  end?: ((reason?: { code: string; message: string }) => void) | undefined;
}

/**
 * The WebSocket `/ws`, kept open: the state document (`state.subscribe`, patches applied
 * as they come), calls that report progress, and streams (logs). When the connection drops
 * — the daemon restarting, a network blip — it says so, connects again with a growing
 * pause, and resumes the state from its revision (the box sends the missed patches, or the
 * whole document). A credential that ends closes the socket with 4401: `onSignedOut`.
 */
export class Live {
  state: Json = {};
  revision = 0;
  status: LiveStatus = 'connecting';
  /** Set when the box has restarted since the page loaded (a different boot of the daemon). */
  restarted = false;
  onSignedOut: () => void = () => {};

  #ws: WebSocket | undefined;
  #nextId = 1;
  #pending = new Map<number, Pending>();
  #streams = new Map<string, Stream>();
  #early = new Map<string, unknown[]>();
  #listeners = new Set<() => void>();
  #retryMs = 250;
  #closed = false;
  #subscribeState: boolean;
  #opened: Promise<void> | undefined;
  #startedAt: number | undefined;
  #settle: () => void = () => {};
  /**
   * Settles once the first state document has arrived, or the first connection has failed:
   * a screen drawn then is drawn once with the box's state, not first empty and again.
   */
  readonly settled: Promise<void> = new Promise((resolve) => {
    this.#settle = resolve;
  });

  /** `subscribeState: false` for the wizard, which has no credential to read the state with. */
  constructor(options: { subscribeState: boolean }) {
    this.#subscribeState = options.subscribeState;
    this.#connect();
  }

  /** Calls `listener` whenever the state, the status or the connection changes. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** A value of the state document by path (`get('packages', id)`). */
  get(...path: string[]): unknown {
    let v: unknown = this.state;
    for (const key of path) {
      if (v === null || typeof v !== 'object') return undefined;
      v = (v as Record<string, unknown>)[key];
    }
    return v;
  }

  /** Calls a method over the socket; `onProgress` hears its `call.progress` steps. */
  async call<N extends MethodName>(
    method: N,
    params: ParamsOf<N>,
    options: { onProgress?: (p: Progress) => void } = {},
  ): Promise<ResultOf<N>> {
    await this.#ready();
    const ws = this.#ws!;
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve: resolve as (v: unknown) => void,
        reject,
        onProgress: options.onProgress,
      });
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
    });
  }

  /**
   * Calls a method that opens a stream (`package.logs` with `follow`), hands each item to
   * `onData`, and answers a function that ends it.
   */
  async stream<N extends MethodName>(
    method: N,
    params: ParamsOf<N>,
    onData: (item: unknown) => void,
    onEnd?: (reason?: { code: string; message: string }) => void,
  ): Promise<{ initial: ResultOf<N>; cancel: () => void }> {
    const initial = (await this.call(method, params)) as ResultOf<N> & { stream?: string };
    const id = initial.stream;
    if (typeof id !== 'string') return { initial, cancel: () => {} };
    this.#streams.set(id, { data: onData, end: onEnd });
    for (const item of this.#early.get(id) ?? []) onData(item);
    this.#early.delete(id);
    return {
      initial,
      cancel: () => {
        if (!this.#streams.delete(id)) return;
        if (this.#ws?.readyState === WebSocket.OPEN) {
          this.#ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'stream.cancel', params: { stream: id } }));
        }
      },
    };
  }

  close(): void {
    this.#closed = true;
    this.#ws?.close(1000);
  }

  #emit(): void {
    for (const l of this.#listeners) l();
  }

  #ready(): Promise<void> {
    if (this.#ws?.readyState === WebSocket.OPEN) return Promise.resolve();
    return (
      this.#opened ??
      Promise.reject(new RpcError({ code: -32000, message: 'not connected', data: { code: 'unreachable' } }))
    );
  }

  #connect(): void {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
    const ws = new WebSocket(url);
    this.#ws = ws;
    this.#opened = new Promise((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener(
        'close',
        () =>
          reject(
            new RpcError({ code: -32000, message: 'the box does not answer', data: { code: 'unreachable' } }),
          ),
        { once: true },
      );
    });
    this.#opened.catch(() => {});
    ws.addEventListener('open', () => {
      this.#retryMs = 250;
      if (!this.#subscribeState) {
        this.status = 'live';
        this.#emit();
        return;
      }
      void this.#subscribe();
    });
    ws.addEventListener('message', (e) => this.#onMessage(String(e.data)));
    ws.addEventListener('close', (e) => {
      const failure = new RpcError({
        code: -32000,
        message: 'the connection to the box was lost',
        data: { code: 'unreachable' },
      });
      for (const p of this.#pending.values()) p.reject(failure);
      this.#pending.clear();
      for (const s of this.#streams.values()) s.end?.();
      this.#streams.clear();
      this.#settle();
      if (e.code === 4401) this.onSignedOut();
      if (this.#closed) return;
      this.status = 'reconnecting';
      this.#emit();
      setTimeout(() => this.#connect(), this.#retryMs);
      this.#retryMs = Math.min(5000, this.#retryMs * 2);
    });
  }

  async #subscribe(): Promise<void> {
    try {
      const since = this.revision > 0 ? { since: this.revision } : {};
      const { stream } = await this.call('state.subscribe', since);
      this.#streams.set(stream, { data: (m) => this.#onState(m as StateMessage) });
      for (const item of this.#early.get(stream) ?? []) this.#onState(item as StateMessage);
      this.#early.delete(stream);
      await this.#checkRestart();
      this.status = 'live';
      this.#emit();
    } catch (e) {
      if (e instanceof RpcError && (e.code === 'unauthorized' || e.code === 'invalid_token'))
        this.onSignedOut();
    }
  }

  /** The daemon's start time from the state document: a new one means it restarted. */
  async #checkRestart(): Promise<void> {
    const started = this.get('server', 'startedAt');
    if (typeof started !== 'number') return;
    if (this.#startedAt !== undefined && started !== this.#startedAt) this.restarted = true;
    this.#startedAt = started;
  }

  #onState(m: StateMessage): void {
    if (m.kind === 'dump') this.state = m.state;
    else this.state = applyPatch(this.state, m.patch);
    this.revision = m.revision;
    void this.#checkRestart();
    this.#emit();
    this.#settle();
  }

  #onMessage(text: string): void {
    let m: {
      id?: number;
      method?: string;
      params?: {
        id?: number;
        stream?: string;
        data?: unknown;
        reason?: { code: string; message: string };
      } & Progress;
      result?: unknown;
      error?: { code: number; message: string; data?: { code: string } };
    };
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    if (m.method === 'stream.data' && m.params?.stream) {
      const s = this.#streams.get(m.params.stream);
      if (s) s.data(m.params.data);
      else this.#early.set(m.params.stream, [...(this.#early.get(m.params.stream) ?? []), m.params.data]);
      return;
    }
    if (m.method === 'stream.end' && m.params?.stream) {
      const s = this.#streams.get(m.params.stream);
      this.#streams.delete(m.params.stream);
      s?.end?.(m.params.reason);
      return;
    }
    if (m.method === 'call.progress' && typeof m.params?.id === 'number') {
      const { id: _, ...p } = m.params;
      this.#pending.get(m.params.id)?.onProgress?.(p as Progress);
      return;
    }
    if (typeof m.id !== 'number') return;
    const pending = this.#pending.get(m.id);
    if (!pending) return;
    this.#pending.delete(m.id);
    if (m.error) pending.reject(new RpcError(m.error));
    else pending.resolve(m.result);
  }
}
