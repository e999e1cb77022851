import { NotFound } from '../errors.ts';
import type { Db } from '../state/db.ts';
import type { Json } from '../state/json-patch.ts';
import type { StateDocument } from '../state/state-doc.ts';

export type NotificationLevel = 'info' | 'success' | 'warning' | 'error';

export interface Notification {
  id: number;
  at: number;
  level: NotificationLevel;
  title: string;
  message: string;
  source: string;
  seen: boolean;
}

/** How many of the newest notifications the state document carries. */
const IN_STATE = 50;
/** Notifications kept at all; past it the oldest seen ones go first, then the oldest. */
const KEEP = 1000;

/**
 * Notifications for the owner: crash loops, failed backups, finished updates. Stored in
 * SQLite; the newest are mirrored in the state document (`/notifications`).
 */
export class Notifications {
  readonly #db: Db;
  readonly #state: StateDocument;
  readonly #now: () => number;
  readonly #deliver: ((n: Notification) => void) | undefined;
  readonly #keep: number;

  /**
   * `deliver` hears of every new notification (the channels that carry it off the box);
   * it must return at once and never create a notification itself.
   */
  constructor(options: {
    db: Db;
    state: StateDocument;
    now?: () => number;
    deliver?: (n: Notification) => void;
    /** How many are kept (KEEP). */
    keep?: number;
  }) {
    this.#db = options.db;
    this.#state = options.state;
    this.#now = options.now ?? Date.now;
    this.#deliver = options.deliver;
    this.#keep = options.keep ?? KEEP;
  }

  create(n: { level: NotificationLevel; title: string; message: string; source: string }): Notification {
    const at = this.#now();
    const { lastInsertRowid } = this.#db
      .prepare('INSERT INTO notifications (at, level, title, message, source) VALUES (?, ?, ?, ?, ?)')
      .run(at, n.level, n.title, n.message, n.source);
    this.#trim();
    this.publish();
    const created: Notification = { id: Number(lastInsertRowid), at, ...n, seen: false };
    this.#deliver?.(created);
    return created;
  }

  list(options: { unseenOnly: boolean; limit: number }): Notification[] {
    const rows = this.#db
      .prepare(
        `SELECT * FROM notifications ${options.unseenOnly ? 'WHERE seen = 0' : ''} ORDER BY id DESC LIMIT ?`,
      )
      .all(options.limit) as (Omit<Notification, 'seen'> & { seen: number })[];
    return rows.map((r) => ({ ...r, seen: r.seen === 1 }));
  }

  /** Past `keep`: what the owner has seen goes first, oldest first; unseen ones only if need be. */
  #trim(): void {
    const { n } = this.#db.prepare('SELECT count(*) AS n FROM notifications').get() as { n: number };
    const excess = n - this.#keep;
    if (excess <= 0) return;
    const seen = this.#db
      .prepare(
        'DELETE FROM notifications WHERE id IN (SELECT id FROM notifications WHERE seen = 1 ORDER BY id LIMIT ?)',
      )
      .run(excess).changes;
    if (seen < excess)
      this.#db
        .prepare('DELETE FROM notifications WHERE id IN (SELECT id FROM notifications ORDER BY id LIMIT ?)')
        .run(excess - seen);
  }

  /** Marks the given notifications seen, or all of them. Returns how many changed. */
  markSeen(ids: number[] | 'all'): number {
    const changes =
      ids === 'all'
        ? this.#db.prepare('UPDATE notifications SET seen = 1 WHERE seen = 0').run().changes
        : this.#db.transaction(() =>
            ids.reduce(
              (sum, id) =>
                sum +
                this.#db.prepare('UPDATE notifications SET seen = 1 WHERE id = ? AND seen = 0').run(id)
                  .changes,
              0,
            ),
          )();
    this.publish();
    return changes;
  }

  remove(id: number): void {
    if (this.#db.prepare('DELETE FROM notifications WHERE id = ?').run(id).changes === 0) {
      throw new NotFound('notification', String(id), { hint: 'notification.list shows them' });
    }
    this.publish();
  }

  /** Writes the newest notifications and the unseen count into the state document. */
  publish(): void {
    const recent = this.list({ unseenOnly: false, limit: IN_STATE });
    const { unseen } = this.#db
      .prepare('SELECT count(*) AS unseen FROM notifications WHERE seen = 0')
      .get() as {
      unseen: number;
    };
    const items = Object.fromEntries(recent.map((n) => [String(n.id), n as unknown as Json]));
    this.#state.set(['notifications'], { unseen, items });
  }
}
