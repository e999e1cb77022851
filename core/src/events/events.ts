import type { Db } from '../state/db.ts';
import type { Json } from '../state/json-patch.ts';

/**
 * What happened to a package, or to the box: what Hearth did (an operation, a step of the
 * reconcile loop) and what it saw (a crash, a health check changing, a check failing).
 */
export const EVENT_KINDS = [
  // Operations a caller asked for, when they succeeded.
  'installed',
  'updated',
  'started',
  'stopped',
  'restarted',
  'removed',
  'action',
  // An operation that failed (detail: operation, code, message); a failed update is
  // rolled back, so the package is as it was.
  'failed',
  // What the loop saw and did by itself.
  'crashed',
  'crash-loop',
  'reconciled',
  'health',
  // The box's checks (checks/): a finding appeared, or went away.
  'check-failing',
  'check-resolved',
  // The box's certificates (tls/): one issued, renewed or removed (detail: step, id, names).
  'certificate',
  // A custom domain's certificate (acme/): issued or renewed (detail: name, reason), or not (name, reason, error).
  'certificate-issued',
  'certificate-failed',
  // Backups (backup/): a backup or a restore finished, or failed (detail: run, target, error).
  'backup-done',
  'backup-failed',
  'restore-done',
  'restore-failed',
  // The OS update (update/): applied, fell back after a failed trial, or failed (detail: version, error).
  'os-update',
] as const;
export type EventKind = (typeof EVENT_KINDS)[number];

export interface HearthEvent {
  id: number;
  /** ms since the epoch */
  at: number;
  /** The package it is about; null for the box itself. */
  package: string | null;
  kind: EventKind;
  detail: Record<string, Json>;
}

export type NewEvent = Omit<HearthEvent, 'id' | 'at' | 'package' | 'detail'> & {
  package?: string | null;
  detail?: Record<string, Json>;
};

export interface EventsOptions {
  db: Db;
  /** Events older than this are dropped. */
  retentionDays: number;
  /** At most this many are kept, the oldest dropped first. */
  maxEvents?: number;
  now?: () => number;
}

const DAY = 86_400_000;
/** Pruning is a DELETE with a subquery: done every so many inserts, not on each. */
const PRUNE_EVERY = 100;

/** The event history, in SQLite (table `events`), kept for `retentionDays`. */
export class Events {
  readonly #o: Required<EventsOptions>;
  readonly #listeners = new Set<(e: HearthEvent) => void>();
  #sincePrune = 0;

  constructor(options: EventsOptions) {
    this.#o = { maxEvents: 50_000, now: Date.now, ...options };
    this.prune();
  }

  record(e: NewEvent): HearthEvent {
    const at = this.#o.now();
    const detail = e.detail ?? {};
    const { lastInsertRowid } = this.#o.db
      .prepare('INSERT INTO events (at, package, kind, detail) VALUES (?, ?, ?, ?)')
      .run(at, e.package ?? null, e.kind, JSON.stringify(detail));
    if (++this.#sincePrune >= PRUNE_EVERY) this.prune();
    const event: HearthEvent = {
      id: Number(lastInsertRowid),
      at,
      package: e.package ?? null,
      kind: e.kind,
      detail,
    };
    for (const listener of this.#listeners) listener(event);
    return event;
  }

  /** Newest first; `before` pages back (an event id), `since` stops at a time. */
  list(q: {
    package?: string | undefined;
    kinds?: readonly EventKind[] | undefined;
    before?: number | undefined;
    since?: number | undefined;
    limit: number;
  }): HearthEvent[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (q.package !== undefined) {
      where.push('package = ?');
      args.push(q.package);
    }
    if (q.kinds && q.kinds.length > 0) {
      where.push(`kind IN (${q.kinds.map(() => '?').join(', ')})`);
      args.push(...q.kinds);
    }
    if (q.before !== undefined) {
      where.push('id < ?');
      args.push(q.before);
    }
    if (q.since !== undefined) {
      where.push('at >= ?');
      args.push(q.since);
    }
    const rows = this.#o.db
      .prepare(
        `SELECT id, at, package, kind, detail FROM events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ` +
          'ORDER BY id DESC LIMIT ?',
      )
      .all(...args, q.limit) as (Omit<HearthEvent, 'detail'> & { detail: string })[];
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, Json> }));
  }

  /** Called with every new event (the status view, notifications). */
  subscribe(listener: (e: HearthEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Drops what is past the retention or over the count. */
  prune(): void {
    this.#sincePrune = 0;
    const db = this.#o.db;
    db.prepare('DELETE FROM events WHERE at < ?').run(this.#o.now() - this.#o.retentionDays * DAY);
    db.prepare(
      'DELETE FROM events WHERE id <= (SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)',
    ).run(this.#o.maxEvents);
  }
}
