import { RateLimited } from '../errors.ts';
import { addressKey } from '../limits/address-key.ts';
import { Buckets } from '../limits/buckets.ts';

export interface LoginLimiterOptions {
  /** Failed attempts one address may make at once… */
  perAddress: number;
  /** …which come back, all of them, over this long (one every windowMs / perAddress). */
  windowMs: number;
  /** Failed attempts from every address together before the account slows down… */
  accountBurst: number;
  /** …to one attempt this often. */
  accountIntervalMs: number;
  now?: () => number;
}

/** One password check under way: it counted before it began; a success gives it back. */
export interface LoginAttempt {
  succeeded(): void;
}

const ACCOUNT = 'account';

/**
 * Password guessing limits, for every call that checks the owner's password (login,
 * password change, turning off the second factor), on every surface.
 *
 * An attempt counts when it begins, before the slow password check, so parallel calls
 * and a batch of logins are refused like attempts one after the other. Per address:
 * `perAddress` attempts, then one every `windowMs / perAddress`. For the account, from
 * all addresses together (an attacker with many addresses): `accountBurst`, then one
 * every `accountIntervalMs` — a slow-down, never a lockout: an address that holds a
 * live session (the owner's own devices) is not slowed by it, existing sessions and
 * root's local cookie never go through here, and a success gives its attempt back.
 */
export class LoginLimiter {
  readonly #address: Buckets;
  readonly #account: Buckets;

  constructor(o: LoginLimiterOptions) {
    this.#address = new Buckets({
      capacity: o.perAddress,
      refillMs: o.windowMs / o.perAddress,
      ...(o.now ? { now: o.now } : {}),
    });
    this.#account = new Buckets({
      capacity: o.accountBurst,
      refillMs: o.accountIntervalMs,
      ...(o.now ? { now: o.now } : {}),
    });
  }

  /**
   * Counts an attempt from `address`, or throws RateLimited saying how long to wait.
   * `trusted` is asked only when the account is slowed down.
   */
  begin(address: string, trusted: () => boolean): LoginAttempt {
    const key = addressKey(address);
    const wait = this.#address.take(key);
    if (wait > 0) throw limited(wait, 'from your address');
    let onAccount = false;
    const accountWait = this.#account.take(ACCOUNT);
    if (accountWait === 0) onAccount = true;
    else if (!trusted()) {
      this.#address.refund(key);
      throw limited(accountWait, 'on this box from many addresses');
    }
    let settled = false;
    return {
      succeeded: () => {
        if (settled) return;
        settled = true;
        this.#address.reset(key);
        if (onAccount) this.#account.refund(ACCOUNT);
      },
    };
  }

  prune(): void {
    this.#address.prune();
    this.#account.prune();
  }
}

function limited(waitMs: number, where: string): RateLimited {
  return new RateLimited(Math.ceil(waitMs / 1000), {
    hint: `there were too many wrong passwords ${where}; wait, then try again (existing sessions keep working)`,
  });
}
