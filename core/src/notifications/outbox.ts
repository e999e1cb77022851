/**
 * Deliveries waiting to leave the box: bounded in number, a few at a time, tried again
 * after a growing pause when a try fails in a way that may heal. In memory only: a
 * restart drops what waits (and says how much in the log).
 */

export type Outcome = { ok: true; detail: string } | { ok: false; error: unknown; attempts: number };

export interface OutboxOptions<J> {
  /** One try; resolves with what the other side said, throws why it failed. */
  attempt: (job: J, signal: AbortSignal) => Promise<string>;
  /** Whether a failure may heal by itself (a timeout), or is final (a refused password). */
  permanent: (error: unknown) => boolean;
  /** Called once per job: delivered, or given up on. Must not throw. */
  settled: (job: J, outcome: Outcome) => void;
  /** Called for a job that found the outbox full (or closed). Must not throw. */
  dropped: (job: J) => void;
  /** The pauses before each retry: their number is the number of retries. */
  retryDelaysMs: readonly number[];
  /** Jobs held at once: waiting, waiting to retry and under way. */
  maxJobs: number;
  /** Tries under way at once. */
  concurrency: number;
}

interface Entry<J> {
  job: J;
  attempts: number;
}

export class Outbox<J> {
  readonly #o: OutboxOptions<J>;
  readonly #ready: Entry<J>[] = [];
  readonly #retrying = new Map<NodeJS.Timeout, Entry<J>>();
  readonly #running = new Set<AbortController>();
  #idle: (() => void)[] = [];
  #closed = false;

  constructor(options: OutboxOptions<J>) {
    this.#o = options;
  }

  /** Jobs held now. */
  get size(): number {
    return this.#ready.length + this.#retrying.size + this.#running.size;
  }

  /**
   * Takes a job, or drops it when the outbox is full. Never does the work itself: the
   * first try starts on a later turn of the event loop, so a caller is never held up.
   */
  push(job: J): boolean {
    if (this.#closed || this.size >= this.#o.maxJobs) {
      this.#o.dropped(job);
      return false;
    }
    this.#ready.push({ job, attempts: 0 });
    setImmediate(() => this.#pump());
    return true;
  }

  /** Resolves once nothing is held (for tests and a clean stop). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Stops: no more tries, the ones under way are cancelled and given `graceMs` to end.
   * Answers how many jobs were left undelivered.
   */
  async close(graceMs: number): Promise<number> {
    this.#closed = true;
    const left = this.size;
    for (const timer of this.#retrying.keys()) clearTimeout(timer);
    this.#retrying.clear();
    this.#ready.length = 0;
    for (const c of this.#running) c.abort();
    if (this.#running.size > 0) {
      await Promise.race([this.idle(), new Promise((r) => setTimeout(r, graceMs).unref())]);
    }
    return left;
  }

  #pump(): void {
    while (!this.#closed && this.#running.size < this.#o.concurrency && this.#ready.length > 0) {
      void this.#try(this.#ready.shift()!);
    }
    if (this.size === 0) {
      const waiting = this.#idle;
      this.#idle = [];
      for (const wake of waiting) wake();
    }
  }

  async #try(entry: Entry<J>): Promise<void> {
    const controller = new AbortController();
    this.#running.add(controller);
    entry.attempts += 1;
    let outcome: Outcome;
    try {
      outcome = { ok: true, detail: await this.#o.attempt(entry.job, controller.signal) };
    } catch (error) {
      outcome = { ok: false, error, attempts: entry.attempts };
    }
    this.#running.delete(controller);
    // Stopping: what was under way is dropped with the rest, not blamed on its receiver.
    if (!this.#closed) {
      const delay = this.#o.retryDelaysMs[entry.attempts - 1];
      if (!outcome.ok && delay !== undefined && !this.#o.permanent(outcome.error)) {
        const timer = setTimeout(() => {
          this.#retrying.delete(timer);
          this.#ready.push(entry);
          this.#pump();
        }, delay);
        timer.unref();
        this.#retrying.set(timer, entry);
      } else {
        this.#o.settled(entry.job, outcome);
      }
    }
    this.#pump();
  }
}
