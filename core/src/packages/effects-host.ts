import type { Architecture, Manifest } from '#sdk/manifest.ts';
import { HearthError } from '../errors.ts';
import type { Events } from '../events/events.ts';
import { listenUnixSocket, type UnixSocketServer } from '../host/unix-socket.ts';
import type { Logger } from '../log/log.ts';
import type { Notifications } from '../notifications/notifications.ts';
import { RpcPeer } from '../runtime/peer.ts';
import {
  checkedHandlers,
  EFFECTS,
  type EffectsHost,
  type RuntimeClient,
  runtimeClient,
} from '../runtime/protocol.ts';
import type { StateDocument } from '../state/state-doc.ts';

/** A certificate as effects.getCertificate gives it. */
export interface PackageCertificate {
  chainPem: string;
  keyPem: string;
  hostnames: string[];
  expiresAt: string;
}

/** What the effects need to know about a package, looked up at every call. */
export interface PackageView {
  id: string;
  version: string;
  manifest: Manifest;
  address: string;
  status: string;
}

export interface EffectsDeps {
  lookup: (id: string) => PackageView | undefined;
  state: StateDocument;
  notifications: Notifications;
  events: Events;
  arch: Architecture;
  log: Logger;
  now?: () => number;
  /** The package's own certificate from the box's CA (tls/), made at the first ask; null before setup. */
  certificate?: (packageId: string) => Promise<PackageCertificate | null>;
  /** An interface's address on the LAN (lan/), once it has a port. */
  lanAddress?: (
    packageId: string,
    interfaceId: string,
  ) => { host: string; port: number; tls: boolean; url?: string } | undefined;
  /** Called when a check starts failing: the owner's alert command, if one is set. */
  onFailure?: (alert: { packageId: string; checkId: string; message: string }) => void;
}

export type Health = { status: 'starting' | 'success' | 'failure' | 'disabled'; message: string; at: number };

/**
 * The effects one package's runtime may call. Everything is answered about that package
 * only: its own interfaces, the dependencies it declared, notifications in its name.
 */
export function effectsFor(packageId: string, deps: EffectsDeps): EffectsHost {
  const now = deps.now ?? Date.now;
  const self = () => {
    const p = deps.lookup(packageId);
    if (!p) throw new Error(`package ${packageId} is gone`);
    return p;
  };
  const lanOf = (pkg: string, iface: string) => {
    const a = deps.lanAddress?.(pkg, iface);
    return a ? [{ scope: 'lan' as const, ...a }] : [];
  };
  const interfacesOf = (p: PackageView) =>
    p.manifest.interfaces.map((i) => ({
      id: i.id,
      name: i.name,
      kind: i.kind,
      protocol: i.protocol,
      port: i.port,
      addresses: [
        { scope: 'container' as const, host: p.address, port: i.port, tls: i.protocol === 'https' },
        ...lanOf(p.id, i.id),
      ],
    }));
  return {
    // What the runtime runs comes from the manifest the box checked at install, never from
    // the package's code (the runtime loads that only when a hook or an action needs it).
    'effects.register': () => {
      const { version, manifest } = self();
      return {
        packageId,
        version,
        manifest: { daemons: manifest.daemons, healthChecks: manifest.healthChecks },
      };
    },
    'effects.setHealth': ({ checkId, status, message }) => {
      recordHealth(packageId, checkId, { status, message: message ?? '', at: now() }, deps);
      return { ok: true as const };
    },
    'effects.daemonState': ({ daemonId, state, exitCode, message }) => {
      deps.state.set(['packages', packageId, 'daemons', daemonId], {
        state,
        exitCode: exitCode ?? null,
        message: message ?? '',
        at: now(),
      });
      return { ok: true as const };
    },
    'effects.getInterfaces': () => interfacesOf(self()),
    'effects.getInterface': ({ id }) => interfacesOf(self()).find((i) => i.id === id) ?? null,
    // The package's own name under the box's CA, for any of its interfaces (ACME's come later).
    'effects.getCertificate': async ({ interfaceId }) => {
      if (!self().manifest.interfaces.some((i) => i.id === interfaceId)) return null;
      return (await deps.certificate?.(packageId)) ?? null;
    },
    'effects.notify': (n) => {
      deps.notifications.create({ ...n, source: `package:${packageId}` });
      return { ok: true as const };
    },
    'effects.getDependency': ({ id }) => {
      // Only what the package declared: a package cannot look around the box.
      if (!self().manifest.dependencies.some((d) => d.id === id)) return null;
      const dep = deps.lookup(id);
      if (!dep) return null;
      return {
        id: dep.id,
        version: dep.version,
        status: dep.status,
        health: overallHealth(deps.state, id),
        interfaces: interfacesOf(dep),
      };
    },
    'effects.getSelf': () => {
      const p = self();
      return {
        id: p.id,
        version: p.version,
        status: p.status,
        architecture: deps.arch,
        containerAddress: p.address,
      };
    },
  };
}

function recordHealth(packageId: string, checkId: string, next: Health, deps: EffectsDeps): void {
  const previous = deps.state.get('packages', packageId, 'health', checkId) as Health | undefined;
  deps.state.set(['packages', packageId, 'health', checkId], next);
  if (previous?.status === next.status) return;
  const title = deps.lookup(packageId)?.manifest.title ?? packageId;
  const check = deps.lookup(packageId)?.manifest.healthChecks.find((c) => c.id === checkId)?.name ?? checkId;
  deps.events.record({
    package: packageId,
    kind: 'health',
    detail: { check: checkId, name: check, status: next.status, message: next.message },
  });
  if (!previous) return;
  if (next.status === 'failure') {
    deps.onFailure?.({ packageId, checkId, message: next.message });
    deps.notifications.create({
      level: 'warning',
      title: `${title}: ${check} is failing`,
      message: next.message || 'The health check failed.',
      source: `package:${packageId}`,
    });
  } else if (next.status === 'success' && previous.status === 'failure') {
    deps.notifications.create({
      level: 'success',
      title: `${title}: ${check} is healthy again`,
      message: next.message,
      source: `package:${packageId}`,
    });
  }
}

/** One word for a package's health: any failure wins, then starting, then success. */
export function overallHealth(
  state: StateDocument,
  packageId: string,
): 'healthy' | 'unhealthy' | 'starting' | 'unknown' {
  const checks = Object.values(
    (state.get('packages', packageId, 'health') ?? {}) as Record<string, Health>,
  ).filter((c) => c.status !== 'disabled');
  if (checks.length === 0) return 'unknown';
  if (checks.some((c) => c.status === 'failure')) return 'unhealthy';
  if (checks.some((c) => c.status === 'starting')) return 'starting';
  return 'healthy';
}

/**
 * The host end of every container's channel: a unix socket per package, owned by the
 * container's mapped root so only that container can connect; one runtime connection
 * at a time (a new one replaces the old: the runtime reconnects after our restart).
 */
export class Channels {
  readonly #servers = new Map<string, UnixSocketServer>();
  readonly #peers = new Map<string, RpcPeer>();
  readonly #waiting = new Map<string, ((runtime: RuntimeClient) => void)[]>();
  readonly #beforeStart = new Map<
    string,
    { work: (runtime: RuntimeClient) => Promise<unknown>; startDaemons: boolean }
  >();
  readonly #deps: EffectsDeps;

  constructor(deps: EffectsDeps) {
    this.#deps = deps;
  }

  async listen(packageId: string, socket: string, owner: { uid: number; gid: number }): Promise<void> {
    await this.close(packageId);
    const effects = effectsFor(packageId, this.#deps);
    const log = this.#deps.log.child(packageId);
    const server = await listenUnixSocket(socket, owner, (conn) => {
      this.#peers.get(packageId)?.close();
      // The runtime starts its daemons when register answers: work that must come first
      // (migrations, init) runs on this same channel before the answer goes back.
      const register: EffectsHost['effects.register'] = async (params) => {
        const first = this.#beforeStart.get(packageId);
        if (first) {
          this.#beforeStart.delete(packageId);
          // Holding the daemons, the answer goes back even if the work failed (its caller
          // has the error): the runtime must not take a refusal as a reason to retry.
          if (first.startDaemons) await first.work(runtimeClient(peer));
          else await first.work(runtimeClient(peer)).catch(() => {});
        }
        const answer = await effects['effects.register'](params);
        return first?.startDaemons === false ? { ...answer, startDaemons: false } : answer;
      };
      const handlers = checkedHandlers(EFFECTS, { ...effects, 'effects.register': register });
      const peer = new RpcPeer(conn, {
        handlers,
        onError: (error) => log.warn('runtime channel', { error }),
      });
      this.#peers.set(packageId, peer);
      for (const wake of this.#waiting.get(packageId) ?? []) wake(runtimeClient(peer));
      this.#waiting.delete(packageId);
      void peer.closed.then(() => {
        if (this.#peers.get(packageId) === peer) this.#peers.delete(packageId);
      });
    });
    this.#servers.set(packageId, server);
  }

  /** The runtime of a package, if it is connected. */
  peer(packageId: string): RuntimeClient | undefined {
    const peer = this.#peers.get(packageId);
    return peer ? runtimeClient(peer) : undefined;
  }

  /**
   * Runs `work` on the package's runtime when it next registers, before its daemons start
   * (or instead of starting them, with `startDaemons: false`); resolves with what `work`
   * resolved, or rejects with its error or a timeout.
   */
  beforeStart<T>(
    packageId: string,
    work: (runtime: RuntimeClient) => Promise<T>,
    timeoutMs: number,
    options: { startDaemons?: boolean; signal?: AbortSignal } = {},
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Gone when it ran, timed out or was cancelled; never someone else's that came after.
      const drop = (error: HearthError) => {
        clearTimeout(timer);
        if (this.#beforeStart.get(packageId) === entry) this.#beforeStart.delete(packageId);
        reject(error);
      };
      const timer = setTimeout(
        () =>
          drop(
            new HearthError(
              'runtime_unavailable',
              `the runtime of ${packageId} did not register in ${timeoutMs / 1000} s`,
              {
                hint: 'package.logs shows what the container printed',
              },
            ),
          ),
        timeoutMs,
      );
      const entry = {
        startDaemons: options.startDaemons ?? true,
        work: async (runtime: RuntimeClient) => {
          clearTimeout(timer);
          try {
            const result = await work(runtime);
            resolve(result);
            return result;
          } catch (e) {
            reject(e);
            throw e;
          }
        },
      };
      this.#beforeStart.set(packageId, entry);
      options.signal?.addEventListener('abort', () =>
        drop(new HearthError('cancelled', `the work waiting for ${packageId}'s runtime was cancelled`)),
      );
    });
  }

  /** The package's runtime once it has connected (or at once if it is), within `timeoutMs`. */
  async waitForPeer(packageId: string, timeoutMs: number): Promise<RuntimeClient> {
    const connected = this.peer(packageId);
    if (connected) return connected;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const list = this.#waiting.get(packageId) ?? [];
        this.#waiting.set(
          packageId,
          list.filter((w) => w !== wake),
        );
        reject(
          new HearthError(
            'runtime_unavailable',
            `the runtime of ${packageId} did not connect in ${timeoutMs / 1000} s`,
            {
              hint: 'package.logs shows what the container printed',
            },
          ),
        );
      }, timeoutMs);
      const wake = (runtime: RuntimeClient) => {
        clearTimeout(timer);
        resolve(runtime);
      };
      this.#waiting.set(packageId, [...(this.#waiting.get(packageId) ?? []), wake]);
    });
  }

  async close(packageId: string): Promise<void> {
    this.#peers.get(packageId)?.close();
    this.#peers.delete(packageId);
    const server = this.#servers.get(packageId);
    this.#servers.delete(packageId);
    await server?.close();
  }

  async closeAll(): Promise<void> {
    for (const id of [...this.#servers.keys()]) await this.close(id);
  }
}
