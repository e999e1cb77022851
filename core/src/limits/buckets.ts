/**
 * Token buckets by key: each key may take `capacity` at once, and gets them back at a
 * steady rate. A full bucket is forgotten (it holds nothing worth keeping), so memory
 * grows only with the keys that are spending; past `maxKeys` the least recently used
 * one is forgotten first.
 */
export interface BucketsOptions {
  capacity: number;
  /** How long one token takes to come back. */
  refillMs: number;
  maxKeys?: number;
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class Buckets {
  readonly #o: Required<BucketsOptions>;
  readonly #buckets = new Map<string, Bucket>();

  constructor(options: BucketsOptions) {
    this.#o = { maxKeys: 10_000, now: Date.now, ...options };
  }

  get capacity(): number {
    return this.#o.capacity;
  }

  /** Takes `n` tokens of `key`: 0 when they were there, else how many ms until they are. */
  take(key: string, n = 1): number {
    const b = this.#current(key);
    if (b.tokens >= n) {
      b.tokens -= n;
      this.#store(key, b);
      return 0;
    }
    return Math.max(1, Math.ceil((n - b.tokens) * this.#o.refillMs));
  }

  /** Gives back `n` tokens (an attempt that turned out not to count). */
  refund(key: string, n = 1): void {
    const b = this.#current(key);
    b.tokens = Math.min(this.#o.capacity, b.tokens + n);
    this.#store(key, b);
  }

  /** Fills `key`'s bucket again. */
  reset(key: string): void {
    this.#buckets.delete(key);
  }

  /** How many tokens `key` has now. */
  available(key: string): number {
    return this.#current(key).tokens;
  }

  /** Forgets buckets that have filled up again. */
  prune(): void {
    for (const key of [...this.#buckets.keys()]) this.#store(key, this.#current(key));
  }

  get size(): number {
    return this.#buckets.size;
  }

  #current(key: string): Bucket {
    const now = this.#o.now();
    const b = this.#buckets.get(key);
    if (!b) return { tokens: this.#o.capacity, at: now };
    const tokens = Math.min(this.#o.capacity, b.tokens + (now - b.at) / this.#o.refillMs);
    return { tokens, at: now };
  }

  #store(key: string, b: Bucket): void {
    this.#buckets.delete(key);
    if (b.tokens >= this.#o.capacity) return;
    this.#buckets.set(key, b);
    if (this.#buckets.size > this.#o.maxKeys) this.#buckets.delete(this.#buckets.keys().next().value!);
  }
}
