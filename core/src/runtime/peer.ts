import type { Duplex } from 'node:stream';
import { codeFrom, HearthError } from '../errors.ts';
import { toRpcError } from '../rpc/errors.ts';

/**
 * JSON-RPC 2.0 in both directions over one stream, one JSON object per line: the channel
 * between the host and the runtime inside each container. Either side may call the
 * other. The host treats the other end as untrusted: lines are size-limited, requests
 * rate-limited, and each handler validates its own params.
 */
export type PeerHandler = (params: unknown) => Promise<unknown> | unknown;

export interface PeerOptions {
  handlers: Record<string, PeerHandler>;
  /** Longest line accepted; a longer one closes the connection. */
  maxLineBytes?: number;
  /** Requests the other side may make per second, with a burst of twice that. */
  ratePerSecond?: number;
  /** How long a call waits for its answer. */
  timeoutMs?: number;
  onError?: (error: unknown) => void;
}

export class PeerClosed extends HearthError {
  constructor() {
    super('peer_closed', 'the connection to the container runtime is closed');
  }
}

export class PeerTimeout extends HearthError {
  constructor(method: string, ms: number) {
    super('peer_timeout', `${method} got no answer from the container runtime in ${ms} ms`);
  }
}

export class PeerRemoteError extends HearthError {
  constructor(error: { code: number; message: string; data?: { code?: string } }) {
    super(codeFrom(error.data?.code, 'remote_error'), error.message, { data: { rpcCode: error.code } });
  }
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
  method: string;
}

export class RpcPeer {
  readonly #stream: Duplex;
  readonly #o: Required<PeerOptions>;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #buffer = '';
  #closed = false;
  #tokens: number;
  #refilled = Date.now();
  readonly closed: Promise<void>;

  constructor(stream: Duplex, options: PeerOptions) {
    this.#stream = stream;
    this.#o = {
      maxLineBytes: 1 << 20,
      ratePerSecond: 50,
      timeoutMs: 30_000,
      onError: () => {},
      ...options,
    };
    this.#tokens = this.#o.ratePerSecond * 2;
    stream.setEncoding?.('utf8');
    stream.on('data', (chunk: string) => this.#onData(chunk));
    this.closed = new Promise((resolve) => {
      const done = () => {
        this.#close();
        resolve();
      };
      stream.once('close', done);
      stream.once('end', done);
      stream.once('error', (e) => {
        this.#o.onError(e);
        done();
      });
    });
  }

  call(method: string, params: unknown = {}, timeoutMs = this.#o.timeoutMs): Promise<unknown> {
    if (this.#closed) return Promise.reject(new PeerClosed());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new PeerTimeout(method, timeoutMs));
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer, method });
      this.#send({ jsonrpc: '2.0', id, method, params });
    });
  }

  notify(method: string, params: unknown = {}): void {
    if (!this.#closed) this.#send({ jsonrpc: '2.0', method, params });
  }

  close(): void {
    this.#stream.end();
    this.#close();
  }

  #send(msg: unknown): void {
    this.#stream.write(`${JSON.stringify(msg)}\n`);
  }

  #onData(chunk: string): void {
    this.#buffer += chunk;
    if (this.#buffer.length > this.#o.maxLineBytes && !this.#buffer.includes('\n')) {
      this.#o.onError(
        new HearthError('peer_line_too_long', 'the container runtime sent an oversized message'),
      );
      this.#stream.destroy();
      return;
    }
    let nl = this.#buffer.indexOf('\n');
    while (nl !== -1) {
      const line = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      if (line.length > this.#o.maxLineBytes) {
        this.#o.onError(
          new HearthError('peer_line_too_long', 'the container runtime sent an oversized message'),
        );
        this.#stream.destroy();
        return;
      }
      if (line.trim()) this.#onLine(line);
      nl = this.#buffer.indexOf('\n');
    }
  }

  #onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
      if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) throw new Error('not an object');
    } catch {
      this.#send({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'not a JSON object' } });
      return;
    }
    if (typeof msg['method'] === 'string') {
      void this.#onRequest(msg['method'], msg['params'], 'id' in msg ? msg['id'] : undefined);
      return;
    }
    const pending = typeof msg['id'] === 'number' ? this.#pending.get(msg['id']) : undefined;
    if (!pending) return;
    this.#pending.delete(msg['id'] as number);
    clearTimeout(pending.timer);
    if (msg['error'] && typeof msg['error'] === 'object') {
      pending.reject(new PeerRemoteError(msg['error'] as { code: number; message: string }));
    } else {
      pending.resolve(msg['result']);
    }
  }

  async #onRequest(method: string, params: unknown, id: unknown): Promise<void> {
    const reply = (body: object) => {
      if (id !== undefined && !this.#closed) this.#send({ jsonrpc: '2.0', id, ...body });
    };
    if (!this.#take()) {
      reply({ error: toRpcError(new HearthError('rate_limited', 'too many requests from this container')) });
      return;
    }
    const handler = Object.hasOwn(this.#o.handlers, method) ? this.#o.handlers[method] : undefined;
    if (!handler) {
      reply({
        error: {
          code: -32601,
          message: `there is no method '${method}'`,
          data: { code: 'method_not_found' },
        },
      });
      return;
    }
    try {
      reply({ result: (await handler(params)) ?? null });
    } catch (e) {
      if (!(e instanceof HearthError)) this.#o.onError(e);
      reply({ error: toRpcError(e) });
    }
  }

  /** Token bucket: refills continuously at ratePerSecond up to a burst of twice that. */
  #take(): boolean {
    const now = Date.now();
    const burst = this.#o.ratePerSecond * 2;
    this.#tokens = Math.min(burst, this.#tokens + ((now - this.#refilled) / 1000) * this.#o.ratePerSecond);
    this.#refilled = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(new PeerClosed());
    }
    this.#pending.clear();
  }
}
