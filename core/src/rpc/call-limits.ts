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
    if (caller.kind === 'local') return;
    const [buckets, key, perMinute, who] =
      caller.kind === 'anonymous'
        ? [this.#anonymous, addressKey(address), this.#o.perAnonymousAddress, 'address without logging in']
        : [
            this.#credentials,
            `${caller.kind}:${caller.id}`,
            this.#o.perCredential,
            caller.kind === 'token' ? 'API token' : 'login session',
          ];
    const wait = buckets.take(key);
    if (wait > 0) {
      throw new RateLimited(Math.ceil(wait / 1000), {
        hint: `this box allows ${perMinute} calls a minute per ${who}: wait, then go on`,
      });
    }
  }

  prune(): void {
    this.#credentials.prune();
    this.#anonymous.prune();
  }
}
