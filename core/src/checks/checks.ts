import { HearthError, NotFound } from '../errors.ts';
import type { EventKind, Events } from '../events/events.ts';
import type { Logger } from '../log/log.ts';
import type { Notifications } from '../notifications/notifications.ts';
import type { Json } from '../state/json-patch.ts';
import type { StateDocument } from '../state/state-doc.ts';

export type Severity = 'warning' | 'error';

/** Something a check found wrong, in plain words, with what may help. */
export interface Finding {
  /** The check that found it. */
  check: string;
  /** What it is about: a package id, a drive…; null for the box as a whole. */
  subject: string | null;
  /** The package it is about, if any (its events are listed with the package's). */
  package?: string;
  severity: Severity;
  message: string;
  hint?: string;
  /** A fixup that may repair it (server.fixup.run). */
  fixup?: string;
  /** When it was first found (ms); it stays the same while the finding lasts. */
  since: number;
}

export type Draft = Omit<Finding, 'check' | 'since'>;

export interface Fixup {
  id: string;
  /** What it does, for a button or a confirmation: "Stop the package". */
  title: string;
  /** Does it, for one subject; answers what it did in a sentence. */
  run(subject: string | null): Promise<string>;
}

export interface Check {
  id: string;
  /** What it looks at: "Free space on the data drive". */
  title: string;
  /** The findings (none when all is well), or 'unknown' when it cannot tell (no such hardware…). */
  run(): Promise<Draft[] | { unknown: string }>;
  fixups?: Fixup[];
}

export type CheckStatus = 'ok' | 'failing' | 'unknown' | 'not-run';

export interface CheckResult {
  id: string;
  title: string;
  status: CheckStatus;
  /** Why it could not tell, when unknown (the check itself threw, or said so). */
  reason?: string;
  lastRun: number | null;
  findings: Finding[];
  fixups: { id: string; title: string }[];
}

export interface ChecksOptions {
  events: Events;
  notifications: Notifications;
  state: StateDocument;
  log: Logger;
  /** A check that takes longer is cut off and unknown. */
  timeoutMs?: number;
  now?: () => number;
}

const key = (f: { check: string; subject: string | null }) => `${f.check}\u0000${f.subject ?? ''}`;

/**
 * The box's checks and their fixups (Home Assistant Supervisor's resolution center is the
 * model): small functions that look at one thing — free space, the data drive, a package
 * in a crash loop, the clock — and say what is wrong in plain words. They run at start,
 * every `checkIntervalSeconds`, and when asked; a new finding is an event and a
 * notification (which the owner's channels carry off the box), one that goes away an
 * event. Domains register their own (certificates, backups: see hooks.ts).
 */
export class Checks {
  readonly #o: Required<ChecksOptions>;
  readonly #checks = new Map<string, Check>();
  readonly #results = new Map<string, CheckResult>();
  /** The open findings, by check and subject. */
  readonly #open = new Map<string, Finding>();
  readonly #running = new Map<string, Promise<CheckResult>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(options: ChecksOptions) {
    this.#o = { timeoutMs: 30_000, now: Date.now, ...options };
  }

  register(check: Check): void {
    if (this.#checks.has(check.id)) throw new Error(`check ${check.id} is registered twice`);
    this.#checks.set(check.id, check);
    this.#results.set(check.id, {
      id: check.id,
      title: check.title,
      status: 'not-run',
      lastRun: null,
      findings: [],
      fixups: (check.fixups ?? []).map((f) => ({ id: f.id, title: f.title })),
    });
  }

  list(): CheckResult[] {
    return [...this.#results.values()];
  }

  /** Every open finding, errors first. */
  findings(): Finding[] {
    return [...this.#open.values()].sort((a, b) =>
      a.severity === b.severity ? a.since - b.since : a.severity === 'error' ? -1 : 1,
    );
  }

  /** Runs every check (concurrently), or the one named. */
  async run(id?: string): Promise<CheckResult[]> {
    if (id !== undefined && !this.#checks.has(id)) {
      throw new NotFound('check', id, { hint: 'server.check.list names them' });
    }
    const ids = id === undefined ? [...this.#checks.keys()] : [id];
    return Promise.all(ids.map((i) => this.#runOne(i)));
  }

  /** Runs a fixup for one finding's subject, then that check again. */
  async fix(fixupId: string, subject: string | null): Promise<{ did: string; check: CheckResult }> {
    for (const check of this.#checks.values()) {
      const fixup = check.fixups?.find((f) => f.id === fixupId);
      if (!fixup) continue;
      const finding = this.#open.get(key({ check: check.id, subject }));
      if (!finding || finding.fixup !== fixupId) {
        throw new HearthError('nothing_to_fix', `${check.title}: nothing for '${fixupId}' to fix here`, {
          hint: 'server.check.list shows the findings and the fixups each offers',
          data: { fixup: fixupId, subject },
        });
      }
      const did = await fixup.run(subject);
      this.#o.log.info('fixup ran', { fixup: fixupId, subject, did });
      const [result] = await this.run(check.id);
      return { did, check: result! };
    }
    throw new NotFound('fixup', fixupId, { hint: 'server.check.list names each check’s fixups' });
  }

  /** Runs every check now and then every `intervalMs`. */
  start(intervalMs: number): void {
    void this.run();
    this.#timer = setInterval(() => void this.run(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Resolves when no check is running (for a clean stop). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()]);
  }

  #runOne(id: string): Promise<CheckResult> {
    // A check asked for while it runs joins that run.
    const running = this.#running.get(id);
    if (running) return running;
    const run = this.#evaluate(id).finally(() => this.#running.delete(id));
    this.#running.set(id, run);
    return run;
  }

  async #evaluate(id: string): Promise<CheckResult> {
    const check = this.#checks.get(id)!;
    let outcome: Draft[] | { unknown: string };
    let timer: NodeJS.Timeout | undefined;
    try {
      outcome = await Promise.race([
        check.run(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer in ${this.#o.timeoutMs / 1000} s`)),
            this.#o.timeoutMs,
          );
        }),
      ]);
    } catch (e) {
      this.#o.log.warn('check could not run', { check: id, error: e });
      outcome = { unknown: e instanceof Error ? e.message : String(e) };
    } finally {
      clearTimeout(timer);
    }
    const now = this.#o.now();
    const previous = this.#results.get(id)!;
    // Unknown keeps what was found before: not knowing is no reason to call it fixed.
    const findings = Array.isArray(outcome)
      ? outcome.map((d) => {
          const f: Finding = { ...d, check: id, since: now };
          const open = this.#open.get(key(f));
          return open ? { ...f, since: open.since } : f;
        })
      : previous.findings;
    if (Array.isArray(outcome)) this.#settle(check, previous.findings, findings);
    const result: CheckResult = {
      ...previous,
      status: !Array.isArray(outcome) ? 'unknown' : findings.length > 0 ? 'failing' : 'ok',
      ...(Array.isArray(outcome) ? {} : { reason: outcome.unknown }),
      lastRun: now,
      findings,
    };
    if (Array.isArray(outcome)) delete result.reason;
    this.#results.set(id, result);
    this.#o.state.set(['checks', id], result as unknown as Json);
    return result;
  }

  /** Opens what is new (event, notification), closes what is gone (event). */
  #settle(check: Check, before: readonly Finding[], now: readonly Finding[]): void {
    const was = new Map(before.map((f) => [key(f), f]));
    const is = new Map(now.map((f) => [key(f), f]));
    for (const [k, f] of is) {
      const old = was.get(k);
      this.#open.set(k, f);
      if (old && old.severity === f.severity) continue;
      this.#event('check-failing', f);
      this.#o.notifications.create({
        level: f.severity,
        title: `${check.title}: ${f.severity === 'error' ? 'needs attention' : 'worth a look'}`,
        message: f.hint ? `${f.message}. ${f.hint}.` : `${f.message}.`,
        source: `check:${check.id}`,
      });
    }
    for (const [k, f] of was) {
      if (is.has(k)) continue;
      this.#open.delete(k);
      this.#event('check-resolved', f);
    }
  }

  #event(kind: EventKind, f: Finding): void {
    this.#o.events.record({
      kind,
      package: f.package ?? null,
      detail: { check: f.check, subject: f.subject, severity: f.severity, message: f.message },
    });
  }
}
