import type { VerifiedHpk } from '#sdk/hpk/read.ts';
import type { Architecture } from '#sdk/manifest.ts';
import { planMigrations } from '#sdk/package.ts';
import { compareVersions } from '#sdk/semver.ts';
import type { Progress } from '../calls.ts';
import { Conflict, HearthError, NotFound } from '../errors.ts';
import type { Events } from '../events/events.ts';
import type { Lxc } from '../host/containers.ts';
import { containerName, idRangeForSlot } from '../host/containers.ts';
import type { Mounts } from '../host/mounts.ts';
import { hostPackageFiles, type PackageDirs, type PackageFiles } from '../host/package-files.ts';
import type { Logger } from '../log/log.ts';
import type { Notifications } from '../notifications/notifications.ts';
import type { Db } from '../state/db.ts';
import type { StateDocument } from '../state/state-doc.ts';
import { VERSION } from '../version.ts';
import { checkSpace, verifyPackage } from './admission.ts';
import { dependentsOf, describeUnmet, freeSlot, spaceNeeded, unmetDependencies } from './checks.ts';
import type { ContainerEnvironment, ContainerSpecFor } from './container-spec.ts';
import type { Channels, PackageView } from './effects-host.ts';
import { DependencyUnmet, UpdateFailed } from './errors.ts';
import { ACTION_TIMEOUT_MS, executors, sdk } from './executors.ts';
import { recorded } from './operation-events.ts';
import {
  type Desired,
  planActionWhileStopped,
  planInstall,
  planRemove,
  planRestart,
  planRollBack,
  planUpdate,
} from './plan.ts';
import { type PackageStatus, Reconciler } from './reconciler.ts';
import { type InstalledPackage, PackageRows } from './rows.ts';
import type { Signers } from './signers.ts';
import { type Drift, PackageViews } from './views.ts';

export { DependencyUnmet, HearthTooOld, UpdateFailed } from './errors.ts';
export type { Drift } from './views.ts';

type ProgressSink = (p: Progress) => void;

export interface PackagesOptions {
  db: Db;
  state: StateDocument;
  notifications: Notifications;
  events: Events;
  /** A package is in a crash loop (the checks tell the owner, once). */
  onCrashLoop?: (id: string) => void;
  signers: Signers;
  lxc: Lxc;
  mounts: Mounts;
  log: Logger;
  /** `<data>/packages`: one directory per package. */
  packagesDir: string;
  arch: Architecture;
  subnet: string;
  specFor: ContainerSpecFor;
  /** Makes the host ready for a package's container: the create-container step does it first. */
  prepareContainer: (pkg: InstalledPackage) => Promise<ContainerEnvironment>;
  /** The channels to the runtimes in the containers. */
  channels: Channels;
  /** Bytes free on the filesystem holding `dir`. */
  freeBytes: (dir: string) => Promise<number>;
  /** What installs and updates must leave free on the data drive (minFreeSpaceMiB). */
  minFreeBytes?: number;
  /** Copies a directory tree (reflinks where possible): volume snapshots before updates. */
  copyTree: (src: string, dest: string) => Promise<void>;
  /** The package files on the data drive; default the real ones under packagesDir. */
  files?: PackageFiles;
  /** How long an updated package's runtime has to connect and migrate. */
  updateTimeoutMs?: number;
  /** The Hearth packages are checked against (their minHearthVersion); default this one. */
  hearthVersion?: string;
  now?: () => number;
}

/**
 * Service packages on the box. Every operation is a change of desired state (the row,
 * written first, with a phase a crash leaves behind) and the steps that carry it out,
 * planned by plan.ts and carried out by executors.ts; the reconcile loop (reconciler.ts)
 * then keeps the containers agreeing with the rows. A package an operation holds is left
 * alone by the loop; a crash in the middle of one is finished or undone at the next start.
 */
export class Packages {
  readonly #o: PackagesOptions & { now: () => number; hearthVersion: string };
  readonly #rows: PackageRows;
  readonly #files: PackageFiles;
  readonly #loop: Reconciler;
  /** What the box shows of its packages (rows, status, logs, icons): read-only. */
  readonly views: PackageViews;
  /** What install and update have verified, for their `unpack` and `switch-version` steps. */
  readonly #staged = new Map<string, VerifiedHpk>();

  constructor(options: PackagesOptions) {
    this.#o = { now: Date.now, hearthVersion: VERSION, ...options };
    this.#rows = new PackageRows(this.#o.db, this.#o.now);
    this.#files =
      this.#o.files ?? hostPackageFiles({ packagesDir: this.#o.packagesDir, copyTree: this.#o.copyTree });
    this.#loop = new Reconciler({ ...this.#o, rows: this.#rows });
    this.views = new PackageViews({ ...this.#o, rows: this.#rows, loop: this.#loop, files: this.#files });
    this.#loop.table = executors({
      ...this.#o,
      rows: this.#rows,
      files: this.#files,
      address: (pkg) => this.views.address(pkg),
      staged: this.#staged,
      see: (id, state) => this.#loop.see(id, state),
      publish: (id) => this.views.publish(id),
      forget: (id) => this.#loop.forget(id),
      updateTimeoutMs: this.#o.updateTimeoutMs ?? 60_000,
    });
  }

  drift = (): Drift[] => this.views.drift();
  crashLoops = () => this.views.crashLoops(this.#o.now());

  dirs(id: string, version: string): PackageDirs {
    return this.#files.dirs(id, version);
  }

  list(): InstalledPackage[] {
    return this.#rows.list();
  }

  get(id: string): InstalledPackage {
    return this.#rows.get(id);
  }

  /** What the effects of a package's runtime may see of a package. */
  view = (id: string): PackageView | undefined => this.views.view(id);
  appTarget = (id: string) => this.views.appTarget(id);
  summaryOf = (pkg: InstalledPackage) => this.views.summaryOf(pkg);
  summaries = () => this.views.summaries();
  details = (id: string) => this.views.details(id);
  status = (pkg: InstalledPackage): PackageStatus => this.views.status(pkg);
  actionInputSchema = (id: unknown, actionId: unknown) => this.views.actionInputSchema(id, actionId);

  /** Verifies and checks a package, records it as installing, unpacks it; the loop then starts it. */
  install(
    file: string,
    options: { allowUntrusted: boolean; start: boolean; progress?: ProgressSink },
  ): Promise<InstalledPackage> {
    const about: { id: string | null } = { id: null };
    return recorded(
      this.#o.events,
      'installed',
      about,
      () => this.#install(file, options, about),
      (p) => ({
        version: p.version,
      }),
    );
  }

  async #install(
    file: string,
    options: { allowUntrusted: boolean; start: boolean; progress?: ProgressSink },
    about: { id: string | null },
  ): Promise<InstalledPackage> {
    const progress = options.progress ?? (() => {});
    const verified = await verifyPackage(file, {
      ...this.#o,
      allowUntrusted: options.allowUntrusted,
      progress,
    });
    const m = verified.manifest;
    about.id = m.id;
    if (this.#rows.exists(m.id)) {
      throw new Conflict(`${m.id} is installed already (version ${this.get(m.id).version})`, {
        hint: 'use package.update for another version, or uninstall it first',
      });
    }
    const unmet = unmetDependencies(m.dependencies, this.#rows.summaries());
    if (unmet.length > 0) throw new DependencyUnmet(m.id, describeUnmet(unmet));
    await this.#files.ensureRoot();
    await checkSpace(this.#o, spaceNeeded(verified.fileSize));

    const kept = await this.#files.slotOfKeptData(m.id);
    await this.#loop.hold(m.id, async () => {
      this.#rows.insert(
        m,
        {
          desired: options.start ? 'running' : 'stopped',
          // Kept data is owned by the id range it was written with: take that slot again.
          slot: (taken) => (kept !== undefined && !taken.includes(kept) ? kept : freeSlot(taken)),
          signer: verified.signer?.publicKey ?? null,
          keepData: kept !== undefined,
        },
        () => {
          if (this.#rows.exists(m.id)) throw new Conflict(`${m.id} is being installed already`);
        },
      );
      this.views.publish(m.id);
      progress({ step: 'unpack' });
      try {
        await this.#apply(m.id, verified, planInstall(m.id, m.version));
        this.#o.log.info('installed', {
          id: m.id,
          version: m.version,
          signer: verified.signer?.publicKey ?? 'none',
        });
      } catch (e) {
        // Data that was here before this install (kept by an uninstall) stays.
        await this.#loop
          .run(planRemove(m.id, kept !== undefined))
          .catch((cleanup: unknown) =>
            this.#o.log.error('could not clean up a failed install', { id: m.id, error: cleanup }),
          );
        throw e;
      }
    });
    // The first pass makes (and starts) the container: if that fails, the install failed.
    progress({ step: 'start' });
    const failed = (await this.reconcile()).get(m.id);
    if (failed !== undefined) {
      await this.#loop.hold(m.id, () => this.#loop.run(planRemove(m.id, false))).catch(() => {});
      throw failed;
    }
    return this.#ready(m.id);
  }

  /**
   * Updates a package to the version in `file`: the volumes are snapshotted first, the new
   * version installed and started, and its migrations run. On any failure — or a crash,
   * found at the next start — the package goes back to the old version and the old data.
   */
  update(
    file: string,
    options: { allowUntrusted: boolean; progress?: ProgressSink },
  ): Promise<InstalledPackage> {
    const about: { id: string | null; from?: string } = { id: null };
    return recorded(
      this.#o.events,
      'updated',
      about,
      () => this.#update(file, options, about),
      (p) => ({
        from: about.from ?? null,
        to: p.version,
      }),
    );
  }

  async #update(
    file: string,
    options: { allowUntrusted: boolean; progress?: ProgressSink },
    about: { id: string | null; from?: string },
  ): Promise<InstalledPackage> {
    const progress = options.progress ?? (() => {});
    const verified = await verifyPackage(file, {
      ...this.#o,
      allowUntrusted: options.allowUntrusted,
      progress,
    });
    const next = verified.manifest;
    about.id = next.id;
    const old = this.get(next.id);
    about.from = old.version;
    if (old.phase !== 'installed')
      throw new Conflict(`${old.id} is ${old.phase}; try again when that has finished`);
    if (old.version === next.version) throw new Conflict(`${old.id} ${old.version} is installed already`);
    // Planned now, so an impossible downgrade is refused before anything changes. The newer
    // version knows every migration between the two.
    const downgrade = compareVersions(next.version, old.version) < 0;
    const newer = downgrade ? old.manifest : next;
    const migrations = await sdk(async () => planMigrations(newer.migrations, old.version, next.version));
    if (downgrade && migrations.length > 0 && !this.#o.channels.peer(old.id)) {
      throw new Conflict(
        `going back to ${next.version} runs ${old.id}'s own undo steps, so it must be running`,
        {
          hint: `start it (package.start ${old.id}), then update again`,
        },
      );
    }
    const unmet = unmetDependencies(
      next.dependencies,
      this.#rows.summaries().filter((p) => p.id !== old.id),
    );
    if (unmet.length > 0) throw new DependencyUnmet(old.id, describeUnmet(unmet));
    await checkSpace(
      this.#o,
      spaceNeeded(verified.fileSize) + (await this.#files.diskUsage(old.id, 'volumes')),
    );

    return this.#loop.hold(old.id, async () => {
      progress({ step: 'snapshot' });
      const steps = planUpdate({
        id: old.id,
        from: old.version,
        to: next.version,
        downgrade,
        desired: old.desired,
      });
      try {
        await this.#apply(old.id, verified, steps, (s) => {
          if (s.kind === 'unpack') progress({ step: 'unpack' });
          if (s.kind === 'start') progress({ step: 'start' });
        });
        this.#o.log.info('updated', { id: old.id, from: old.version, to: next.version });
        return this.get(old.id);
      } catch (e) {
        // The new container goes with the rollback: keep what it said for whoever looks.
        const lines = await Promise.resolve()
          .then(() => this.#o.lxc.logs(containerName(old.id), { lines: 30 }))
          .catch(() => []);
        this.#o.log.warn('update failed; rolling back', {
          id: old.id,
          to: next.version,
          error: e,
          output: lines.join('\n'),
        });
        const now = this.get(old.id);
        if (now.phase === 'updating') {
          await this.#loop.run(
            planRollBack({ id: old.id, version: now.version, previousVersion: old.version }),
          );
        }
        throw new UpdateFailed(old.id, old.version, next.version, e);
      }
    });
  }

  setDesired(id: string, desired: Desired): Promise<InstalledPackage> {
    return recorded(this.#o.events, desired === 'running' ? 'started' : 'stopped', { id }, () =>
      this.#setDesired(id, desired),
    );
  }

  async #setDesired(id: string, desired: Desired): Promise<InstalledPackage> {
    const pkg = this.get(id);
    if (desired === 'running') {
      const unmet = unmetDependencies(
        pkg.manifest.dependencies.filter((d) => d.requireRunning),
        this.#rows.summaries(),
      );
      if (unmet.length > 0) throw new DependencyUnmet(id, describeUnmet(unmet));
    }
    this.#rows.setDesired(id, desired);
    this.#loop.crashes.delete(id);
    await this.reconcile();
    return this.#ready(id);
  }

  /** Once its runtime has connected (at most 30 s): "running" in an answer means an action works. */
  async #ready(id: string): Promise<InstalledPackage> {
    const pkg = this.get(id);
    if (pkg.desired === 'running' && this.status(pkg) === 'running')
      await this.#o.channels.waitForPeer(id, 30_000).catch(() => {}); // one that never comes: the loop's to see
    return this.get(id);
  }

  /**
   * Stops and starts a package's container, as steps of ours: the loop knows the stop was
   * asked for, so it is not a crash and the start does not back off. It should run after.
   */
  restart(id: string): Promise<InstalledPackage> {
    return recorded(this.#o.events, 'restarted', { id }, () => this.#restart(id));
  }

  async #restart(id: string): Promise<InstalledPackage> {
    const pkg = this.get(id);
    if (pkg.phase !== 'installed')
      throw new Conflict(`${id} is ${pkg.phase}; try again when that has finished`);
    // A package that should be stopped is simply started.
    if (pkg.desired !== 'running') return this.#setDesired(id, 'running');
    this.#loop.crashes.delete(id);
    await this.#loop.hold(id, () => this.#loop.run(planRestart(id, this.status(pkg) === 'running')));
    this.views.publish(id);
    return this.#ready(id);
  }

  uninstall(id: string, options: { keepData: boolean; force: boolean }): Promise<void> {
    return recorded(
      this.#o.events,
      'removed',
      { id },
      () => this.#uninstall(id, options),
      () => ({
        keepData: options.keepData,
      }),
    );
  }

  async #uninstall(id: string, options: { keepData: boolean; force: boolean }): Promise<void> {
    this.get(id);
    const dependents = dependentsOf(
      id,
      this.#rows.summaries().filter((p) => p.id !== id),
    );
    if (dependents.length > 0 && !options.force) {
      throw new Conflict(
        `${dependents.join(', ')} ${dependents.length === 1 ? 'depends' : 'depend'} on ${id}`,
        {
          hint: 'uninstall those first, or pass force: true',
          data: { dependents },
        },
      );
    }
    await this.#loop.hold(id, async () => {
      this.#rows.beginRemove(id, options.keepData);
      this.views.publish(id);
      await this.#loop.run(planRemove(id, options.keepData));
    });
    this.#o.log.info('uninstalled', { id, keepData: options.keepData });
  }

  /** Resolves when no reconcile pass is running (for a clean stop). */
  idle(): Promise<void> {
    return this.#loop.idle();
  }

  /** One pass of the reconcile loop (reconciler.ts), then every package's status published. */
  async reconcile(options: { startUp?: boolean } = {}): Promise<Map<string, unknown>> {
    const failed = await this.#loop.pass(options);
    for (const p of this.list()) this.views.publish(p.id);
    return failed;
  }

  /**
   * Runs one of the package's actions in its runtime and answers what it said. A stopped
   * package's action runs in its container started with the daemons held, stopped after.
   */
  runAction(id: string, actionId: string, input: unknown): Promise<unknown> {
    // The input is not recorded: it may hold secrets (see secret() in calls.ts).
    return recorded(
      this.#o.events,
      'action',
      { id },
      () => this.#runAction(id, actionId, input),
      () => ({
        action: actionId,
      }),
    );
  }

  async #runAction(id: string, actionId: string, input: unknown): Promise<unknown> {
    const pkg = this.get(id);
    const action = pkg.manifest.actions.find((a) => a.id === actionId);
    if (!action) {
      throw new NotFound(`action of ${id}`, actionId, {
        hint: `${id} has: ${pkg.manifest.actions.map((a) => a.id).join(', ') || 'no actions'}`,
      });
    }
    const status = this.status(pkg);
    if (!(action.allowedStatuses as string[]).includes(status)) {
      throw new Conflict(`${action.name} cannot run while ${pkg.manifest.title} is ${status}`, {
        hint: `it runs when the package is ${action.allowedStatuses.join(' or ')}`,
      });
    }
    const peer = this.#o.channels.peer(id);
    if (!peer && status === 'stopped') {
      const held = planActionWhileStopped(id, actionId, input);
      return this.#loop.hold(id, async () => {
        try {
          return (await this.#loop.run(held.steps))[0];
        } finally {
          await this.#loop.run(held.always);
          this.views.publish(id);
        }
      });
    }
    if (!peer) {
      throw new HearthError(
        'runtime_unavailable',
        `${pkg.manifest.title} is not running, so its actions cannot run`,
        {
          hint: `start it first (package.start ${id})`,
        },
      );
    }
    return (await peer.call('runtime.action.run', { actionId, input }, ACTION_TIMEOUT_MS)).result;
  }

  /** The id range of a package's container. */
  idmapOf(pkg: InstalledPackage) {
    return idRangeForSlot(pkg.slot);
  }

  /** Runs an operation's steps with its verified package staged for them. */
  async #apply(
    id: string,
    verified: VerifiedHpk,
    steps: Parameters<Reconciler['run']>[0],
    onStep: (s: (typeof steps)[number]) => void = () => {},
  ): Promise<void> {
    this.#staged.set(id, verified);
    try {
      for (const step of steps) {
        onStep(step);
        await this.#loop.run([step]);
      }
    } finally {
      this.#staged.delete(id);
    }
  }
}
