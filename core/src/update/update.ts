import type { Progress } from '../calls.ts';
import { Conflict, HearthError } from '../errors.ts';
import type { Events } from '../events/events.ts';
import type { BootSlots } from '../host/boot-slots.ts';
import type { UpdateEngine } from '../host/rauc.ts';
import type { Logger } from '../log/log.ts';
import type { Notifications } from '../notifications/notifications.ts';
import type { UpdateState } from '../state/shape.ts';
import type { StateDocument } from '../state/state-doc.ts';
import type { FileSource } from '../uploads/uploads.ts';
import { type ExecutorContext, execute } from './executors.ts';
import { type Platform, parseFeed, pickRelease } from './feed.ts';
import { type Observed, type Outcome, planUpdate, type Slot, type Source } from './plan.ts';
import { type UpdateRecord, UpdateRows } from './rows.ts';

/*
 * OS updates (ARCHITECTURE.md "OS updates"): check the signed feed, apply a bundle to the
 * idle slot, set it as a trial, reboot when asked, bless or report the fallback. Each
 * operation writes the row first and then runs the planner's steps; `pass()` runs the
 * same loop at start and on a timer, so whatever a kill cut short goes on from its phase.
 */

export interface UpdateOptions {
  db: ConstructorParameters<typeof UpdateRows>[0];
  state: StateDocument;
  events: Events;
  notifications: Notifications;
  engine: UpdateEngine;
  slots: BootSlots;
  open: (source: FileSource, progress: (p: Progress) => void) => Promise<{ file: string }>;
  fetchFeed: (url: string) => Promise<Buffer>;
  reboot: (tryboot: boolean) => Promise<void>;
  feedUrl: string;
  feedKeys: readonly string[];
  platform: Platform;
  version: string;
  /** Where a fetched bundle is kept until it is written (on the data drive). */
  bundle: string;
  scratch: string;
  log: Logger;
  now?: () => number;
}

export type ApplySource = { feed: true; version?: string } | { upload: string } | { path: string };

export class UpdateService {
  readonly #o: UpdateOptions;
  readonly #rows: UpdateRows;
  #running: Promise<unknown> = Promise.resolve();
  #checkError: string | null = null;

  constructor(o: UpdateOptions) {
    this.#o = o;
    this.#rows = new UpdateRows(o.db);
  }

  get supported(): boolean {
    return this.#o.engine.available() && this.#o.slots.booted() !== null;
  }

  status(): UpdateState {
    const r = this.#rows.get();
    return {
      supported: this.supported,
      version: this.#o.version,
      slot: this.#o.slots.booted(),
      phase: r.phase,
      applying: r.phase === 'idle' ? null : r.version,
      available: r.available
        ? { version: r.available.version, size: r.available.size, notes: r.available.notes }
        : null,
      checkedAt: r.checkedAt,
      checkError: this.#checkError,
      last: r.last,
    };
  }

  publish(): void {
    this.#o.state.set(['update'], this.status() as never);
  }

  /** Reads the feed; an update newer than what runs becomes a notification (once per version). */
  async check(): Promise<UpdateState> {
    const { feedUrl, feedKeys, platform, version } = this.#o;
    if (!feedUrl) {
      throw new HearthError('invalid_setting', 'no update feed is set', {
        hint: 'set updateFeedUrl (and updateFeedKeys) in the box’s settings, or apply a bundle from a file',
      });
    }
    const before = this.#rows.get();
    try {
      const feed = parseFeed(await this.#o.fetchFeed(feedUrl), {
        trustedKeys: feedKeys,
        ...(before.feedSequence !== null ? { lastSequence: before.feedSequence } : {}),
      });
      const release = pickRelease(feed, { platform, current: version });
      this.#rows.checked({ at: this.#now(), sequence: feed.sequence, available: release });
      this.#checkError = null;
      if (release && release.version !== before.available?.version) {
        this.#o.notifications.create({
          level: 'info',
          title: `Hearth ${release.version} is available`,
          message: release.notes || `An update from ${version} to ${release.version} is ready to apply.`,
          source: 'update',
        });
      }
    } catch (e) {
      this.#checkError = e instanceof Error ? e.message : String(e);
      this.publish();
      throw e;
    }
    this.publish();
    return this.status();
  }

  /** Applies a bundle: written to the idle slot and set as a trial; the reboot follows if asked. */
  async apply(
    source: ApplySource,
    o: { allowDowngrade?: boolean; reboot?: boolean; progress?: (p: Progress) => void } = {},
  ): Promise<UpdateState> {
    const booted = this.#o.slots.booted();
    if (!this.#o.engine.available() || !booted) {
      throw new HearthError(
        'update_refused',
        'this system cannot be updated in place (it is not a Hearth image with A/B slots)',
        {
          data: { reason: 'unsupported' },
        },
      );
    }
    const r = this.#rows.get();
    if (r.phase !== 'idle' && r.phase !== 'trial')
      throw new Conflict(`an update to ${r.version ?? 'a new version'} is under way`);
    if (r.phase === 'trial' && r.fromSlot !== booted)
      throw new Conflict('the box is on trial with a new version; wait until it is blessed');
    let planned: { source: Source; version: string | null };
    if ('feed' in source) {
      await this.check();
      const feed = this.#rows.get().available;
      const wanted = source.version ?? feed?.version;
      if (!feed || !wanted || feed.version !== wanted) {
        throw new HearthError(
          'update_refused',
          source.version ? `the feed has no ${source.version} for this box` : 'no newer version in the feed',
          {
            data: { reason: 'not_in_feed' },
          },
        );
      }
      const url = new URL(feed.bundle, this.#o.feedUrl).href;
      planned = {
        source: { kind: 'feed', url, sha256: feed.sha256, size: feed.size },
        version: feed.version,
      };
    } else {
      planned = {
        source:
          'upload' in source ? { kind: 'upload', id: source.upload } : { kind: 'path', path: source.path },
        version: null,
      };
    }
    this.#rows.begin({
      ...planned,
      allowDowngrade: o.allowDowngrade ?? false,
      rebootWhenReady: o.reboot ?? false,
      fromSlot: booted,
      fromVersion: this.#o.version,
      at: this.#now(),
    });
    this.publish();
    try {
      await this.#serial(() => this.#pass(o.progress ?? (() => {})));
    } catch (e) {
      this.#finish('failed', e instanceof Error ? e.message : String(e));
      this.#o.slots.remove(this.#o.bundle);
      this.#o.slots.removePending();
      throw e;
    }
    return this.status();
  }

  /** Reboots into a trial that is set (the owner's "restart now"). */
  async reboot(): Promise<UpdateState> {
    const r = this.#rows.get();
    if (r.phase !== 'trial' || r.fromSlot !== this.#o.slots.booted()) {
      throw new Conflict('no update is waiting for a restart');
    }
    this.#rows.setReboot({ whenReady: true });
    await this.#serial(() => this.#pass(() => {}));
    return this.status();
  }

  /** One observe → plan → act pass (at start, on a timer): finishes what a kill cut short, blesses, reports a fallback. */
  pass(): Promise<void> {
    if (!this.supported) return Promise.resolve();
    return this.#serial(() => this.#pass(() => {})).catch((error) => {
      const r = this.#rows.get();
      this.#o.log.warn('update pass failed', { error, phase: r.phase });
      // An apply that cannot go on is over: say so, and leave the booted slot as it is.
      if (r.phase !== 'idle' && r.phase !== 'trial')
        this.#finish('failed', error instanceof Error ? error.message : String(error));
    });
  }

  async #pass(progress: (p: Progress) => void): Promise<void> {
    const row = this.#rows.get();
    const observed = await this.#observe(row);
    const steps = planUpdate(row, observed);
    const c: ExecutorContext = {
      rows: this.#rows,
      engine: this.#o.engine,
      slots: this.#o.slots,
      open: this.#o.open,
      platform: this.#o.platform,
      currentVersion: this.#o.version,
      bundle: this.#o.bundle,
      scratch: this.#o.scratch,
      reboot: this.#o.reboot,
      finish: (outcome, error) => this.#finish(outcome, error),
      progress,
      log: this.#o.log,
    };
    for (const step of steps) {
      await execute(step, c);
      this.publish();
    }
  }

  async #observe(row: UpdateRecord): Promise<Observed> {
    const { slots, engine } = this.#o;
    const booted = slots.booted() as Slot;
    const status = row.phase === 'trial' ? await engine.status() : null;
    const state = (s: Slot) => {
      const slot = status?.slots.find((x) => x.bootname === s);
      return slot?.bootStatus ?? 'empty';
    };
    const source = row.source;
    return {
      booted,
      bootId: slots.bootId(),
      slots: { A: state('A'), B: state('B') },
      bundlePresent: slots.exists(source?.kind === 'path' ? source.path : this.#o.bundle),
      apiAnswering: slots.answering(),
    };
  }

  #finish(outcome: Outcome, error: string | null): void {
    const version = this.#rows.get().version;
    this.#rows.finish({ outcome, version, error, at: this.#now() });
    this.#o.events.record({ kind: 'os-update', detail: { outcome, version, error } });
    const titles: Record<Outcome, string> = {
      updated: `Hearth was updated to ${version}`,
      'fell-back': `The update to Hearth ${version} failed; the box went back`,
      failed: `The update to Hearth ${version ?? ''} failed`.replace('  ', ' '),
    };
    this.#o.notifications.create({
      level: outcome === 'updated' ? 'success' : 'error',
      title: titles[outcome],
      message: error ?? `The box now runs Hearth ${version}.`,
      source: 'update',
    });
    this.publish();
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const next = this.#running.then(f, f);
    this.#running = next.catch(() => {});
    return next;
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}
