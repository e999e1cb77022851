import path from 'node:path';
import { SdkError } from '#sdk/errors.ts';
import { unpackHpk, type VerifiedHpk } from '#sdk/hpk/read.ts';
import { codeFrom, HearthError } from '../errors.ts';
import type { Events } from '../events/events.ts';
import { containerName, type Lxc } from '../host/containers.ts';
import type { Mounts } from '../host/mounts.ts';
import type { PackageFiles } from '../host/package-files.ts';
import type { Logger } from '../log/log.ts';
import type { Json } from '../state/json-patch.ts';
import type { StateDocument } from '../state/state-doc.ts';
import type { ContainerEnvironment, ContainerSpecFor } from './container-spec.ts';
import type { Channels } from './effects-host.ts';
import type { Step } from './plan.ts';
import type { InstalledPackage, PackageRows } from './rows.ts';

export class InvalidPackage extends HearthError {
  constructor(e: SdkError) {
    super(codeFrom(e.code, 'invalid_package'), e.message, { ...(e.hint ? { hint: e.hint } : {}), cause: e });
  }
}

/** The SDK's refusals (a bad package) as the box's errors. */
export async function sdk<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (e) {
    throw e instanceof SdkError ? new InvalidPackage(e) : e;
  }
}

export interface ExecutorContext {
  lxc: Lxc;
  mounts: Mounts;
  files: PackageFiles;
  rows: PackageRows;
  channels: Channels;
  specFor: ContainerSpecFor;
  prepareContainer: (pkg: InstalledPackage) => Promise<ContainerEnvironment>;
  state: StateDocument;
  events: Events;
  /** A package is in a crash loop (the checks tell the owner, once). */
  onCrashLoop?: (id: string) => void;
  log: Logger;
  packagesDir: string;
  /** The package's fixed address on the bridge. */
  address(pkg: InstalledPackage): string;
  /** What install and update verified, by package, for `unpack` and `switch-version`. */
  staged: ReadonlyMap<string, VerifiedHpk>;
  /** What a step did to a container: the status reads it, and it is no crash. */
  see(id: string, state: 'running' | 'stopped'): void;
  /** The package's row and status into the state document. */
  publish(id: string): void;
  /** Forgets what the reconciler knows of a package that is gone. */
  forget(id: string): void;
  /** How long a new runtime has to connect and migrate. */
  updateTimeoutMs: number;
}

type Executor<K extends Step['kind']> = (step: Extract<Step, { kind: K }>) => Promise<unknown>;
export type Executors = { [K in Step['kind']]: Executor<K> };

// An action may take a while (a database dump); a runtime registers within seconds.
export const ACTION_TIMEOUT_MS = 120_000;
const REGISTER_TIMEOUT_MS = 60_000;

/**
 * The one table that carries out steps: of the packages domain, only these (and the host
 * adapters they call) touch the machine. Every operation and every reconcile pass ends
 * here, so what a step did to a container is always known (a stop of ours is no crash).
 */
export function executors(c: ExecutorContext): Executors {
  const staged = (id: string): VerifiedHpk => {
    const verified = c.staged.get(id);
    // A plan names only packages an operation has staged; anything else is a bug.
    if (!verified) throw new Error(`no staged package for ${id}`);
    return verified;
  };
  /** Asks the runtime to stop its daemons in order, then stops the container. */
  const stopContainer = async (id: string) => {
    await c.channels
      .peer(id)
      ?.call('runtime.shutdown', { timeoutSeconds: 15 }, 20_000)
      .catch(() => {});
    await c.lxc.stop(containerName(id), { timeoutS: 20 });
  };
  /** A stopped package's checks are `disabled`: its last results would mislead. */
  const disableHealth = (id: string) => {
    const checks = (c.state.get('packages', id, 'health') ?? {}) as Record<string, Json>;
    for (const checkId of Object.keys(checks)) {
      c.state.set(['packages', id, 'health', checkId], {
        status: 'disabled',
        message: 'the package is stopped',
        at: Date.now(),
      });
    }
  };

  return {
    'create-container': async ({ id }) => {
      const pkg = c.rows.get(id);
      // The bridge, the runtime directory and the channel first, so the runtime finds them.
      const env = await c.prepareContainer(pkg);
      await c.lxc.create(c.specFor(pkg, c.files.dirs(id, pkg.version), c.address(pkg), env));
    },
    start: async ({ id, migrate }) => {
      // Results from before say nothing about this run: the runtime reports afresh.
      c.state.remove(['packages', id, 'health']);
      // Upwards, the migrations run when the new runtime registers, before any daemon starts.
      const migrated = migrate
        ? c.channels.beforeStart(
            id,
            (peer) => peer.call('runtime.migrate', migrate, c.updateTimeoutMs),
            c.updateTimeoutMs,
          )
        : Promise.resolve();
      migrated.catch(() => {});
      await c.lxc.start(containerName(id));
      c.see(id, 'running');
      await migrated;
    },
    stop: async ({ id, why }) => {
      try {
        await stopContainer(id);
      } catch (e) {
        // Going back after a failed update: whatever state the new container is in, it goes.
        if (why !== 'rollback') throw e;
      }
      c.see(id, 'stopped');
      disableHealth(id);
    },
    'destroy-container': ({ id }) => c.lxc.destroy(containerName(id)),
    wait: async () => {},
    'crash-loop': async ({ id, crashes }) => {
      c.events.record({ package: id, kind: 'crash-loop', detail: { crashes } });
      c.onCrashLoop?.(id);
    },
    'shutdown-daemons': async ({ id }) => {
      await c.channels.peer(id)?.call('runtime.shutdown', { timeoutSeconds: 15 }, 20_000);
    },
    migrate: async ({ id, from, to }) => {
      await c.channels.peer(id)?.call('runtime.migrate', { from, to }, c.updateTimeoutMs);
    },
    'run-action-held': async ({ id, action, input }) => {
      const cancel = new AbortController();
      const answer = c.channels.beforeStart(
        id,
        (peer) => peer.call('runtime.action.run', { actionId: action, input }, ACTION_TIMEOUT_MS),
        REGISTER_TIMEOUT_MS + ACTION_TIMEOUT_MS,
        { startDaemons: false, signal: cancel.signal },
      );
      answer.catch(() => {});
      try {
        await c.lxc.start(containerName(id));
        c.see(id, 'running');
        return (await answer).result;
      } finally {
        // Had the container not come up, the next start must not find this action waiting.
        cancel.abort();
      }
    },
    unpack: async ({ id, version }) => {
      await c.files.prepareVersion(id, version);
      await sdk(() => unpackHpk(staged(id), c.files.dirs(id, version).version));
    },
    'finish-install': async ({ id }) => {
      c.rows.setPhase(id, 'installed');
      c.publish(id);
    },
    'begin-update': async ({ id }) => {
      const old = c.rows.get(id);
      c.rows.beginUpdate(id, { version: old.version, manifest: old.manifest, signer: old.signer });
      c.publish(id);
    },
    'snapshot-volumes': ({ id, version }) => c.files.snapshotVolumes(id, version),
    'switch-version': async ({ id }) => {
      const next = staged(id);
      c.rows.switchVersion(id, next.manifest, next.signer?.publicKey ?? null);
    },
    'finish-update': async ({ id }) => {
      c.rows.finishUpdate(id);
      c.publish(id);
      // The package is whole already; a crash from here leaves only what the start-up sweeps:
      // the snapshot, and the files of the version before (`from`).
      await c.files.sweep(id, c.rows.get(id).version);
    },
    'unmount-package': ({ id }) => c.mounts.unmountAll(path.join(c.packagesDir, id)),
    'restore-snapshot': ({ id }) => c.files.restoreSnapshot(id),
    'drop-writable-layer': ({ id }) => c.files.dropWritableLayer(id),
    'remove-version': ({ id, version }) => c.files.removeVersion(id, version),
    'switch-back': async ({ id }) => {
      const previous = c.rows.previousOf(id);
      if (previous) c.rows.rollBack(id, previous);
      c.publish(id);
    },
    'remove-package': async ({ id, keepData }) => {
      await c.mounts.unmountAll(path.join(c.packagesDir, id));
      await c.files.remove(id, { keepData });
      c.rows.remove(id);
      c.forget(id);
      c.state.remove(['packages', id]);
    },
    sweep: ({ id, keep }) => c.files.sweep(id, keep),
    'remove-orphan-container': ({ name }) => c.lxc.destroy(name),
    'unmount-orphan': ({ path: p }) => c.mounts.unmount(p),
  };
}

/** Carries out `steps` in order through the table; the first failure stops them. */
export async function runSteps(table: Executors, steps: readonly Step[], log: Logger): Promise<unknown[]> {
  const results: unknown[] = [];
  for (const step of steps) {
    log.debug('step', { step: { ...step, ...('input' in step ? { input: '[action input]' } : {}) } });
    const run = table[step.kind] as (s: Step) => Promise<unknown>;
    results.push(await run(step));
  }
  return results;
}
