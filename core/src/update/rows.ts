import type { Db } from '../state/db.ts';
import type { Release } from './feed.ts';
import type { Outcome, Phase, Slot, Source, UpdateRow } from './plan.ts';

/** The one row of `os_update`: the apply's desired state and how far it got, plus what the owner reads. */
export interface UpdateRecord extends UpdateRow {
  startedAt: number | null;
  feedSequence: number | null;
  checkedAt: number | null;
  available: Release | null;
  last: { outcome: Outcome; version: string | null; error: string | null; at: number } | null;
}

interface Raw {
  phase: Phase;
  version: string | null;
  source: string | null;
  allow_downgrade: number;
  reboot_when_ready: number;
  from_slot: Slot | null;
  from_version: string | null;
  reboot_requested_in: string | null;
  started_at: number | null;
  feed_sequence: number | null;
  checked_at: number | null;
  available: string | null;
  last_outcome: Outcome | null;
  last_version: string | null;
  last_error: string | null;
  last_at: number | null;
}

export class UpdateRows {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  get(): UpdateRecord {
    const r = this.#db.prepare('SELECT * FROM os_update WHERE id = 1').get() as Raw;
    return {
      phase: r.phase,
      version: r.version,
      source: r.source ? (JSON.parse(r.source) as Source) : null,
      allowDowngrade: r.allow_downgrade === 1,
      rebootWhenReady: r.reboot_when_ready === 1,
      fromSlot: r.from_slot,
      fromVersion: r.from_version,
      rebootRequestedIn: r.reboot_requested_in,
      startedAt: r.started_at,
      feedSequence: r.feed_sequence,
      checkedAt: r.checked_at,
      available: r.available ? (JSON.parse(r.available) as Release) : null,
      last:
        r.last_outcome && r.last_at !== null
          ? { outcome: r.last_outcome, version: r.last_version, error: r.last_error, at: r.last_at }
          : null,
    };
  }

  /** An apply begins: written before anything is fetched or touched. */
  begin(o: {
    version: string | null;
    source: Source;
    allowDowngrade: boolean;
    rebootWhenReady: boolean;
    fromSlot: Slot;
    fromVersion: string;
    at: number;
  }): void {
    this.#db
      .prepare(
        `UPDATE os_update SET phase = 'downloading', version = ?, source = ?, allow_downgrade = ?,
           reboot_when_ready = ?, from_slot = ?, from_version = ?, reboot_requested_in = NULL, started_at = ?
         WHERE id = 1`,
      )
      .run(
        o.version,
        JSON.stringify(o.source),
        o.allowDowngrade ? 1 : 0,
        o.rebootWhenReady ? 1 : 0,
        o.fromSlot,
        o.fromVersion,
        o.at,
      );
  }

  setPhase(phase: Phase): void {
    this.#db.prepare('UPDATE os_update SET phase = ? WHERE id = 1').run(phase);
  }

  setVersion(version: string): void {
    this.#db.prepare('UPDATE os_update SET version = ? WHERE id = 1').run(version);
  }

  setReboot(o: { whenReady?: boolean; requestedIn?: string }): void {
    if (o.whenReady !== undefined) {
      this.#db.prepare('UPDATE os_update SET reboot_when_ready = ? WHERE id = 1').run(o.whenReady ? 1 : 0);
    }
    if (o.requestedIn !== undefined) {
      this.#db.prepare('UPDATE os_update SET reboot_requested_in = ? WHERE id = 1').run(o.requestedIn);
    }
  }

  checked(o: { at: number; sequence: number; available: Release | null }): void {
    this.#db
      .prepare('UPDATE os_update SET checked_at = ?, feed_sequence = ?, available = ? WHERE id = 1')
      .run(o.at, o.sequence, o.available ? JSON.stringify(o.available) : null);
  }

  /** The apply is over, one way or the other: back to idle with its outcome. */
  finish(o: { outcome: Outcome; version: string | null; error: string | null; at: number }): void {
    this.#db
      .prepare(
        `UPDATE os_update SET phase = 'idle', source = NULL, reboot_when_ready = 0, reboot_requested_in = NULL,
           last_outcome = ?, last_version = ?, last_error = ?, last_at = ?,
           available = CASE WHEN ? = 'updated' THEN NULL ELSE available END
         WHERE id = 1`,
      )
      .run(o.outcome, o.version, o.error, o.at, o.outcome);
  }
}
