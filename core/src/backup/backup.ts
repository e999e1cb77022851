import { randomBytes } from 'node:crypto';
import type { Progress } from '../calls.ts';
import { Conflict, InvalidParams, NotFound } from '../errors.ts';
import type { Events } from '../events/events.ts';
import type { BackupFiles } from '../host/backup-files.ts';
import { ResticError, type ResticRepository } from '../host/restic.ts';
import type { Snapshot } from '../host/restic-parse.ts';
import type { Logger } from '../log/log.ts';
import type { Notifications } from '../notifications/notifications.ts';
import type { BackupState } from '../state/shape.ts';
import type { StateDocument } from '../state/state-doc.ts';
import { TargetProblem } from './errors.ts';
import { type ExecutorDeps, execute, type RunContext, volumePathsOf } from './executors.ts';
import {
  type Group,
  type PackageForBackup,
  packageOf,
  planBackup,
  planPutBack,
  planRecovery,
  planRestore,
  type Step,
  shouldRun,
} from './plan.ts';
import type { BackupRows, TargetLocation, TargetRow } from './rows.ts';
import {
  checkLocalPath,
  type Kit,
  kitOf,
  NAME,
  placeholder,
  type RunView,
  type SnapshotView,
  SUBDIR,
  type TargetView,
  UUID,
  view,
} from './views.ts';

export type { RunView, SnapshotView, TargetView } from './views.ts';

/*
 * Backups with restic: targets are rows (desired: a repository there, opened with the
 * box's key); a backup or a restore is a run row written first, its steps planned by
 * plan.ts and carried out by executors.ts, one run at a time. A crash leaves the run row
 * 'running': recover() at the next start thaws, runs post hooks and puts set-aside data back.
 */

export interface BackupOptions extends Omit<ExecutorDeps, 'files'> {
  rows: BackupRows;
  files: BackupFiles;
  state: StateDocument;
  notifications: Notifications;
  events?: Events;
  log: Logger;
  /** The installed packages as a backup needs them. */
  packages: () => PackageForBackup[];
  /** Where targets may not be (the data drive: a backup beside its data is no backup). */
  forbiddenRoots: string[];
}

export class Backup {
  readonly #o: BackupOptions;
  #busy: { run: number; kind: 'backup' | 'restore' } | undefined;
  #running: BackupState['running'] = null;

  constructor(o: BackupOptions) {
    this.#o = o;
  }

  // --- targets ---------------------------------------------------------------------

  listTargets(): TargetView[] {
    return this.#o.rows.targets().map(view);
  }

  async addTarget(p: {
    name: string;
    path?: string | undefined;
    usb?: { uuid: string; subdir?: string | undefined } | undefined;
  }): Promise<TargetView> {
    if (!NAME.test(p.name)) throw new InvalidParams('a name of 1–64 letters, digits, spaces and ._()-');
    if ((p.path === undefined) === (p.usb === undefined))
      throw new InvalidParams('give a path or a USB disk, one of them');
    let location: TargetLocation;
    if (p.path !== undefined)
      location = { kind: 'local', path: checkLocalPath(p.path, this.#o.forbiddenRoots) };
    else {
      const u = p.usb!;
      const subdir = u.subdir ?? 'hearth-backup';
      if (!UUID.test(u.uuid)) throw new InvalidParams('not a filesystem UUID');
      if (!SUBDIR.test(subdir) || subdir.split('/').some((s) => s === '.' || s === '..'))
        throw new InvalidParams('the directory on the disk must be a plain relative path');
      location = { kind: 'usb', uuid: u.uuid.toLowerCase(), subdir };
    }
    const same = this.#o.rows
      .targets()
      .find((t) => JSON.stringify(t.location) === JSON.stringify(location) || t.name === p.name);
    if (same) throw new Conflict(`${same.name} is a target already`);
    const id = randomBytes(4).toString('hex');
    this.#o.rows.insertTarget({ id, name: p.name, location, createdAt: this.#o.now() });
    try {
      await this.#prepare(this.#o.rows.target(id)!);
    } catch (e) {
      this.#o.rows.removeTarget(id);
      throw e;
    }
    this.#publish();
    return view(this.#o.rows.target(id)!);
  }

  /** Opens the target and makes its repository if it has none; adopts one our key opens. */
  async #prepare(t: TargetRow): Promise<void> {
    const key = await this.#key();
    await this.#withTarget(t, key, async (repo) => {
      const failure = await this.#o.restic.probe(repo);
      if (failure === 'no-repository') await this.#o.restic.init(repo).catch((e) => this.#problem(e, t));
      else if (failure) throw TargetProblem.of(failure, t.name);
    });
    this.#o.rows.setTargetReady(t.id);
    this.#o.log.info('backup target added', { id: t.id, kind: t.location.kind });
  }

  /** Tests a target: `ok`, or what is wrong in plain words (the error's code says which). */
  async testTarget(
    id: string,
  ): Promise<{ ok: true; freeBytes: number } | { ok: false; code: string; message: string; hint?: string }> {
    const t = this.#target(id);
    this.#refuseIfBusy();
    try {
      let freeBytes = 0;
      await this.#withTarget(t, await this.#key(), async (repo) => {
        const space = await this.#o.restic.space(repo.path);
        freeBytes = space.freeBytes;
        if (!space.writable) throw TargetProblem.of('read-only', t.name);
        const failure = await this.#o.restic.probe(repo);
        if (failure) throw TargetProblem.of(failure, t.name);
        if (space.freeBytes < this.#o.minFreeBytes) throw TargetProblem.of('no-space', t.name);
      });
      return { ok: true, freeBytes };
    } catch (e) {
      if (e instanceof TargetProblem)
        return { ok: false, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
      throw e;
    }
  }

  removeTarget(id: string): void {
    if (this.#busy) throw new Conflict('a backup or restore is under way; try again when it has finished');
    if (!this.#o.rows.removeTarget(id)) throw this.#notFound(id);
    this.#publish();
  }

  /** The emergency kit: the key, the targets, and how to restore with plain restic. */
  async kit(): Promise<Kit> {
    await this.#key();
    return kitOf((await this.#o.files.readKey())!, this.#o.rows.targets());
  }

  // --- runs ------------------------------------------------------------------------

  /** Backs up the chosen packages and/or the box to one target, now. One run at a time. */
  async run(p: {
    target: string;
    packages: string[];
    box: boolean;
    progress?: (p: Progress) => void;
  }): Promise<RunView> {
    const t = this.#target(p.target);
    const installed = new Map(this.#o.packages().map((x) => [x.id, x]));
    for (const id of p.packages) if (!installed.has(id)) throw new NotFound('package', id);
    if (p.packages.length === 0 && !p.box) throw new InvalidParams('choose packages, the box, or both');
    const chosen = [...new Set(p.packages)].map((id) => installed.get(id)!);
    const steps = planBackup({ target: t.id, packages: chosen, box: p.box });
    return this.#exclusive(
      'backup',
      t,
      chosen.map((c) => c.id),
      p.box,
      null,
      chosen,
      async (c) => {
        const failures = await this.#execute(steps, c);
        const snapshots = [...c.made].map(([of, s]) => ({
          of,
          snapshot: s.snapshotId,
          filesNew: s.filesNew,
          bytesAdded: s.bytesAdded,
          totalBytes: s.totalBytes,
        }));
        return { run: c.run, phase: failures.length === 0 ? 'done' : 'failed', snapshots, failures };
      },
      p.progress,
    );
  }

  /** The target's snapshots made by this box, newest first; for one package if asked. */
  async snapshots(p: { target: string; package?: string | undefined }): Promise<SnapshotView[]> {
    const t = this.#target(p.target);
    this.#refuseIfBusy();
    const list = await this.#withTarget(t, await this.#key(), (repo) =>
      this.#o.restic
        .snapshots(repo, { tag: p.package ? `package:${p.package}` : 'hearth' })
        .catch((e) => this.#problem(e, t)),
    );
    return list
      .map((s) => {
        const pkg = packageOf(s.tags);
        return {
          id: s.id,
          shortId: s.shortId,
          time: s.time,
          package: pkg?.id ?? null,
          version: pkg?.version ?? null,
          box: s.tags.includes('box'),
        };
      })
      .sort((a, b) => b.time.localeCompare(a.time));
  }

  /** One package back to a snapshot; its current data kept aside until it is healthy again. */
  async restore(p: {
    target: string;
    package: string;
    snapshot: string;
    progress?: (p: Progress) => void;
  }): Promise<RunView> {
    const t = this.#target(p.target);
    const pkg = this.#o.packages().find((x) => x.id === p.package);
    if (!pkg) throw new NotFound('package', p.package);
    const release = this.#claim('restore');
    let snapshot: Snapshot;
    try {
      const found = await this.#withTarget(t, await this.#key(), (repo) =>
        this.#o.restic.snapshots(repo, { tag: `package:${pkg.id}` }).catch((e) => this.#problem(e, t)),
      );
      const matches = found.filter((s) => s.id.startsWith(p.snapshot));
      if (matches.length !== 1 || volumePathsOf(matches[0]!, pkg.id).length === 0)
        throw new NotFound(`snapshot of ${pkg.id}`, p.snapshot, { hint: 'backup.snapshot.list shows them' });
      snapshot = matches[0]!;
    } finally {
      release();
    }
    const steps = planRestore({ target: t.id, id: pkg.id, snapshot: snapshot.id, running: pkg.running });
    return this.#exclusive(
      'restore',
      t,
      [pkg.id],
      false,
      snapshot.id,
      [pkg],
      async (c) => {
        c.snapshot = snapshot;
        const failures = await this.#execute(steps, c);
        if (failures.length > 0 && (await this.#o.files.asideExists(this.#o.volumesDir(pkg.id)))) {
          this.#o.log.warn('restore failed; putting the data back', { id: pkg.id });
          await this.#execute(planPutBack({ id: pkg.id, running: pkg.running }), c);
        }
        return { run: c.run, phase: failures.length === 0 ? 'done' : 'failed', snapshots: [], failures };
      },
      p.progress,
    );
  }

  /** After a crash: what a run left under way is undone or finished (plan.ts planRecovery). */
  async recover(): Promise<void> {
    // A target whose adding a crash cut short was never answered to anyone: forgotten.
    for (const t of this.#o.rows.targets()) if (t.phase === 'adding') this.#o.rows.removeTarget(t.id);
    for (const r of this.#o.rows.unfinished()) {
      const t = this.#o.rows.target(r.target);
      const all = new Map(this.#o.packages().map((x) => [x.id, x]));
      const was = (r.result as { running?: string[] } | null)?.running ?? [];
      const packages = r.packages.map((id) => ({
        id,
        running: was.includes(id),
        hasPost: all.get(id)?.hasPost ?? false,
      }));
      const aside: string[] = [];
      for (const id of r.packages)
        if (await this.#o.files.asideExists(this.#o.volumesDir(id))) aside.push(id);
      const steps = planRecovery({ kind: r.kind, target: r.target, packages, aside }).filter(
        (s) => t || s.kind !== 'close-target',
      );
      const c = this.#context(r.id, t ?? placeholder(r.target), '');
      await this.#execute(steps, c);
      this.#o.rows.finishRun(r.id, {
        phase: 'interrupted',
        at: this.#o.now(),
        error: 'the box stopped during it',
      });
      this.#o.log.warn('an interrupted backup run was cleaned up', {
        run: r.id,
        kind: r.kind,
        putBack: aside,
      });
    }
    this.#publish();
  }

  publish(): void {
    this.#publish();
  }

  async #exclusive(
    kind: 'backup' | 'restore',
    t: TargetRow,
    packages: string[],
    box: boolean,
    snapshot: string | null,
    chosen: PackageForBackup[],
    work: (c: RunContext) => Promise<RunView>,
    progress?: (p: Progress) => void,
  ): Promise<RunView> {
    const release = this.#claim(kind);
    const key = await this.#key().catch((e: unknown) => {
      release();
      throw e;
    });
    const started = this.#o.now();
    const run = this.#o.rows.startRun({
      kind,
      target: t.id,
      packages,
      box,
      snapshot,
      startedAt: started,
      result: { running: chosen.filter((c) => c.running).map((c) => c.id) },
    });
    this.#busy = { run, kind };
    this.#running = { run, kind, target: t.id, step: 'start', done: null, total: null, startedAt: started };
    this.#publish();
    const c = this.#context(run, t, key, (p) => {
      progress?.(p);
      this.#running = { ...this.#running!, step: p.step, done: p.done ?? null, total: p.total ?? null };
      this.#publishRunning();
    });
    try {
      const result = await work(c);
      const error = result.failures.map((f) => `${f.of}: ${f.error}`).join('; ');
      this.#o.rows.finishRun(run, {
        phase: result.phase,
        at: this.#o.now(),
        result,
        ...(error ? { error } : {}),
      });
      if (kind === 'backup')
        this.#o.rows.setTargetOutcome(t.id, {
          ...(result.phase === 'done' ? { at: this.#o.now() } : {}),
          error: error || null,
        });
      this.#o.events?.record({
        kind: `${kind}-${result.phase}`,
        package: packages.length === 1 ? packages[0]! : null,
        detail: { run, target: t.id, error: error || null },
      });
      if (result.phase === 'failed') {
        this.#o.notifications.create({
          level: 'error',
          title: kind === 'backup' ? `The backup to ${t.name} failed` : `Restoring ${packages[0]} failed`,
          message:
            kind === 'backup'
              ? `${error}. Nothing already backed up was lost; the box keeps working.`
              : `${error}. The data it had before is back in place.`,
          source: 'backup',
        });
      }
      return result;
    } finally {
      this.#busy = undefined;
      this.#running = null;
      this.#publish();
    }
  }

  /**
   * Takes the one run slot at once (no await before it), so two calls cannot both start;
   * the function gives it back. Listing and testing wait for no one: they are refused while a
   * run holds a target, whose USB disk they would unmount under it.
   */
  #claim(kind: 'backup' | 'restore'): () => void {
    this.#refuseIfBusy();
    this.#busy = { run: 0, kind };
    return () => {
      this.#busy = undefined;
    };
  }

  #refuseIfBusy(): void {
    if (this.#busy)
      throw new Conflict(`a ${this.#busy.kind} is under way; one at a time`, {
        hint: 'the state document shows its progress',
      });
  }

  /** Runs steps in order; a failure skips the rest of its group, `always` steps run anyway. */
  async #execute(steps: Step[], c: RunContext): Promise<{ of: string; error: string }[]> {
    const failed = new Set<Group>();
    const failures: { of: string; error: string }[] = [];
    for (const step of steps) {
      if (!shouldRun(step, failed)) continue;
      try {
        await execute(step, this.#o, c);
      } catch (e) {
        const error = e instanceof ResticError ? TargetProblem.of(e.failure, c.target.name, e) : e;
        this.#o.log.warn('backup step failed', { run: c.run, step: step.kind, group: step.group, error });
        if (!failed.has(step.group))
          failures.push({ of: step.group.replace(/^package:/, ''), error: (error as Error).message });
        failed.add(step.group);
      }
    }
    return failures;
  }

  #context(
    run: number,
    target: TargetRow,
    keyFile: string,
    progress: (p: Progress) => void = () => {},
  ): RunContext {
    return { run, target, keyFile, made: new Map(), progress };
  }

  async #withTarget<T>(
    t: TargetRow,
    keyFile: string,
    work: (repo: ResticRepository) => Promise<T>,
  ): Promise<T> {
    const dir = await this.#o.access.open(t);
    try {
      return await work({ path: dir, passwordFile: keyFile, cacheDir: this.#o.files.cacheDir });
    } finally {
      await this.#o.access
        .close(t)
        .catch((error) => this.#o.log.warn('could not let the target go', { error }));
    }
  }

  #problem(e: unknown, t: TargetRow): never {
    if (e instanceof ResticError) throw TargetProblem.of(e.failure, t.name, e);
    throw e;
  }

  async #key(): Promise<string> {
    const { file, created } = await this.#o.files.key(() => randomBytes(32).toString('base64url'));
    if (created) this.#o.log.info('backup key made (the emergency kit shows it)');
    return file;
  }

  #target(id: string): TargetRow {
    const t = this.#o.rows.target(id);
    if (!t || t.phase !== 'ready') throw this.#notFound(id);
    return t;
  }

  #notFound(id: string): NotFound {
    return new NotFound('backup target', id, { hint: 'backup.target.list shows the targets' });
  }

  #publishRunning(): void {
    this.#o.state.set(['backup', 'running'], this.#running);
  }

  #publish(): void {
    const last = this.#o.rows.recentRuns(1)[0];
    this.#o.state.set(['backup'], {
      targets: Object.fromEntries(
        this.#o.rows
          .targets()
          .map((t) => [
            t.id,
            { name: t.name, kind: t.location.kind, lastBackupAt: t.lastBackupAt, lastError: t.lastError },
          ]),
      ),
      running: this.#running,
      last:
        last && last.phase !== 'running'
          ? {
              run: last.id,
              kind: last.kind,
              phase: last.phase,
              finishedAt: last.finishedAt,
              error: last.error,
            }
          : null,
    } satisfies BackupState);
  }
}

export type { Snapshot };
