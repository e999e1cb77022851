import { HearthError, RateLimited } from '../errors.ts';
import { addressKey } from '../limits/address-key.ts';
import { Buckets } from '../limits/buckets.ts';
import type { Caller } from './registry.ts';

export interface CallLimitsOptions {
  /** Calls a minute for each credential (an API token, a login session), on every surface. */
  perCredential: number;
  /** Calls a minute for each client address calling without a credential. */
  perAnonymousAddress: number;
  now?: () => number;
}

/** Requests in one JSON-RPC batch. */
export const MAX_BATCH = 100;

export class BatchTooLarge extends HearthError {
  constructor(size: number) {
    super('batch_too_large', `a batch may hold at most ${MAX_BATCH} requests, and this one has ${size}`, {
      hint: 'split it into smaller batches',
      data: { max: MAX_BATCH },
    });
  }
}

export class AnswerTooLarge extends HearthError {
  constructor(limit: number) {
    super('answer_too_large', `the answers to this batch would be larger than ${limit} bytes`, {
      hint: 'ask for less in one batch: split it, or page through results',
    });
  }
}

const MINUTE = 60_000;

/**
 * How many calls a caller may make, counted in one place (the Dispatcher) for every
 * surface, so one token has one budget over JSON-RPC, the WebSocket and MCP. Callers
 * without a credential are counted by address (an IPv6 /64 as one); root's local
 * socket is not counted.
 */
export class CallLimits {
  readonly #credentials: Buckets;
  readonly #anonymous: Buckets;
  readonly #o: CallLimitsOptions;

  constructor(o: CallLimitsOptions) {
    this.#o = o;
    const now = o.now ? { now: o.now } : {};
    this.#credentials = new Buckets({
      capacity: o.perCredential,
      refillMs: MINUTE / o.perCredential,
      ...now,
    });
    this.#anonymous = new Buckets({
      capacity: o.perAnonymousAddress,
      refillMs: MINUTE / o.perAnonymousAddress,
      ...now,
    });
  }

  /** Counts one call, or throws RateLimited saying how long to wait. */
  take(caller: Caller, address: string): void {
    const budget = this.#budgetOf(caller, address);
    if (budget) this.#refuse(budget.buckets.take(budget.key), budget);
  }

  /**
   * Throws RateLimited when the caller has nothing left, taking nothing: a request can be
   * refused at the door, before its body is even read, so a flood costs next to nothing.
   */
  check(caller: Caller, address: string): void {
    const budget = this.#budgetOf(caller, address);
    if (!budget) return;
    const left = budget.buckets.available(budget.key);
    if (left < 1) this.#refuse(Math.ceil((1 - left) * (MINUTE / budget.perMinute)), budget);
  }

  #budgetOf(caller: Caller, address: string) {
    if (caller.kind === 'local') return undefined;
    return caller.kind === 'anonymous'
      ? {
          buckets: this.#anonymous,
          key: addressKey(address),
          perMinute: this.#o.perAnonymousAddress,
          who: 'address without logging in',
        }
      : {
          buckets: this.#credentials,
          key: `${caller.kind}:${caller.id}`,
          perMinute: this.#o.perCredential,
          who: caller.kind === 'token' ? 'API token' : 'login session',
        };
  }

  #refuse(waitMs: number, budget: { perMinute: number; who: string }): void {
    if (waitMs <= 0) return;
    throw new RateLimited(Math.ceil(waitMs / 1000), {
      hint: `this box allows ${budget.perMinute} calls a minute per ${budget.who}: wait, then go on`,
    });
  }

  prune(): void {
    this.#credentials.prune();
    this.#anonymous.prune();
  }
}
