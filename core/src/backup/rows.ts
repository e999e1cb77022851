import { cachedStatement, type Db } from '../state/db.ts';

/** Where a target's repository is: a local directory, or a directory on a USB disk found by UUID. */
export type TargetLocation = { kind: 'local'; path: string } | { kind: 'usb'; uuid: string; subdir: string };

/** A backup target as the backup_targets table has it. */
export interface TargetRow {
  id: string;
  name: string;
  location: TargetLocation;
  phase: 'adding' | 'ready';
  createdAt: number;
  lastBackupAt: number | null;
  lastError: string | null;
}

/** A backup or a restore, written before it starts. */
export interface RunRow {
  id: number;
  kind: 'backup' | 'restore';
  target: string;
  packages: string[];
  box: boolean;
  snapshot: string | null;
  phase: 'running' | 'done' | 'failed' | 'interrupted';
  startedAt: number;
  finishedAt: number | null;
  error: string | null;
  result: unknown;
}

interface RawTarget {
  id: string;
  name: string;
  kind: 'local' | 'usb';
  path: string | null;
  uuid: string | null;
  subdir: string | null;
  phase: 'adding' | 'ready';
  created_at: number;
  last_backup_at: number | null;
  last_error: string | null;
}

interface RawRun {
  id: number;
  kind: 'backup' | 'restore';
  target: string;
  packages: string;
  box: number;
  snapshot: string | null;
  phase: RunRow['phase'];
  started_at: number;
  finished_at: number | null;
  error: string | null;
  result: string | null;
}

const target = (r: RawTarget): TargetRow => ({
  id: r.id,
  name: r.name,
  location:
    r.kind === 'local'
      ? { kind: 'local', path: r.path ?? '' }
      : { kind: 'usb', uuid: r.uuid ?? '', subdir: r.subdir ?? '' },
  phase: r.phase,
  createdAt: r.created_at,
  lastBackupAt: r.last_backup_at,
  lastError: r.last_error,
});

const run = (r: RawRun): RunRow => ({
  id: r.id,
  kind: r.kind,
  target: r.target,
  packages: JSON.parse(r.packages) as string[],
  box: r.box === 1,
  snapshot: r.snapshot,
  phase: r.phase,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  error: r.error,
  result: r.result === null ? null : (JSON.parse(r.result) as unknown),
});

/** The backup tables: targets (desired: a repository there) and runs (what is, or was, under way). */
export class BackupRows {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  targets(): TargetRow[] {
    return (
      cachedStatement(this.#db, 'SELECT * FROM backup_targets ORDER BY created_at, id').all() as RawTarget[]
    ).map(target);
  }

  target(id: string): TargetRow | undefined {
    const r = cachedStatement(this.#db, 'SELECT * FROM backup_targets WHERE id = ?').get(id) as
      | RawTarget
      | undefined;
    return r && target(r);
  }

  insertTarget(t: Pick<TargetRow, 'id' | 'name' | 'location' | 'createdAt'>): void {
    const l = t.location;
    cachedStatement(
      this.#db,
      `INSERT INTO backup_targets (id, name, kind, path, uuid, subdir, phase, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'adding', ?)`,
    ).run(
      t.id,
      t.name,
      l.kind,
      l.kind === 'local' ? l.path : null,
      l.kind === 'usb' ? l.uuid : null,
      l.kind === 'usb' ? l.subdir : null,
      t.createdAt,
    );
  }

  setTargetReady(id: string): void {
    cachedStatement(
      this.#db,
      "UPDATE backup_targets SET phase = 'ready', last_error = NULL WHERE id = ?",
    ).run(id);
  }

  setTargetOutcome(id: string, o: { at?: number; error: string | null }): void {
    cachedStatement(
      this.#db,
      'UPDATE backup_targets SET last_backup_at = coalesce(?, last_backup_at), last_error = ? WHERE id = ?',
    ).run(o.at ?? null, o.error?.slice(0, 1000) ?? null, id);
  }

  removeTarget(id: string): boolean {
    return cachedStatement(this.#db, 'DELETE FROM backup_targets WHERE id = ?').run(id).changes > 0;
  }

  /** `result` at the start: what recovery needs to know (which packages were running). */
  startRun(
    r: Pick<RunRow, 'kind' | 'target' | 'packages' | 'box' | 'snapshot' | 'startedAt' | 'result'>,
  ): number {
    return Number(
      cachedStatement(
        this.#db,
        `INSERT INTO backup_runs (kind, target, packages, box, snapshot, phase, started_at, result)
         VALUES (?, ?, ?, ?, ?, 'running', ?, ?)`,
      ).run(
        r.kind,
        r.target,
        JSON.stringify(r.packages),
        r.box ? 1 : 0,
        r.snapshot,
        r.startedAt,
        JSON.stringify(r.result),
      ).lastInsertRowid,
    );
  }

  finishRun(
    id: number,
    o: { phase: 'done' | 'failed' | 'interrupted'; at: number; error?: string; result?: unknown },
  ): void {
    cachedStatement(
      this.#db,
      'UPDATE backup_runs SET phase = ?, finished_at = ?, error = ?, result = ? WHERE id = ?',
    ).run(
      o.phase,
      o.at,
      o.error?.slice(0, 1000) ?? null,
      o.result === undefined ? null : JSON.stringify(o.result),
      id,
    );
  }

  /** Runs a crash left under way. */
  unfinished(): RunRow[] {
    return (
      cachedStatement(
        this.#db,
        "SELECT * FROM backup_runs WHERE phase = 'running' ORDER BY id",
      ).all() as RawRun[]
    ).map(run);
  }

  recentRuns(limit = 20): RunRow[] {
    return (
      cachedStatement(this.#db, 'SELECT * FROM backup_runs ORDER BY id DESC LIMIT ?').all(limit) as RawRun[]
    ).map(run);
  }
}
