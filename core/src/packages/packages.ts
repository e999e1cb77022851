import fs from 'node:fs/promises';
import path from 'node:path';
import { SdkError } from '#sdk/errors.ts';
import { readHpk, unpackHpk } from '#sdk/hpk/read.ts';
import type { Architecture, Manifest } from '#sdk/manifest.ts';
import { planMigrations } from '#sdk/package.ts';
import { compareVersions } from '#sdk/semver.ts';
import { Conflict, HearthError, NotEnoughSpace, NotFound, Unavailable } from '../errors.ts';
import { followFile } from '../host/logs.ts';
import type { ContainerSpec, Lxc } from '../host/lxc.ts';
import { CONTAINER_PREFIX, containerName, idRangeForSlot } from '../host/lxc.ts';
import type { Mounts } from '../host/mounts.ts';
import type { Logger } from '../log/log.ts';
import type { Notifications } from '../notifications/notifications.ts';
import type { Progress } from '../rpc/registry.ts';
import type { Db } from '../state/db.ts';
import type { Json } from '../state/json-patch.ts';
import type { StateDocument } from '../state/state-doc.ts';
import {
  addressForSlot,
  dependentsOf,
  describeUnmet,
  freeSlot,
  hearthTooOld,
  type InstalledSummary,
  spaceNeeded,
  unmetDependencies,
} from './checks.ts';
import type { Channels, PackageView } from './effects-host.ts';
import { type Desired, type Phase, plan, type Step } from './plan.ts';

type ProgressSink = (p: Progress) => void;

import { VERSION } from '../version.ts';
import type { Signers } from './signers.ts';

export type PackageStatus = Phase | 'running' | 'starting' | 'stopping' | 'stopped';

export interface InstalledPackage {
  id: string;
  version: string;
  manifest: Manifest;
  desired: Desired;
  phase: Phase;
  slot: number;
  signer: string | null;
  installedAt: number;
  updatedAt: number;
}

/** Where a package lives on the data drive. */
export interface PackageDirs {
  /** The unpacked package of one version (read-only content). */
  version: string;
  /** The container's writable layer (upper/work). */
  container: string;
  /** Its volumes, one directory each. */
  volumes: string;
}

/** Builds the container for an installed package (the runtime's mounts, init, network). */
export type ContainerSpecFor = (
  pkg: InstalledPackage,
  dirs: PackageDirs,
  address: string,
) => Promise<ContainerSpec>;

export interface PackagesOptions {
  db: Db;
  state: StateDocument;
  notifications: Notifications;
  signers: Signers;
  lxc: Lxc;
  mounts: Mounts;
  log: Logger;
  /** `<data>/packages`: one directory per package. */
  packagesDir: string;
  arch: Architecture;
  subnet: string;
  specFor: ContainerSpecFor;
  /** The channels to the runtimes in the containers. */
  channels: Channels;
  /** Bytes free on the filesystem holding `dir`. */
  freeBytes: (dir: string) => Promise<number>;
  /** Copies a directory tree (reflinks where possible): volume snapshots before updates. */
  copyTree: (src: string, dest: string) => Promise<void>;
  /** How long an updated package's runtime has to connect and migrate. */
  updateTimeoutMs?: number;
  /** The Hearth packages are checked against (their minHearthVersion); default this one. */
  hearthVersion?: string;
  now?: () => number;
}

export class PackageNotFound extends NotFound {
  constructor(id: string) {
    super('package', id, { hint: 'package.list shows the installed packages' });
  }
}

export class DependencyUnmet extends HearthError {
  constructor(id: string, problems: string) {
    super('dependency_unmet', `${id} needs other packages first: ${problems}`, {
      hint: 'install or start those packages, then try again',
    });
  }
}

export class HearthTooOld extends HearthError {
  constructor(id: string, needs: string, have: string) {
    super('hearth_too_old', `${id} needs Hearth ${needs} or newer, and this box runs ${have}`, {
      hint: 'update Hearth first, or install an older version of the package',
      data: { needs, have },
    });
  }
}

export class UpdateFailed extends HearthError {
  constructor(id: string, from: string, to: string, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(
      'update_failed',
      `updating ${id} to ${to} failed, so it is back at ${from} with its data as before: ${why}`,
      {
        hint: 'package.logs shows what the new version printed',
        cause,
        data: { from, to },
      },
    );
  }
}

interface Previous {
  version: string;
  manifest: Manifest;
  signer: string | null;
}

export class InvalidPackage extends HearthError {
  constructor(e: SdkError) {
    super(e.code, e.message, { ...(e.hint ? { hint: e.hint } : {}), cause: e });
  }
}

interface Row {
  id: string;
  version: string;
  manifest: string;
  desired: Desired;
  phase: Phase;
  slot: number;
  signer: string | null;
  installed_at: number;
  updated_at: number;
}

const fromRow = (r: Row): InstalledPackage => ({
  id: r.id,
  version: r.version,
  manifest: JSON.parse(r.manifest) as Manifest,
  desired: r.desired,
  phase: r.phase,
  slot: r.slot,
  signer: r.signer,
  installedAt: r.installed_at,
  updatedAt: r.updated_at,
});

/**
 * Service packages on the box: install, start, stop, uninstall, and the reconcile loop
 * that makes the containers match the packages table. Every operation marks its package
 * busy (the planner keeps off) and moves it through a phase in the table, so a crash at
 * any point is undone or finished by the first reconcile after the restart.
 */
export class Packages {
  readonly #o: PackagesOptions & { now: () => number; hearthVersion: string };
  readonly #busy = new Set<string>();
  readonly #crashes = new Map<string, number[]>();
  /** What the last reconcile pass saw of each of our containers. */
  #observed = new Map<string, 'running' | 'stopped'>();
  // When an operation last said what it did to a container, so a look at LXC begun before
  // that cannot undo it.
  readonly #seenAt = new Map<string, number>();
  #tick = 0;
  #reconciling: Promise<Map<string, unknown>> | undefined;

  constructor(options: PackagesOptions) {
    this.#o = { now: Date.now, hearthVersion: VERSION, ...options };
  }

  dirs(id: string, version: string): PackageDirs {
    const base = path.join(this.#o.packagesDir, id);
    return {
      version: path.join(base, 'versions', version),
      container: path.join(base, 'container'),
      volumes: path.join(base, 'volumes'),
    };
  }

  list(): InstalledPackage[] {
    return (this.#o.db.prepare('SELECT * FROM packages ORDER BY id').all() as Row[]).map(fromRow);
  }

  get(id: string): InstalledPackage {
    const row = this.#o.db.prepare('SELECT * FROM packages WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new PackageNotFound(id);
    return fromRow(row);
  }

  /** What the effects of a package's runtime may see of a package. */
  view(id: string): PackageView | undefined {
    const row = this.#o.db.prepare('SELECT * FROM packages WHERE id = ?').get(id) as Row | undefined;
    if (!row) return undefined;
    const pkg = fromRow(row);
    return {
      id,
      version: pkg.version,
      manifest: pkg.manifest,
      address: this.#address(pkg),
      status: this.status(pkg),
    };
  }

  /** Where a running package's web UI answers: its first `ui` interface over http (the box's `/app/<id>/`). */
  appTarget(id: string): { host: string; port: number } {
    const pkg = this.get(id);
    const ui = pkg.manifest.interfaces.find((i) => i.kind === 'ui' && i.protocol === 'http');
    if (!ui) throw new NotFound('web UI of package', id, { hint: 'package.get lists its interfaces' });
    const status = this.status(pkg);
    if (status !== 'running') {
      throw new Unavailable(`${id} is ${status}`, { hint: `start it: hearth package start --id ${id}` });
    }
    return { host: this.#address(pkg), port: ui.port };
  }

  summaryOf(pkg: InstalledPackage) {
    return {
      id: pkg.id,
      version: pkg.version,
      title: pkg.manifest.title,
      status: this.status(pkg),
      desired: pkg.desired,
      address: this.#address(pkg),
      signer: pkg.signer,
      installedAt: pkg.installedAt,
    };
  }

  summaries() {
    return this.list().map((p) => this.summaryOf(p));
  }

  details(id: string) {
    const pkg = this.get(id);
    return {
      ...this.summaryOf(pkg),
      manifest: pkg.manifest,
      health: (this.#o.state.get('packages', id, 'health') ?? {}) as unknown,
    };
  }

  /**
   * One word for where a package is: an operation's phase, or what its container does
   * against what it should do.
   */
  status(pkg: InstalledPackage): PackageStatus {
    if (pkg.phase !== 'installed') return pkg.phase;
    const seen = this.#observed.get(pkg.id);
    if (pkg.desired === 'running')
      return seen === 'running' ? 'running' : this.#busy.has(pkg.id) ? 'starting' : 'stopped';
    return seen === 'running' ? 'stopping' : 'stopped';
  }

  /** Verifies, checks and unpacks a package, records it, and lets reconcile start it. */
  async install(
    file: string,
    options: { allowUntrusted: boolean; start: boolean; progress?: ProgressSink },
  ): Promise<InstalledPackage> {
    const progress = options.progress ?? (() => {});
    const verified = await this.#verify(file, options.allowUntrusted, progress);
    const m = verified.manifest;
    if (this.#exists(m.id)) {
      throw new Conflict(`${m.id} is installed already (version ${this.get(m.id).version})`, {
        hint: 'use package.update for another version, or uninstall it first',
      });
    }
    const unmet = unmetDependencies(m.dependencies, this.#summaries());
    if (unmet.length > 0) throw new DependencyUnmet(m.id, describeUnmet(unmet));
    await fs.mkdir(this.#o.packagesDir, { recursive: true, mode: 0o711 });
    const free = await this.#o.freeBytes(this.#o.packagesDir);
    if (free < spaceNeeded(verified.fileSize)) throw new NotEnoughSpace(spaceNeeded(verified.fileSize), free);

    const kept = await this.#slotOfKeptData(m.id);
    this.#busy.add(m.id);
    try {
      const now = this.#o.now();
      this.#o.db.transaction(() => {
        if (this.#exists(m.id)) throw new Conflict(`${m.id} is being installed already`);
        // Kept data is owned by the id range it was written with: take that slot again.
        const slot = kept !== undefined && !this.#slots().includes(kept) ? kept : freeSlot(this.#slots());
        this.#o.db
          .prepare(
            `INSERT INTO packages (id, version, manifest, desired, phase, slot, signer, installed_at, updated_at, keep_data)
             VALUES (?, ?, ?, ?, 'installing', ?, ?, ?, ?, ?)`,
          )
          .run(
            m.id,
            m.version,
            JSON.stringify(m),
            options.start ? 'running' : 'stopped',
            slot,
            verified.signer?.publicKey ?? null,
            now,
            now,
            kept !== undefined ? 1 : 0,
          );
      })();
      this.#publish(m.id);
      const dirs = this.dirs(m.id, m.version);
      await fs.mkdir(path.dirname(dirs.version), { recursive: true, mode: 0o711 });
      progress({ step: 'unpack' });
      await this.#sdk(() => unpackHpk(verified, dirs.version));
      this.#setPhase(m.id, 'installed');
      this.#o.log.info('installed', {
        id: m.id,
        version: m.version,
        signer: verified.signer?.publicKey ?? 'none',
      });
    } catch (e) {
      // Data that was here before this install (kept by an uninstall) stays.
      await this.#removeEverything(m.id, { keepData: kept !== undefined }).catch((cleanup: unknown) =>
        this.#o.log.error('could not clean up a failed install', { id: m.id, error: cleanup }),
      );
      throw e;
    } finally {
      this.#busy.delete(m.id);
    }
    // The first pass makes (and starts) the container: if that fails, the install failed.
    progress({ step: 'start' });
    const failed = (await this.reconcile()).get(m.id);
    if (failed !== undefined) {
      await this.#run(m.id, () => this.#removeEverything(m.id, { keepData: false })).catch(() => {});
      throw failed;
    }
    return this.get(m.id);
  }

  /**
   * Updates a package to the version in `file`: the volumes are snapshotted first, the new
   * version installed and started, and its migrations run. On any failure — or a crash,
   * found at the next start — the package goes back to the old version and the old data.
   */
  async update(
    file: string,
    options: { allowUntrusted: boolean; progress?: ProgressSink },
  ): Promise<InstalledPackage> {
    const progress = options.progress ?? (() => {});
    const verified = await this.#verify(file, options.allowUntrusted, progress);
    const next = verified.manifest;
    const old = this.get(next.id);
    if (old.phase !== 'installed')
      throw new Conflict(`${old.id} is ${old.phase}; try again when that has finished`);
    if (old.version === next.version) throw new Conflict(`${old.id} ${old.version} is installed already`);
    // Planned now, so an impossible downgrade is refused before anything changes. The newer
    // version knows every migration between the two.
    const downgrade = compareVersions(next.version, old.version) < 0;
    const newer = downgrade ? old.manifest : next;
    const steps = await this.#sdk(async () => planMigrations(newer.migrations, old.version, next.version));
    if (downgrade && steps.length > 0 && !this.#o.channels.peer(old.id)) {
      throw new Conflict(
        `going back to ${next.version} runs ${old.id}'s own undo steps, so it must be running`,
        {
          hint: `start it (package.start ${old.id}), then update again`,
        },
      );
    }
    const unmet = unmetDependencies(
      next.dependencies,
      this.#summaries().filter((p) => p.id !== old.id),
    );
    if (unmet.length > 0) throw new DependencyUnmet(old.id, describeUnmet(unmet));
    const free = await this.#o.freeBytes(this.#o.packagesDir);
    const need = spaceNeeded(verified.fileSize) + (await du(this.dirs(old.id, old.version).volumes));
    if (free < need) throw new NotEnoughSpace(need, free);

    return this.#run(old.id, async () => {
      const previous: Previous = { version: old.version, manifest: old.manifest, signer: old.signer };
      this.#o.db
        .prepare("UPDATE packages SET phase = 'updating', previous = ?, updated_at = ? WHERE id = ?")
        .run(JSON.stringify(previous), this.#o.now(), old.id);
      this.#publish(old.id);
      try {
        progress({ step: 'snapshot' });
        if (downgrade) {
          // Only the newer version knows how to undo its migrations: they run in the
          // runtime that is there now, its daemons stopped, after the snapshot.
          const peer = this.#o.channels.peer(old.id);
          await peer?.call('runtime.shutdown', { timeoutSeconds: 15 }, 20_000);
          await this.#snapshotVolumes(old.id, old.version);
          await peer?.call(
            'runtime.migrate',
            { from: old.version, to: next.version },
            this.#o.updateTimeoutMs ?? 60_000,
          );
          await this.#stopContainer(old.id);
          await this.#o.lxc.destroy(containerName(old.id));
        } else {
          await this.#stopContainer(old.id);
          await this.#o.lxc.destroy(containerName(old.id));
          await this.#snapshotVolumes(old.id, old.version);
        }
        const dirs = this.dirs(old.id, next.version);
        await fs.rm(dirs.version, { recursive: true, force: true });
        progress({ step: 'unpack' });
        await this.#sdk(() => unpackHpk(verified, dirs.version));
        this.#o.db
          .prepare('UPDATE packages SET version = ?, manifest = ?, signer = ?, updated_at = ? WHERE id = ?')
          .run(next.version, JSON.stringify(next), verified.signer?.publicKey ?? null, this.#o.now(), old.id);
        const pkg = this.get(old.id);
        const timeout = this.#o.updateTimeoutMs ?? 60_000;
        await this.#o.lxc.create(await this.#o.specFor(pkg, dirs, this.#address(pkg)));
        // Upwards, the migrations run when the new runtime registers, before any daemon starts.
        const migrated = downgrade
          ? Promise.resolve()
          : this.#o.channels.beforeStart(
              old.id,
              (peer) => peer.call('runtime.migrate', { from: old.version, to: next.version }, timeout),
              timeout,
            );
        migrated.catch(() => {});
        progress({ step: 'start' });
        await this.#o.lxc.start(containerName(old.id));
        await migrated;
        if (pkg.desired === 'stopped') await this.#stopContainer(old.id);
        await this.#finishUpdate(old.id, old.version);
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
        await this.#rollBack(old.id);
        throw new UpdateFailed(old.id, old.version, next.version, e);
      }
    });
  }

  /**
   * The id slot whose range owns a package's kept volumes, if any were kept (the
   * container's create made each volume owned by its mapped root).
   */
  async #slotOfKeptData(id: string): Promise<number | undefined> {
    const dir = path.join(this.#o.packagesDir, id, 'volumes');
    const first = idRangeForSlot(0);
    for (const entry of await fs.readdir(dir).catch(() => [])) {
      const st = await fs.stat(path.join(dir, entry)).catch(() => undefined);
      if (st && st.uid >= first.hostId) return Math.floor((st.uid - first.hostId) / first.count);
    }
    return undefined;
  }

  /** Copies the volumes aside; the copy counts only once it is complete (renamed). */
  async #snapshotVolumes(id: string, version: string): Promise<void> {
    const base = path.join(this.#o.packagesDir, id);
    const partial = path.join(base, 'snapshot.partial');
    await fs.rm(partial, { recursive: true, force: true });
    await fs.rm(path.join(base, 'snapshot'), { recursive: true, force: true });
    await fs.mkdir(path.join(base, 'volumes'), { recursive: true, mode: 0o711 });
    await this.#o.copyTree(path.join(base, 'volumes'), partial);
    await fs.writeFile(path.join(partial, '.version'), version);
    await fs.rename(partial, path.join(base, 'snapshot'));
  }

  /**
   * Back to the version in `previous`: the container of the new one goes, the volumes come
   * back from the snapshot (if the update got that far; before it they were untouched),
   * the row says the old version again, and reconcile starts it as before.
   */
  async #rollBack(id: string): Promise<void> {
    const row = this.#o.db.prepare('SELECT * FROM packages WHERE id = ?').get(id) as
      | (Row & { previous: string | null })
      | undefined;
    if (!row?.previous) return;
    const previous = JSON.parse(row.previous) as Previous;
    await this.#stopContainer(id).catch(() => {});
    await this.#o.lxc.destroy(containerName(id));
    await this.#o.mounts.unmountAll(path.join(this.#o.packagesDir, id));
    const base = path.join(this.#o.packagesDir, id);
    const snapshot = path.join(base, 'snapshot');
    if (await exists(snapshot)) {
      await fs.rm(path.join(base, 'volumes'), { recursive: true, force: true });
      await fs.rm(path.join(snapshot, '.version'), { force: true });
      await fs.rename(snapshot, path.join(base, 'volumes'));
    }
    await fs.rm(path.join(base, 'snapshot.partial'), { recursive: true, force: true });
    // The upper layer belongs to the version that wrote it.
    await fs.rm(path.join(base, 'container'), { recursive: true, force: true });
    if (row.version !== previous.version) {
      await fs.rm(this.dirs(id, row.version).version, { recursive: true, force: true });
    }
    this.#o.db
      .prepare(
        "UPDATE packages SET version = ?, manifest = ?, signer = ?, phase = 'installed', previous = NULL, updated_at = ? WHERE id = ?",
      )
      .run(previous.version, JSON.stringify(previous.manifest), previous.signer, this.#o.now(), id);
    this.#publish(id);
  }

  async #finishUpdate(id: string, oldVersion: string): Promise<void> {
    this.#o.db
      .prepare("UPDATE packages SET phase = 'installed', previous = NULL, updated_at = ? WHERE id = ?")
      .run(this.#o.now(), id);
    this.#publish(id);
    const base = path.join(this.#o.packagesDir, id);
    // The package is whole already; a crash from here leaves only what the start-up sweeps.
    await fs.rm(path.join(base, 'snapshot'), { recursive: true, force: true });
    await fs.rm(this.dirs(id, oldVersion).version, { recursive: true, force: true });
  }

  #keepsData(id: string): boolean {
    const row = this.#o.db.prepare('SELECT keep_data FROM packages WHERE id = ?').get(id) as
      | { keep_data: number }
      | undefined;
    return row?.keep_data === 1;
  }

  /**
   * What an update that finished leaves behind — the snapshot, older versions' files —
   * goes at start-up, before the next update could take a stale snapshot for its own.
   */
  async #sweepLeftovers(pkg: InstalledPackage): Promise<void> {
    const base = path.join(this.#o.packagesDir, pkg.id);
    await fs.rm(path.join(base, 'snapshot'), { recursive: true, force: true });
    await fs.rm(path.join(base, 'snapshot.partial'), { recursive: true, force: true });
    for (const v of await fs.readdir(path.join(base, 'versions')).catch(() => [])) {
      if (v !== pkg.version) await fs.rm(path.join(base, 'versions', v), { recursive: true, force: true });
    }
  }

  /** A stopped package's checks are `disabled`: its last results would mislead. */
  #disableHealth(id: string): void {
    const checks = (this.#o.state.get('packages', id, 'health') ?? {}) as Record<string, Json>;
    for (const checkId of Object.keys(checks)) {
      this.#o.state.set(['packages', id, 'health', checkId], {
        status: 'disabled',
        message: 'the package is stopped',
        at: this.#o.now(),
      });
    }
  }

  /** Asks the runtime to stop its daemons in order, then stops the container. */
  async #stopContainer(id: string): Promise<void> {
    await this.#o.channels
      .peer(id)
      ?.call('runtime.shutdown', { timeoutSeconds: 15 }, 20_000)
      .catch(() => {});
    await this.#o.lxc.stop(containerName(id), { timeoutS: 20 });
  }

  async setDesired(id: string, desired: Desired): Promise<InstalledPackage> {
    const pkg = this.get(id);
    if (desired === 'running') {
      const unmet = unmetDependencies(
        pkg.manifest.dependencies.filter((d) => d.requireRunning),
        this.#summaries(),
      );
      if (unmet.length > 0) throw new DependencyUnmet(id, describeUnmet(unmet));
    }
    this.#o.db
      .prepare('UPDATE packages SET desired = ?, updated_at = ? WHERE id = ?')
      .run(desired, this.#o.now(), id);
    this.#crashes.delete(id);
    await this.reconcile();
    return this.get(id);
  }

  async restart(id: string): Promise<InstalledPackage> {
    this.get(id);
    await this.#run(id, async () => {
      await this.#o.lxc.stop(containerName(id), { timeoutS: 20 });
    });
    return this.setDesired(id, 'running');
  }

  async uninstall(id: string, options: { keepData: boolean; force: boolean }): Promise<void> {
    this.get(id);
    const dependents = dependentsOf(
      id,
      this.#summaries().filter((p) => p.id !== id),
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
    await this.#run(id, async () => {
      this.#o.db.prepare('UPDATE packages SET keep_data = ? WHERE id = ?').run(options.keepData ? 1 : 0, id);
      this.#setPhase(id, 'removing');
      await this.#removeEverything(id, options);
    });
    this.#o.log.info('uninstalled', { id, keepData: options.keepData });
  }

  /** Resolves when no reconcile pass is running (for a clean stop). */
  async idle(): Promise<void> {
    await this.#reconciling?.catch(() => {});
  }

  /**
   * One pass of the reconcile loop: observe, plan, act. Passes never overlap; a pass
   * asked for while one runs waits for it and then runs again.
   */
  async reconcile(options: { startUp?: boolean } = {}): Promise<Map<string, unknown>> {
    const previous = this.#reconciling;
    const pass = (async () => {
      await previous?.catch(() => {});
      const steps = plan({
        packages: this.list().map((p) => ({
          ...p,
          requires: p.manifest.dependencies.filter((d) => d.requireRunning).map((d) => d.id),
        })),
        observed: await this.#observe(),
        busy: this.#busy,
        crashes: this.#crashes,
        now: this.#o.now(),
        startUp: options.startUp ?? false,
      });
      const failed = new Map<string, unknown>();
      for (const step of steps) {
        try {
          await this.#execute(step);
        } catch (error) {
          this.#o.log.error('reconcile step failed', { step: step.kind, error });
          if ('id' in step && !failed.has(step.id)) failed.set(step.id, error);
        }
      }
      // After the steps: a rollback has just put the old version back, and the sweep must
      // see the version each package ends up at (an unpack cut short leaves a staging dir).
      if (options.startUp) {
        for (const p of this.list()) {
          if (p.phase === 'installed' && !this.#busy.has(p.id)) await this.#sweepLeftovers(p);
        }
      }
      for (const p of this.list()) this.#publish(p.id);
      return failed;
    })();
    this.#reconciling = pass;
    return pass;
  }

  /** What an operation did to a container: the status reads this until LXC is asked again. */
  #see(id: string, state: 'running' | 'stopped'): void {
    this.#observed.set(id, state);
    this.#seenAt.set(id, ++this.#tick);
  }

  async #observe() {
    const asOf = this.#tick;
    const containers = (await this.#o.lxc.list())
      .filter((c) => !c.foreign)
      .map((c) => ({
        name: c.name,
        state: c.state === 'RUNNING' ? ('running' as const) : ('stopped' as const),
      }));
    const before = this.#observed;
    this.#observed = new Map(containers.map((c) => [c.name.slice(CONTAINER_PREFIX.length), c.state]));
    for (const [id, at] of this.#seenAt) {
      const said = before.get(id);
      if (at > asOf && said) this.#observed.set(id, said);
      else if (at <= asOf) this.#seenAt.delete(id);
    }
    // A container that stopped while it should run, and no operation of ours stopped it, crashed.
    for (const p of this.list()) {
      if (
        p.desired === 'running' &&
        !this.#busy.has(p.id) &&
        before.get(p.id) === 'running' &&
        this.#observed.get(p.id) === 'stopped'
      ) {
        this.#crashes.set(p.id, [...(this.#crashes.get(p.id) ?? []), this.#o.now()]);
        this.#o.log.warn('container stopped on its own', { id: p.id });
      }
    }
    const mounts = (await this.#o.mounts.listMounts(this.#o.packagesDir)).flatMap((m) => {
      const id = path.relative(this.#o.packagesDir, m.mountPoint).split(path.sep)[0];
      return id ? [{ packageId: id, path: m.mountPoint }] : [];
    });
    return { containers, mounts };
  }

  async #execute(step: Step): Promise<void> {
    this.#o.log.debug('reconcile', { step });
    switch (step.kind) {
      case 'abort-install':
        this.#o.log.warn('an install was cut short; removing what it left', { id: step.id });
        return this.#run(step.id, () =>
          this.#removeEverything(step.id, { keepData: this.#keepsData(step.id) }),
        );
      case 'finish-remove':
        return this.#run(step.id, () =>
          this.#removeEverything(step.id, { keepData: this.#keepsData(step.id) }),
        );
      case 'roll-back-update':
        this.#o.log.warn('an update was cut short; going back to the version before it', { id: step.id });
        return this.#run(step.id, () => this.#rollBack(step.id));
      case 'create-container':
        return this.#run(step.id, async () => {
          const pkg = this.get(step.id);
          const spec = await this.#o.specFor(pkg, this.dirs(pkg.id, pkg.version), this.#address(pkg));
          await this.#o.lxc.create(spec);
        });
      // What a step did is what the next status read should see, not the pass's first look.
      case 'start':
        // Results from before say nothing about this run: the runtime reports afresh.
        this.#o.state.remove(['packages', step.id, 'health']);
        await this.#run(step.id, () => this.#o.lxc.start(containerName(step.id)));
        this.#see(step.id, 'running');
        return;
      case 'stop':
        await this.#run(step.id, () => this.#stopContainer(step.id));
        this.#see(step.id, 'stopped');
        this.#disableHealth(step.id);
        return;
      case 'wait':
        return;
      case 'crash-loop':
        this.#o.notifications.create({
          level: 'error',
          title: `${this.#title(step.id)} keeps crashing`,
          message: `It stopped ${step.crashes} times in ten minutes; Hearth keeps restarting it, more slowly.`,
          source: `package:${step.id}`,
        });
        return;
      case 'remove-orphan-container':
        return this.#o.lxc.destroy(step.name);
      case 'unmount-orphan':
        return this.#o.mounts.unmount(step.path);
    }
  }

  /** Stops and removes the container, the package's files and its row. */
  async #removeEverything(id: string, options: { keepData: boolean }): Promise<void> {
    await this.#o.lxc.destroy(containerName(id));
    const base = path.join(this.#o.packagesDir, id);
    await this.#o.mounts.unmountAll(base);
    if (options.keepData) {
      for (const entry of await fs.readdir(base).catch(() => [])) {
        if (entry !== 'volumes') await fs.rm(path.join(base, entry), { recursive: true, force: true });
      }
    } else {
      await fs.rm(base, { recursive: true, force: true });
    }
    this.#o.db.prepare('DELETE FROM packages WHERE id = ?').run(id);
    this.#crashes.delete(id);
    this.#o.state.remove(['packages', id]);
  }

  /** The last lines the package's container printed (its runtime and daemons). */
  async logs(id: string, lines: number): Promise<string[]> {
    this.get(id);
    return this.#o.lxc.logs(containerName(id), { lines }).catch(() => []);
  }

  /** New lines of the package's console, as they come. */
  async *followLogs(id: string, signal: AbortSignal): AsyncGenerator<string> {
    this.get(id);
    for await (const line of followFile(this.#o.lxc.consoleLogFile(containerName(id)), signal)) {
      yield line.replace(/\r$/, '');
    }
  }

  async stats(id: string) {
    this.get(id);
    const info = await this.#o.lxc.info(containerName(id)).catch(() => undefined);
    return {
      running: info?.state === 'RUNNING',
      cpuSeconds: info?.cpuNs == null ? null : info.cpuNs / 1e9,
      memoryBytes: info?.memoryBytes ?? null,
      memoryLimitBytes: info?.memoryLimitBytes ?? null,
      diskBytes: await du(path.join(this.#o.packagesDir, id)),
    };
  }

  /** Runs one of the package's actions in its runtime and returns what it answered. */
  /** The JSON Schema of an installed package's action input, if there is such a package and action. */
  actionInputSchema(id: unknown, actionId: unknown): Record<string, unknown> | undefined {
    if (typeof id !== 'string' || typeof actionId !== 'string') return undefined;
    return this.view(id)?.manifest.actions.find((a) => a.id === actionId)?.input;
  }

  async runAction(id: string, actionId: string, input: unknown): Promise<unknown> {
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
    if (!peer && status === 'stopped')
      return this.#run(id, () => this.#actionWhileStopped(pkg, actionId, input));
    if (!peer) {
      throw new HearthError(
        'runtime_unavailable',
        `${pkg.manifest.title} is not running, so its actions cannot run`,
        {
          hint: `start it first (package.start ${id})`,
        },
      );
    }
    const answer = (await peer.call('runtime.action.run', { actionId, input }, ACTION_TIMEOUT_MS)) as {
      result: unknown;
    };
    return answer.result;
  }

  /**
   * An action of a stopped package: its container starts with the daemons held, the
   * runtime runs the action, and the container stops again. The package stays stopped.
   */
  async #actionWhileStopped(pkg: InstalledPackage, actionId: string, input: unknown): Promise<unknown> {
    const cancel = new AbortController();
    const answer = this.#o.channels.beforeStart(
      pkg.id,
      (peer) => peer.call('runtime.action.run', { actionId, input }, ACTION_TIMEOUT_MS),
      REGISTER_TIMEOUT_MS + ACTION_TIMEOUT_MS,
      { startDaemons: false, signal: cancel.signal },
    );
    answer.catch(() => {});
    try {
      await this.#o.lxc.start(containerName(pkg.id));
      return ((await answer) as { result: unknown }).result;
    } finally {
      // Had the container not come up, the next start must not find this action waiting.
      cancel.abort();
      await this.#stopContainer(pkg.id);
      // A reconcile pass meanwhile saw it running: the package is stopped again now.
      this.#see(pkg.id, 'stopped');
      this.#publish(pkg.id);
    }
  }

  async #run<T>(id: string, work: () => Promise<T>): Promise<T> {
    if (this.#busy.has(id))
      throw new Conflict(`${id} is busy with another operation`, { hint: 'try again in a moment' });
    this.#busy.add(id);
    try {
      return await work();
    } finally {
      this.#busy.delete(id);
    }
  }

  /**
   * Checks the signature and every member of a .hpk, for this box's signers and
   * architecture, and that this Hearth is new enough for it.
   */
  async #verify(file: string, allowUntrusted: boolean, progress: ProgressSink) {
    progress({ step: 'verify' });
    const verified = await this.#sdk(() =>
      readHpk(file, { trustedSigners: this.#o.signers.publicKeys(), allowUntrusted, arch: this.#o.arch }),
    );
    const needs = verified.manifest.minHearthVersion;
    if (hearthTooOld(this.#o.hearthVersion, needs)) {
      throw new HearthTooOld(verified.manifest.id, needs!, this.#o.hearthVersion);
    }
    return verified;
  }

  async #sdk<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (e) {
      throw e instanceof SdkError ? new InvalidPackage(e) : e;
    }
  }

  #publish(id: string): void {
    const row = this.#o.db.prepare('SELECT * FROM packages WHERE id = ?').get(id) as Row | undefined;
    if (!row) return;
    const pkg = fromRow(row);
    const previous = this.#o.state.get('packages', id) as { health?: Json } | undefined;
    this.#o.state.set(['packages', id], {
      id,
      version: pkg.version,
      title: pkg.manifest.title,
      desired: pkg.desired,
      phase: pkg.phase,
      status: this.status(pkg),
      address: this.#address(pkg),
      health: previous?.health ?? {},
    });
  }

  #address(pkg: InstalledPackage): string {
    return addressForSlot(this.#o.subnet, pkg.slot);
  }

  #title(id: string): string {
    try {
      return this.get(id).manifest.title;
    } catch {
      return id;
    }
  }

  #exists(id: string): boolean {
    return this.#o.db.prepare('SELECT 1 FROM packages WHERE id = ?').get(id) !== undefined;
  }

  #slots(): number[] {
    return (this.#o.db.prepare('SELECT slot FROM packages').all() as { slot: number }[]).map((r) => r.slot);
  }

  #setPhase(id: string, phase: Phase): void {
    this.#o.db
      .prepare('UPDATE packages SET phase = ?, updated_at = ? WHERE id = ?')
      .run(phase, this.#o.now(), id);
    this.#publish(id);
  }

  #summaries(): InstalledSummary[] {
    return this.list()
      .filter((p) => p.phase === 'installed')
      .map((p) => ({
        id: p.id,
        version: p.version,
        running: p.desired === 'running',
        dependencies: p.manifest.dependencies,
      }));
  }

  /** The id range of a package's container. */
  idmapOf(pkg: InstalledPackage) {
    return idRangeForSlot(pkg.slot);
  }
}

/** Bytes used by the files under `dir` (allocated blocks, like du). */
async function du(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else total += ((await fs.lstat(p).catch(() => undefined))?.blocks ?? 0) * 512;
    }
  };
  await walk(dir);
  return total;
}

// An action may take a while (a database dump); a runtime registers within seconds.
const ACTION_TIMEOUT_MS = 120_000;
const REGISTER_TIMEOUT_MS = 60_000;

const exists = (p: string): Promise<boolean> =>
  fs.stat(p).then(
    () => true,
    () => false,
  );
