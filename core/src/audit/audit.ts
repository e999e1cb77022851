import type { Logger } from '../log/log.ts';
import type { Confirmation } from '../rpc/dispatch.ts';
import type { Surface } from '../rpc/registry.ts';
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

/**
 * The audit log: every call, who made it, from where, and how it ended. Entries are
 * written in one transaction per turn of the event loop, so a burst of calls costs one
 * commit, and an idle box writes each entry at once.
 */
export class Audit {
  readonly #o: AuditOptions & { now: () => number };
  #pending: AuditEntry[] = [];
  #scheduled = false;
  readonly #insert;

  constructor(options: AuditOptions) {
    this.#o = { now: Date.now, ...options };
    this.#insert = this.#o.db.prepare(
      `INSERT INTO audit (at, method, surface, caller_kind, caller_id, caller_name, address, duration_ms,
         outcome, error_code, params, confirmation) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  record(entry: AuditEntry): void {
    this.#pending.push(entry);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    try {
      this.#o.db.transaction(() => {
        for (const e of batch) {
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
          );
        }
      })();
    } catch (error) {
      this.#o.log.error('could not write audit entries', { count: batch.length, error });
    }
  }

  list(filter: AuditFilter): (AuditEntry & { id: number })[] {
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
    }));
  }

  /** Applies the retention: by age, then by count. */
  prune(): number {
    this.flush();
    const db = this.#o.db;
    const old = db
      .prepare('DELETE FROM audit WHERE at < ?')
      .run(this.#o.now() - this.#o.retentionDays * 86_400_000);
    const over = db
      .prepare('DELETE FROM audit WHERE id <= (SELECT id FROM audit ORDER BY id DESC LIMIT 1 OFFSET ?)')
      .run(this.#o.maxEntries);
    return old.changes + over.changes;
  }
}
