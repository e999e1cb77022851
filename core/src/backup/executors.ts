import path from 'node:path';
import type { Progress } from '../calls.ts';
import type { BackupFiles } from '../host/backup-files.ts';
import type { Lxc } from '../host/containers.ts';
import { containerName } from '../host/containers.ts';
import type { BackupSummary, Restic, ResticRepository } from '../host/restic.ts';
import type { Snapshot } from '../host/restic-parse.ts';
import type { RuntimeClient } from '../runtime/protocol.ts';
import { TargetProblem } from './errors.ts';
import { type Step, tagsFor } from './plan.ts';
import type { TargetRow } from './rows.ts';

/** Opens a target's repository for a run: a USB disk is found and mounted; the directory the repository is in. */
export interface TargetAccess {
  open(t: TargetRow): Promise<string>;
  close(t: TargetRow): Promise<void>;
}

/** What the executors act through. */
export interface ExecutorDeps {
  restic: Restic;
  files: BackupFiles;
  access: TargetAccess;
  lxc: Pick<Lxc, 'freeze' | 'thaw'>;
  /** A package's runtime, if connected (for its backup hooks). */
  runtime: (id: string) => RuntimeClient | undefined;
  /** Where a package's files are, by packages/: one version's unpacked package, and its volumes. */
  packageDirs: (id: string, version: string) => { version: string; volumes: string };
  volumesDir: (id: string) => string;
  /** The package's record for the backup: its version, desired state and interfaces' settings. */
  packageSettings: (id: string) => unknown;
  setDesired: (id: string, desired: 'running' | 'stopped') => Promise<void>;
  /** Whether every health check of the package passed at or after `since`. */
  healthySince: (id: string, since: number) => boolean;
  /** The database, copied by SQLite's online backup into `file`. */
  dumpDatabase: (file: string) => Promise<void>;
  /** Bytes a backup must leave free on a target (no backup starts with less). */
  minFreeBytes: number;
  healthTimeoutMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

/** One run's state, carried between its steps. */
export interface RunContext {
  run: number;
  target: TargetRow;
  keyFile: string;
  repository?: ResticRepository;
  /** Per package (or 'box'): the snapshot made. */
  made: Map<string, BackupSummary>;
  /** A restore: the snapshot, looked up before the run. */
  snapshot?: Snapshot;
  staged?: string;
  progress: (p: Progress) => void;
}

type Executors = {
  [K in Step['kind']]: (step: Extract<Step, { kind: K }>, d: ExecutorDeps, c: RunContext) => Promise<void>;
};

const repo = (c: RunContext): ResticRepository => {
  if (!c.repository) throw new Error('the target is not open');
  return c.repository;
};

const hook = async (d: ExecutorDeps, id: string, which: 'runtime.backup.pre' | 'runtime.backup.post') => {
  const runtime = d.runtime(id);
  if (!runtime) throw new Error(`${id}'s runtime is not connected, so its backup hook cannot run`);
  // A dump of a large database takes a while; the runtime's own timeout for the command applies too.
  await runtime.call(which, {}, 30 * 60_000);
};

/** The one table that acts: each step kind and what it does. */
export const EXECUTORS: Executors = {
  'open-target': async (_s, d, c) => {
    const dir = await d.access.open(c.target);
    c.repository = { path: dir, passwordFile: c.keyFile, cacheDir: d.files.cacheDir };
  },
  'check-target': async (_s, d, c) => {
    const r = repo(c);
    const space = await d.restic.space(r.path);
    if (!space.writable) throw TargetProblem.of('read-only', c.target.name);
    if (space.freeBytes < d.minFreeBytes) throw TargetProblem.of('no-space', c.target.name);
    const failure = await d.restic.probe(r);
    if (failure) throw TargetProblem.of(failure, c.target.name);
  },
  'close-target': async (_s, d, c) => {
    await d.access.close(c.target);
  },
  'backup-pre': (s, d) => hook(d, s.id, 'runtime.backup.pre'),
  'backup-post': (s, d) => hook(d, s.id, 'runtime.backup.post'),
  freeze: (s, d) => d.lxc.freeze(containerName(s.id)),
  thaw: (s, d) => d.lxc.thaw(containerName(s.id)).catch(() => {}),
  'write-package-settings': async (s, d) => {
    await d.files.stage(s.id);
    await d.files.writeStaged(s.id, 'package.json', `${JSON.stringify(d.packageSettings(s.id), null, 2)}\n`);
  },
  'back-up-package': async (s, d, c) => {
    const dirs = d.packageDirs(s.id, s.version);
    const volumes: string[] = [];
    for (const v of s.volumes) {
      const p = path.join(dirs.volumes, v);
      if (await d.files.isDirectory(p)) volumes.push(p);
    }
    const settings = path.dirname(await d.files.writeStaged(s.id, '.hearth-backup', `${c.run}\n`));
    c.progress({ step: `package:${s.id}` });
    const summary = await d.restic.backup(repo(c), {
      paths: [...volumes, dirs.version, settings],
      tags: tagsFor({ id: s.id, version: s.version }, c.run),
      onStatus: (st) => c.progress({ step: `package:${s.id}`, done: st.bytesDone, total: st.totalBytes }),
    });
    c.made.set(s.id, summary);
  },
  'dump-box': async (_s, d) => {
    const dir = await d.files.stage('box');
    await d.dumpDatabase(path.join(dir, 'hearth.db'));
  },
  'back-up-box': async (_s, d, c) => {
    c.progress({ step: 'box' });
    const staged = path.dirname(await d.files.writeStaged('box', '.hearth-backup', `${c.run}\n`));
    const summary = await d.restic.backup(repo(c), {
      paths: [staged],
      tags: tagsFor('box', c.run),
      onStatus: (st) => c.progress({ step: 'box', done: st.bytesDone, total: st.totalBytes }),
    });
    c.made.set('box', summary);
  },
  'drop-staging': (_s, d) => d.files.dropStaging(),
  'restore-to-staging': async (s, d, c) => {
    const snap = c.snapshot;
    if (!snap) throw new Error('no snapshot chosen');
    const staged = await d.files.stage(`restore-${s.id}`);
    c.progress({ step: 'restore' });
    const volumes = volumePathsOf(snap, s.id);
    if (volumes.length === 0) throw new Error(`snapshot ${snap.shortId} holds no volumes of ${s.id}`);
    await d.restic.restore(repo(c), {
      snapshot: snap.id,
      target: staged,
      include: volumes.map((v) => v.path),
    });
    c.staged = staged;
  },
  'stop-package': async (s, d) => {
    await d.setDesired(s.id, 'stopped');
  },
  'set-aside': async (s, d) => {
    await d.files.setAside(d.volumesDir(s.id));
  },
  'put-in-place': async (s, d, c) => {
    const snap = c.snapshot;
    if (!snap || !c.staged) throw new Error('nothing restored to put in place');
    const restored = new Map<string, string>();
    for (const v of volumePathsOf(snap, s.id)) {
      const at = path.join(c.staged, v.path);
      if (await d.files.isDirectory(at)) restored.set(v.volume, at);
    }
    await d.files.putInPlace(d.volumesDir(s.id), restored);
  },
  'start-package': async (s, d) => {
    await d.setDesired(s.id, 'running');
  },
  'wait-healthy': async (s, d, c) => {
    const since = d.now();
    c.progress({ step: 'health' });
    const deadline = since + d.healthTimeoutMs;
    while (!d.healthySince(s.id, since)) {
      if (d.now() > deadline) throw new Error(`${s.id} did not turn healthy with the restored data`);
      await d.sleep(500);
    }
  },
  'drop-aside': (s, d) => d.files.dropAside(d.volumesDir(s.id)),
  'put-back': (s, d) => d.files.putBack(d.volumesDir(s.id)),
};

export function execute(step: Step, d: ExecutorDeps, c: RunContext): Promise<void> {
  return (EXECUTORS[step.kind] as (s: Step, d: ExecutorDeps, c: RunContext) => Promise<void>)(step, d, c);
}

const VOLUME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * The volumes of package `id` in a snapshot, from its paths: `…/<id>/volumes/<volume>`,
 * absolute and plain (a hostile repository's `..` or odd names are not followed).
 */
export function volumePathsOf(snap: Snapshot, id: string): { volume: string; path: string }[] {
  return snap.paths.flatMap((p) => {
    if (!p.startsWith('/') || path.posix.normalize(p) !== p || p.split('/').includes('..')) return [];
    const parts = p.split('/');
    const volume = parts.at(-1) ?? '';
    if (parts.at(-2) !== 'volumes' || parts.at(-3) !== id || !VOLUME.test(volume)) return [];
    return [{ volume, path: p }];
  });
}
