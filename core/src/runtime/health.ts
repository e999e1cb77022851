import type { HealthCheck } from '#sdk/manifest.ts';
import { DEFAULT_PATH } from './daemons.ts';
import { afterProbe, type CheckState, type HealthStatus, nextProbeDelay, startCheck } from './plan.ts';
import { runProbe } from './probes.ts';

export interface CheckResult {
  checkId: string;
  status: HealthStatus;
  message: string;
  at: number;
}

export interface HealthOptions {
  checks: readonly HealthCheck[];
  /** How long failures before the first success still count as starting. */
  graceMs: number;
  /** Called on every status change (and once with `starting` for each check). */
  onChange: (result: CheckResult) => void;
  now?: () => number;
}

/**
 * Runs the manifest's health checks on the schedule plan.ts decides, one probe at a
 * time per check, and reports status changes.
 */
export class Health {
  readonly #o: Required<HealthOptions>;
  readonly #states = new Map<string, CheckState>();
  readonly #timers = new Map<string, NodeJS.Timeout>();
  readonly #probing = new Set<string>();
  #stopped = false;

  constructor(options: HealthOptions) {
    this.#o = { now: Date.now, ...options };
  }

  start(): void {
    const now = this.#o.now();
    for (const check of this.#o.checks) {
      const state = startCheck(now);
      this.#states.set(check.id, state);
      this.#o.onChange(this.#result(check.id, state));
      void this.#probe(check);
    }
  }

  /**
   * Probes every check now rather than at its next turn (a daemon just died: a healthy
   * check may not look again for half a minute). A check already probing is left to it.
   */
  recheck(): void {
    if (this.#stopped) return;
    for (const check of this.#o.checks) {
      if (!this.#states.has(check.id) || this.#probing.has(check.id)) continue;
      clearTimeout(this.#timers.get(check.id));
      void this.#probe(check);
    }
  }

  results(): CheckResult[] {
    return [...this.#states].map(([id, state]) => this.#result(id, state));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
  }

  #result(checkId: string, s: CheckState): CheckResult {
    return { checkId, status: s.status, message: s.message, at: s.at };
  }

  async #probe(check: HealthCheck): Promise<void> {
    if (this.#stopped) return;
    this.#probing.add(check.id);
    const outcome = await runProbe(check, check.timeoutSeconds * 1000, { PATH: DEFAULT_PATH }).finally(() =>
      this.#probing.delete(check.id),
    );
    if (this.#stopped) return;
    const { state, changed } = afterProbe(
      this.#states.get(check.id)!,
      outcome,
      this.#o.now(),
      this.#o.graceMs,
    );
    this.#states.set(check.id, state);
    if (changed) this.#o.onChange(this.#result(check.id, state));
    this.#timers.set(
      check.id,
      setTimeout(() => void this.#probe(check), nextProbeDelay(state, check.intervals)),
    );
  }
}
