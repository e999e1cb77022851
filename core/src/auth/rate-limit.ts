import { RateLimited } from '../errors.ts';

export interface LimiterOptions {
  maxFailures: number;
  windowMs: number;
  now?: () => number;
  /** At most this many addresses are tracked; the stalest are forgotten first. */
  maxAddresses?: number;
}

/**
 * Failed-login limit per client address: after `maxFailures` failures within the window,
 * further attempts are refused until the oldest failure leaves the window.
 */
export class FailureLimiter {
  readonly #failures = new Map<string, number[]>();
  readonly #o: Required<LimiterOptions>;

  constructor(options: LimiterOptions) {
    this.#o = { now: Date.now, maxAddresses: 10_000, ...options };
  }

  /** Throws RateLimited when `address` has used up its attempts. */
  check(address: string): void {
    const recent = this.#recent(address);
    if (recent.length >= this.#o.maxFailures) {
      const retryMs = recent[0]! + this.#o.windowMs - this.#o.now();
      throw new RateLimited(Math.max(1, Math.ceil(retryMs / 1000)));
    }
  }

  fail(address: string): void {
    const recent = this.#recent(address);
    recent.push(this.#o.now());
    this.#failures.delete(address);
    this.#failures.set(address, recent);
    if (this.#failures.size > this.#o.maxAddresses) {
      this.#failures.delete(this.#failures.keys().next().value!);
    }
  }

  succeed(address: string): void {
    this.#failures.delete(address);
  }

  #recent(address: string): number[] {
    const since = this.#o.now() - this.#o.windowMs;
    return (this.#failures.get(address) ?? []).filter((t) => t > since);
  }
}
