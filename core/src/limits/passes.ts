/**
 * A domain's reconcile passes, one at a time: a call while one runs asks for one more after
 * it (calls during a pass coalesce into that one) and answers when the last is done. Once
 * stopped, no pass starts. The loop of the pattern (ARCHITECTURE.md) in one place.
 */
export class Passes {
  readonly #pass: () => Promise<void>;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = false;

  constructor(pass: () => Promise<void>) {
    this.#pass = pass;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs a pass now, or one more after the one under way. */
  run(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = (async () => {
      try {
        do {
          this.#again = false;
          if (!this.#stopped) await this.#pass();
        } while (this.#again && !this.#stopped);
      } finally {
        this.#running = undefined;
      }
    })();
    return this.#running;
  }

  /** Settles when no pass runs (a failed one included). */
  idle(): Promise<void> {
    return this.#running?.catch(() => {}) ?? Promise.resolve();
  }

  /** No pass starts from now; waits for the one under way. */
  stop(): Promise<void> {
    this.#stopped = true;
    return this.idle();
  }
}
