import net from 'node:net';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import { type PeerHandler, RpcPeer } from './peer.ts';
import { type EffectName, type EffectOutput, type EffectParams, effectsClient } from './protocol.ts';

/**
 * The runtime's end of the channel: connects to the host's socket, registers, and keeps
 * doing so. The host daemon may restart while the container keeps running, so a lost
 * connection is retried with backoff and, once registered again, the last daemon states
 * and health results are sent again: the host's picture is whole after every reconnect.
 */

export class HostUnavailable extends HearthError {
  constructor() {
    super('host_unavailable', 'the runtime is not connected to the host right now', {
      hint: 'the host is restarting; try again in a moment',
    });
  }
}

export const RECONNECT_FIRST_MS = 100;
export const RECONNECT_MAX_MS = 5000;
/** The host may run init or migrations before it answers register (see docs/effects.md). */
const REGISTER_TIMEOUT_MS = 15 * 60_000;

export interface HostLinkOptions {
  socketPath: string;
  handlers: Record<string, PeerHandler>;
  register: () => EffectParams<'effects.register'>;
  /** After every successful register; `first` only once per runtime. */
  onRegistered: (info: EffectOutput<'effects.register'>, first: boolean) => void;
  log: Logger;
}

export class HostLink {
  readonly #o: HostLinkOptions;
  #peer: RpcPeer | null = null;
  #registered = false;
  #everRegistered = false;
  #closed = false;
  #delay = RECONNECT_FIRST_MS;
  #timer: NodeJS.Timeout | null = null;
  /** The last report per key (a daemon's state, a check's health): re-sent on reconnect. */
  readonly #retained = new Map<string, { method: EffectName; params: unknown }>();
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: HostLinkOptions) {
    this.#o = options;
  }

  get registered(): boolean {
    return this.#registered;
  }

  start(): void {
    this.#connect();
  }

  /**
   * A call to the host over the current connection, refused at once without one. Allowed
   * before register is answered: the host may run init meanwhile, and init uses effects.
   */
  call<N extends EffectName>(method: N, params: EffectParams<N>): Promise<EffectOutput<N>> {
    if (!this.#peer) return Promise.reject(new HostUnavailable());
    return effectsClient(this.#peer).call(method, params);
  }

  /**
   * State the host should always have the latest of: sent now if connected, and again
   * after every reconnect. Failures are logged, not thrown.
   */
  report<N extends EffectName>(key: string, method: N, params: EffectParams<N>): Promise<void> {
    this.retain(key, method, params);
    if (!this.#peer || !this.#registered) return Promise.resolve();
    return this.#send(this.#peer, method, params);
  }

  /** Keeps a report to send after the next register, without sending it now. */
  retain<N extends EffectName>(key: string, method: N, params: EffectParams<N>): void {
    this.#retained.set(key, { method, params });
  }

  /** Closes the channel once the reports under way are answered (at most `graceMs`). */
  async close(graceMs = 1000): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#inFlight.size > 0) {
      await Promise.race([
        Promise.allSettled(this.#inFlight),
        new Promise((resolve) => setTimeout(resolve, graceMs).unref()),
      ]);
    }
    this.#peer?.close();
  }

  #send(peer: RpcPeer, method: string, params: unknown): Promise<void> {
    const sent = peer.call(method, params).then(
      () => {},
      (error: unknown) => {
        if (!this.#closed) this.#o.log.warn('report not taken', { method, ...brief(error) });
      },
    );
    this.#inFlight.add(sent);
    void sent.finally(() => this.#inFlight.delete(sent));
    return sent;
  }

  #connect(): void {
    if (this.#closed) return;
    const socket = net.connect(this.#o.socketPath);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // ENOENT / ECONNREFUSED: the host is not listening (yet, or again).
      if (!this.#peer) {
        this.#o.log.debug('host not reachable', { code: error.code });
        this.#retry();
      }
    });
    socket.once('connect', () => {
      const peer = new RpcPeer(socket, {
        handlers: this.#o.handlers,
        onError: (error) => this.#o.log.warn('host channel', brief(error)),
      });
      this.#peer = peer;
      void peer.closed.then(() => {
        if (this.#peer !== peer) return;
        this.#peer = null;
        this.#registered = false;
        if (!this.#closed) this.#o.log.warn('host connection lost; reconnecting');
        this.#retry();
      });
      void this.#register(peer);
    });
  }

  async #register(peer: RpcPeer): Promise<void> {
    let info: EffectOutput<'effects.register'>;
    try {
      info = await effectsClient(peer).call('effects.register', this.#o.register(), REGISTER_TIMEOUT_MS);
    } catch (error) {
      this.#o.log.warn('the host refused to register this runtime', brief(error));
      peer.close();
      return;
    }
    if (this.#peer !== peer) return;
    this.#registered = true;
    this.#delay = RECONNECT_FIRST_MS;
    const first = !this.#everRegistered;
    this.#everRegistered = true;
    this.#o.log.info(first ? 'registered' : 'registered again', {
      package: info.packageId,
      version: info.version,
      // From the process's start: loading the binary, the package code, connecting.
      uptimeMs: Math.round(process.uptime() * 1000),
    });
    for (const { method, params } of this.#retained.values()) void this.#send(peer, method, params);
    this.#o.onRegistered(info, first);
  }

  #retry(): void {
    if (this.#closed || this.#timer) return;
    const delay = this.#delay;
    this.#delay = Math.min(RECONNECT_MAX_MS, this.#delay * 2);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#connect();
    }, delay);
  }
}

/** An error as log fields without its stack: what went wrong here is the other side's. */
function brief(error: unknown): { code?: unknown; error: unknown } {
  const e = error as { code?: unknown; message?: unknown } | null;
  return { ...(e?.code === undefined ? {} : { code: e.code }), error: e?.message ?? String(error) };
}
