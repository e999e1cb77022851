import type { Confirmation, Surface } from '../calls.ts';
import { addressKey } from '../limits/address-key.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';

export interface AuditEntry {
  at: number;
  method: string;
  surface: Surface;
  callerKind: 'anonymous' | 'session' | 'token' | 'local';
  callerId: string | null;
  callerName: string | null;
  address: string;
  durationMs: number;
  outcome: 'ok' | 'error';
  errorCode: string | null;
  params: unknown;
  /** How a destructive call was confirmed (MCP); null where none was asked for. */
  confirmation: Confirmation | null;
}

export interface AuditFilter {
  method?: string | undefined;
  callerKind?: AuditEntry['callerKind'] | undefined;
  callerId?: string | undefined;
  outcome?: AuditEntry['outcome'] | undefined;
  since?: number | undefined;
  until?: number | undefined;
  /** Entries with a smaller id than this (paging backwards). */
  before?: number | undefined;
  limit: number;
}

export interface AuditOptions {
  db: Db;
  log: Logger;
  retentionDays: number;
  maxEntries: number;
  now?: () => number;
}

/** Calls of one kind from one address in one minute, kept as one entry. */
interface Group {
  minute: number;
  entry: AuditEntry;
  count: number;
  /** How many of them the entry in the database counts already. */
  written: number;
  rowId?: number;
}

const MINUTE = 60_000;
// Groups open at once; past this, new ones from further addresses share one group.
const MAX_GROUPS = 10_000;

/**
 * The audit log: every call, who made it, from where, and how it ended. Entries are
 * written in one transaction per turn of the event loop, so a burst of calls costs one
 * commit, and an idle box writes each entry at once.
 *
 * Calls without a credential and failed calls are what a flood or a guesser makes, so
 * they are grouped: one entry per address, method, caller, outcome and minute, written
 * at its first call and counting the others (`count`). Anyone on the network can make
 * such calls; they must not fill the disk, nor push the owner's entries out.
 */
export class Audit {
  readonly #o: AuditOptions & { now: () => number };
  #pending: AuditEntry[] = [];
  readonly #groups = new Map<string, Group>();
  #scheduled = false;
  readonly #insert;
  readonly #recount;

  constructor(options: AuditOptions) {
    this.#o = { now: Date.now, ...options };
    this.#insert = this.#o.db.prepare(
      `INSERT INTO audit (at, method, surface, caller_kind, caller_id, caller_name, address, duration_ms,
         outcome, error_code, params, confirmation, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#recount = this.#o.db.prepare('UPDATE audit SET count = ? WHERE id = ?');
  }

  record(entry: AuditEntry): void {
    if (entry.callerKind === 'anonymous' || entry.outcome === 'error') this.#group(entry);
    else this.#pending.push(entry);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  #group(entry: AuditEntry): void {
    const minute = Math.floor(entry.at / MINUTE);
    const address = addressKey(entry.address);
    const keyOf = (a: string) =>
      [minute, a, entry.method, entry.surface, entry.callerKind, entry.callerId, entry.errorCode].join('\n');
    const full = !this.#groups.has(keyOf(address)) && this.#groups.size >= MAX_GROUPS;
    const key = keyOf(full ? '*' : address);
    const group = this.#groups.get(key);
    if (group) group.count += 1;
    else
      this.#groups.set(key, {
        minute,
        entry: { ...entry, address: full ? '*' : address },
        count: 1,
        written: 0,
      });
  }

  flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    const groups = [...this.#groups.values()].filter((g) => g.count > g.written);
    this.#pending = [];
    try {
      this.#o.db.transaction(() => {
        for (const e of batch) this.#write(e, 1);
        for (const g of groups) {
          if (g.rowId === undefined) g.rowId = this.#write(g.entry, g.count);
          else this.#recount.run(g.count, g.rowId);
          g.written = g.count;
        }
      })();
    } catch (error) {
      this.#o.log.error('could not write audit entries', { count: batch.length + groups.length, error });
    }
    // A group ends with its minute.
    const minute = Math.floor(this.#o.now() / MINUTE);
    for (const [key, g] of this.#groups)
      if (g.minute < minute && g.written === g.count) this.#groups.delete(key);
  }

  #write(e: AuditEntry, count: number): number {
    return Number(
      this.#insert.run(
        e.at,
        e.method,
        e.surface,
        e.callerKind,
        e.callerId,
        e.callerName,
        e.address,
        e.durationMs,
        e.outcome,
        e.errorCode,
        JSON.stringify(e.params ?? null) ?? 'null',
        e.confirmation,
        count,
      ).lastInsertRowid,
    );
  }

  list(filter: AuditFilter): (AuditEntry & { id: number; count: number })[] {
    this.flush();
    const where: string[] = [];
    const args: (string | number)[] = [];
    const add = (sql: string, v: string | number | undefined) => {
      if (v === undefined) return;
      where.push(sql);
      args.push(v);
    };
    add('method = ?', filter.method);
    add('caller_kind = ?', filter.callerKind);
    add('caller_id = ?', filter.callerId);
    add('outcome = ?', filter.outcome);
    add('at >= ?', filter.since);
    add('at < ?', filter.until);
    add('id < ?', filter.before);
    const sql = `SELECT * FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    const rows = this.#o.db.prepare(sql).all(...args, filter.limit) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: r['id'] as number,
      at: r['at'] as number,
      method: r['method'] as string,
      surface: r['surface'] as Surface,
      callerKind: r['caller_kind'] as AuditEntry['callerKind'],
      callerId: r['caller_id'] as string | null,
      callerName: r['caller_name'] as string | null,
      address: r['address'] as string,
      durationMs: r['duration_ms'] as number,
      outcome: r['outcome'] as AuditEntry['outcome'],
      errorCode: r['error_code'] as string | null,
      params: JSON.parse(r['params'] as string) as unknown,
      confirmation: r['confirmation'] as Confirmation | null,
      count: r['count'] as number,
    }));
  }

  /**
   * Applies the retention: by age, then by count — grouped entries (no credential, or
   * failed) go first, so a flood cannot push out the record of what the owner did.
   */
  prune(): number {
    this.flush();
    const db = this.#o.db;
    const old = db
      .prepare('DELETE FROM audit WHERE at < ?')
      .run(this.#o.now() - this.#o.retentionDays * 86_400_000);
    const total = (db.prepare('SELECT count(*) AS n FROM audit').get() as { n: number }).n;
    const excess = total - this.#o.maxEntries;
    if (excess <= 0) return old.changes;
    const grouped = db
      .prepare(
        `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE caller_kind = 'anonymous' OR outcome = 'error'
         ORDER BY id LIMIT ?)`,
      )
      .run(excess);
    const rest = db
      .prepare('DELETE FROM audit WHERE id IN (SELECT id FROM audit ORDER BY id LIMIT ?)')
      .run(excess - grouped.changes);
    return old.changes + grouped.changes + rest.changes;
  }
}
