import { Conflict, HearthError } from '../errors.ts';
import type { Db } from '../state/db.ts';
import { hashSecret } from './secrets.ts';
import { matchTotp, newRecoveryCode, newTotpSecret, normalizeRecoveryCode, otpauthUri } from './totp.ts';

const RECOVERY_CODES = 10;

export class SecondFactorRequired extends HearthError {
  constructor() {
    super('second_factor_required', 'this box asks for a code from your authenticator app as well', {
      hint: 'send the six-digit code (or one of your recovery codes) as `code` with the password',
    });
  }
}

export class WrongCode extends HearthError {
  constructor() {
    super('wrong_code', 'that code is not right, or was used already', {
      hint: 'type the code your authenticator app shows now; a recovery code works once',
    });
  }
}

export interface SecondFactorStatus {
  enabled: boolean;
  /** Enrolment begun and waiting for its first code. */
  pending: boolean;
  recoveryCodesLeft: number;
}

/** How a code was accepted. */
export type CodeKind = 'totp' | 'recovery';

/**
 * The owner's optional second factor: a TOTP secret shared with an authenticator app,
 * and one-time recovery codes (only their hashes are kept) for when the phone is lost or
 * its clock — or the box's — is wrong. A TOTP code is taken once: a step already used
 * is refused.
 */
export class SecondFactor {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(o: { db: Db; now: () => number }) {
    this.#db = o.db;
    this.#now = o.now;
  }

  status(): SecondFactorStatus {
    const row = this.#row();
    const left = this.#db.prepare('SELECT count(*) AS n FROM recovery_codes WHERE used_at IS NULL').get() as {
      n: number;
    };
    return {
      enabled: row?.enabled_at != null,
      pending: row !== undefined && row.enabled_at == null,
      recoveryCodesLeft: left.n,
    };
  }

  get enabled(): boolean {
    return this.#row()?.enabled_at != null;
  }

  /** Starts enrolment: a new secret, shown once, that takes effect with its first code. */
  begin(account: string): { secret: string; uri: string } {
    if (this.enabled) {
      throw new Conflict('the second factor is on already', {
        hint: 'turn it off first (auth.totp.disable) to enrol another app',
      });
    }
    const secret = newTotpSecret();
    this.#db
      .prepare(
        `INSERT INTO totp (id, secret, created_at, enabled_at, last_step) VALUES (1, ?, ?, NULL, -1)
         ON CONFLICT (id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at,
           enabled_at = NULL, last_step = -1`,
      )
      .run(secret, this.#now());
    return { secret, uri: otpauthUri(secret, account) };
  }

  /** Finishes enrolment with a first code from the app; answers the recovery codes, once. */
  confirm(code: string): string[] {
    const row = this.#row();
    if (!row || row.enabled_at != null) {
      throw new Conflict(row ? 'the second factor is on already' : 'there is no enrolment to confirm', {
        hint: 'start with auth.totp.begin',
      });
    }
    const step = matchTotp(row.secret, code.trim(), this.#now());
    if (step === undefined) throw new WrongCode();
    return this.#db.transaction(() => {
      this.#db.prepare('UPDATE totp SET enabled_at = ?, last_step = ? WHERE id = 1').run(this.#now(), step);
      return this.#newRecoveryCodes();
    })();
  }

  /**
   * Checks a code at login: a TOTP code of a step not used yet, or an unused recovery
   * code (which is used up). Undefined when it is neither.
   */
  verify(code: string): CodeKind | undefined {
    const row = this.#row();
    if (!row || row.enabled_at == null) return undefined;
    const step = matchTotp(row.secret, code.trim(), this.#now());
    if (step !== undefined) {
      // Only one login per step: a code seen (or shoulder-surfed) cannot be played again.
      const taken = this.#db
        .prepare('UPDATE totp SET last_step = ? WHERE id = 1 AND last_step < ?')
        .run(step, step);
      return taken.changes === 1 ? 'totp' : undefined;
    }
    const recovery = normalizeRecoveryCode(code);
    if (!recovery) return undefined;
    const used = this.#db
      .prepare('UPDATE recovery_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL')
      .run(this.#now(), hashSecret(recovery));
    return used.changes === 1 ? 'recovery' : undefined;
  }

  /** New recovery codes; the old ones stop working. */
  regenerate(): string[] {
    if (!this.enabled)
      throw new Conflict('the second factor is off', { hint: 'turn it on first (auth.totp.begin)' });
    return this.#db.transaction(() => this.#newRecoveryCodes())();
  }

  /** Turns the second factor off: the secret and every recovery code are deleted. */
  disable(): void {
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM totp').run();
      this.#db.prepare('DELETE FROM recovery_codes').run();
    })();
  }

  #newRecoveryCodes(): string[] {
    this.#db.prepare('DELETE FROM recovery_codes').run();
    const insert = this.#db.prepare('INSERT INTO recovery_codes (code_hash, created_at) VALUES (?, ?)');
    const codes = Array.from({ length: RECOVERY_CODES }, newRecoveryCode);
    for (const c of codes) insert.run(hashSecret(c), this.#now());
    return codes;
  }

  #row(): { secret: string; enabled_at: number | null; last_step: number } | undefined {
    return this.#db.prepare('SELECT secret, enabled_at, last_step FROM totp WHERE id = 1').get() as
      | { secret: string; enabled_at: number | null; last_step: number }
      | undefined;
  }
}
