import type { Identity, Scope } from '../calls.ts';
import { Conflict, HearthError, NotFound, Unauthorized } from '../errors.ts';
import { Gate } from '../limits/gate.ts';
import type { Logger } from '../log/log.ts';
import { cachedStatement, type Db } from '../state/db.ts';
import {
  checkPasswordStrength,
  DEFAULT_KDF,
  hashPassword,
  type KdfParams,
  verifyPassword,
} from './passwords.ts';
import type { LoginAttempt, LoginLimiter } from './rate-limit.ts';
import {
  type CodeKind,
  SecondFactor,
  SecondFactorRequired,
  type SecondFactorStatus,
  WrongCode,
} from './second-factor.ts';
import { hashSecret, newId, newSecret, PREFIX, safeEqual } from './secrets.ts';

export interface Credentials {
  /** The `Authorization: Bearer` value. */
  bearer?: string | undefined;
  /** The `hearth_session` cookie. */
  cookie?: string | undefined;
}

export interface NewSession {
  id: string;
  token: string;
  expiresAt: number;
}

export interface SessionInfo {
  id: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
  address: string;
  userAgent: string;
  current: boolean;
}

export interface TokenInfo {
  id: string;
  name: string;
  scope: Scope;
  createdAt: number;
  lastUsedAt: number | null;
}

export class InvalidToken extends HearthError {
  constructor(what: string) {
    super('invalid_token', `the ${what} you sent is not valid (revoked, expired or mistyped)`, {
      hint: 'log in again, or create a new API token',
    });
  }
}

/** Why the owner's password is being checked. */
type PasswordCheck = 'login' | 'change';

export class WrongPassword extends HearthError {
  constructor(check: PasswordCheck) {
    super('wrong_password', `${check === 'login' ? 'that password' : 'the current password'} is not right`, {
      hint: 'check the password; after five wrong ones, you can try once every 12 seconds',
    });
  }
}

export interface AuthOptions {
  db: Db;
  log: Logger;
  limiter: LoginLimiter;
  sessionDays: number;
  /** The secret of root's local cookie file (see local-cookie.ts). */
  localSecret: string;
  kdf?: KdfParams;
  now?: () => number;
}

const DAY = 86_400_000;
// A session's last-seen time is written at most once a minute: reads stay read-only.
const TOUCH_EVERY_MS = 60_000;
// Password checks at once: each takes 64 MiB (argon2id), and a burst must not take the box's memory.
const CHECKS_AT_ONCE = 2;

/** The owner's password, login sessions and API tokens. */
export class Auth {
  readonly #o: AuthOptions & { now: () => number; kdf: KdfParams };
  readonly #checks = new Gate(CHECKS_AT_ONCE);
  readonly #endedListeners = new Set<() => void>();
  readonly #second: SecondFactor;
  #setUp: boolean;

  constructor(options: AuthOptions) {
    this.#o = { now: Date.now, kdf: DEFAULT_KDF, ...options };
    this.#second = new SecondFactor({ db: this.#o.db, now: this.#o.now });
    this.#setUp = this.#o.db.prepare('SELECT 1 FROM account WHERE id = 1').get() !== undefined;
  }

  /** The same rules over another database: the data drive's, before it becomes the box's. */
  withDatabase(db: Db): Auth {
    return new Auth({ ...this.#o, db });
  }

  /**
   * Calls `listener` after sessions or tokens have ended (logout, kill, revoke, password
   * change, expiry), so open streams can check their credential again. Returns an unsubscribe.
   */
  onCredentialsEnded(listener: () => void): () => void {
    this.#endedListeners.add(listener);
    return () => this.#endedListeners.delete(listener);
  }

  #credentialsEnded(): void {
    for (const l of this.#endedListeners) {
      try {
        l();
      } catch (error) {
        this.#o.log.error('a listener for ended credentials failed', { error });
      }
    }
  }

  /** Setup mode lasts until the first password is set. */
  get isSetUp(): boolean {
    return this.#setUp;
  }

  /** Hashes a password for `setPasswordHash`; slow (argon2id), so do it before a transaction. */
  async hash(password: string): Promise<string> {
    checkPasswordStrength(password);
    return hashPassword(password, this.#o.kdf);
  }

  /** Sets the owner's password (inside the caller's transaction, if any). */
  setPasswordHash(hash: string): void {
    const now = this.#o.now();
    this.#o.db
      .prepare(
        `INSERT INTO account (id, password_hash, created_at, updated_at) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET password_hash = excluded.password_hash, updated_at = excluded.updated_at`,
      )
      .run(hash, now, now);
    this.#setUp = true;
  }

  /**
   * Logs the owner in. With the second factor on, `code` (from the authenticator app, or
   * a recovery code) must come too: without it the right password answers
   * second_factor_required; a wrong code counts as a wrong password does.
   */
  async login(
    password: string,
    client: { address: string; userAgent: string },
    code?: string,
  ): Promise<NewSession & { codeKind?: CodeKind }> {
    const attempt = await this.#checkPassword(password, client.address, 'login');
    let codeKind: CodeKind | undefined;
    if (this.#second.enabled) {
      if (code === undefined) {
        attempt.succeeded();
        throw new SecondFactorRequired();
      }
      codeKind = this.#second.verify(code);
      if (!codeKind) {
        this.#o.log.warn('failed login: wrong second-factor code', { address: client.address });
        throw new WrongCode();
      }
      if (codeKind === 'recovery')
        this.#o.log.warn('logged in with a recovery code', { address: client.address });
    }
    attempt.succeeded();
    return { ...this.createSession(client), ...(codeKind ? { codeKind } : {}) };
  }

  secondFactorStatus(): SecondFactorStatus {
    return this.#second.status();
  }

  /** Starts enrolling an authenticator app: its secret and otpauth URI, shown once. */
  beginSecondFactor(account: string): { secret: string; uri: string } {
    return this.#second.begin(account);
  }

  /** Turns the second factor on with a first code from the app; answers the recovery codes. */
  confirmSecondFactor(code: string): string[] {
    return this.#second.confirm(code);
  }

  /** Turns it off: it takes the password (limited like a login), not only a session. */
  async disableSecondFactor(password: string, address: string): Promise<void> {
    (await this.#checkPassword(password, address, 'change')).succeeded();
    this.#second.disable();
  }

  async regenerateRecoveryCodes(password: string, address: string): Promise<string[]> {
    (await this.#checkPassword(password, address, 'change')).succeeded();
    return this.#second.regenerate();
  }

  /**
   * Checks the owner's password under the guessing limits (LoginLimiter): the attempt
   * counts before the check, and only the caller knows when the whole login succeeded.
   */
  async #checkPassword(password: string, address: string, check: PasswordCheck): Promise<LoginAttempt> {
    const attempt = this.#o.limiter.begin(address, () => this.#hasLiveSession(address));
    const row = this.#o.db.prepare('SELECT password_hash FROM account WHERE id = 1').get() as
      | { password_hash: string }
      | undefined;
    const right =
      row !== undefined && (await this.#checks.run(() => verifyPassword(password, row.password_hash)));
    if (!right) {
      this.#o.log.warn(check === 'login' ? 'failed login' : 'wrong current password', { address });
      throw new WrongPassword(check);
    }
    return attempt;
  }

  #hasLiveSession(address: string): boolean {
    return (
      this.#o.db
        .prepare('SELECT 1 FROM sessions WHERE address = ? AND expires_at > ? LIMIT 1')
        .get(address, this.#o.now()) !== undefined
    );
  }

  createSession(client: { address: string; userAgent: string }): NewSession {
    const now = this.#o.now();
    const session = {
      id: newId(),
      token: newSecret(PREFIX.session),
      expiresAt: now + this.#o.sessionDays * DAY,
    };
    this.#o.db
      .prepare(
        `INSERT INTO sessions (id, token_hash, created_at, last_seen_at, expires_at, address, user_agent)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        session.id,
        hashSecret(session.token),
        now,
        now,
        session.expiresAt,
        client.address,
        client.userAgent.slice(0, 300),
      );
    return session;
  }

  /** Works out who presented `creds`. Never throws: a bad credential is reported in `error`. */
  identify(creds: Credentials): Identity {
    const bearer = creds.bearer;
    if (bearer) {
      if (bearer.startsWith(PREFIX.local)) {
        return safeEqual(bearer, this.#o.localSecret)
          ? { caller: { kind: 'local' }, viaCookie: false }
          : anonymous(new InvalidToken('local cookie'));
      }
      if (bearer.startsWith(PREFIX.token)) {
        const token = this.#findToken(bearer);
        return token
          ? {
              caller: { kind: 'token', id: token.id, name: token.name, scope: token.scope },
              viaCookie: false,
            }
          : anonymous(new InvalidToken('API token'));
      }
      if (bearer.startsWith(PREFIX.session)) {
        const id = this.#findSession(bearer);
        return id
          ? { caller: { kind: 'session', id }, viaCookie: false }
          : anonymous(new InvalidToken('session'));
      }
      return anonymous(new InvalidToken('bearer token'));
    }
    if (creds.cookie) {
      const id = this.#findSession(creds.cookie);
      return id
        ? { caller: { kind: 'session', id }, viaCookie: true }
        : anonymous(new Unauthorized('your session has ended — log in again'));
    }
    return { caller: { kind: 'anonymous' }, viaCookie: false };
  }

  /**
   * Who a caller known by id is now: the same caller while its session or token lives
   * (with the token's current name and scope), anonymous once it has ended.
   */
  identifyCaller(caller: { kind: 'session' | 'token' | 'local'; id?: string }): Identity {
    if (caller.kind === 'local') return { caller: { kind: 'local' }, viaCookie: false };
    if (caller.kind === 'session') {
      const alive = this.#o.db
        .prepare('SELECT 1 FROM sessions WHERE id = ? AND expires_at > ?')
        .get(caller.id, this.#o.now());
      return alive
        ? { caller: { kind: 'session', id: caller.id! }, viaCookie: false }
        : { caller: { kind: 'anonymous' }, viaCookie: false };
    }
    const row = this.#o.db.prepare('SELECT id, name, scope FROM api_tokens WHERE id = ?').get(caller.id) as
      | { id: string; name: string; scope: Scope }
      | undefined;
    return row
      ? { caller: { kind: 'token', id: row.id, name: row.name, scope: row.scope }, viaCookie: false }
      : { caller: { kind: 'anonymous' }, viaCookie: false };
  }

  logout(sessionId: string): void {
    this.#o.db.prepare('DELETE FROM sessions WHERE id = ?').run(sessionId);
    this.#credentialsEnded();
  }

  listSessions(currentId: string | undefined): SessionInfo[] {
    const rows = this.#o.db
      .prepare(
        `SELECT id, created_at, last_seen_at, expires_at, address, user_agent FROM sessions
         WHERE expires_at > ? ORDER BY last_seen_at DESC`,
      )
      .all(this.#o.now()) as {
      id: string;
      created_at: number;
      last_seen_at: number;
      expires_at: number;
      address: string;
      user_agent: string;
    }[];
    return rows.map((r) => ({
      id: r.id,
      createdAt: r.created_at,
      lastSeenAt: r.last_seen_at,
      expiresAt: r.expires_at,
      address: r.address,
      userAgent: r.user_agent,
      current: r.id === currentId,
    }));
  }

  killSession(id: string): void {
    if (this.#o.db.prepare('DELETE FROM sessions WHERE id = ?').run(id).changes === 0) {
      throw new NotFound('session', id, { hint: 'auth.session.list shows the sessions' });
    }
    this.#credentialsEnded();
  }

  /** Changes the password and ends every session but `keepSessionId`. */
  async changePassword(
    current: string,
    next: string,
    keepSessionId: string | undefined,
    address: string,
  ): Promise<void> {
    // Guessing the current password with a stolen session is limited like a login.
    const attempt = await this.#checkPassword(current, address, 'change');
    attempt.succeeded();
    if (current === next) throw new Conflict('the new password is the same as the current one');
    const hash = await this.hash(next);
    this.#o.db.transaction(() => {
      this.setPasswordHash(hash);
      this.#o.db.prepare('DELETE FROM sessions WHERE id IS NOT ?').run(keepSessionId ?? null);
    })();
    this.#credentialsEnded();
  }

  /**
   * Sets a new password without the old one — for someone with the box in hand (its
   * console, its boot partition). The second factor goes too (its phone may be the thing
   * that was lost), and every login session ends; API tokens stay.
   */
  async resetPassword(next: string): Promise<void> {
    const hash = await this.hash(next);
    this.#o.db.transaction(() => {
      this.setPasswordHash(hash);
      this.#o.db.prepare('DELETE FROM sessions').run();
      this.#second.disable();
    })();
    this.#o.log.warn('the owner’s password was reset; the second factor is off and every session ended');
    this.#credentialsEnded();
  }

  createToken(name: string, scope: Scope): TokenInfo & { token: string } {
    const token = newSecret(PREFIX.token);
    const info: TokenInfo = { id: newId(), name, scope, createdAt: this.#o.now(), lastUsedAt: null };
    this.#o.db
      .prepare('INSERT INTO api_tokens (id, name, scope, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(info.id, name, scope, hashSecret(token), info.createdAt);
    return { ...info, token };
  }

  listTokens(): TokenInfo[] {
    const rows = this.#o.db
      .prepare('SELECT id, name, scope, created_at, last_used_at FROM api_tokens ORDER BY created_at')
      .all() as { id: string; name: string; scope: Scope; created_at: number; last_used_at: number | null }[];
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      scope: r.scope,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
    }));
  }

  revokeToken(id: string): void {
    if (this.#o.db.prepare('DELETE FROM api_tokens WHERE id = ?').run(id).changes === 0) {
      throw new NotFound('API token', id, { hint: 'auth.token.list shows the tokens' });
    }
    this.#credentialsEnded();
  }

  /** Deletes expired sessions. */
  prune(): void {
    this.#o.limiter.prune();
    if (this.#o.db.prepare('DELETE FROM sessions WHERE expires_at <= ?').run(this.#o.now()).changes > 0) {
      this.#credentialsEnded();
    }
  }

  #findSession(token: string): string | undefined {
    const now = this.#o.now();
    const row = cachedStatement(
      this.#o.db,
      'SELECT id, last_seen_at, expires_at FROM sessions WHERE token_hash = ?',
    ).get(hashSecret(token)) as { id: string; last_seen_at: number; expires_at: number } | undefined;
    if (!row || row.expires_at <= now) return undefined;
    if (now - row.last_seen_at > TOUCH_EVERY_MS) {
      this.#o.db
        .prepare('UPDATE sessions SET last_seen_at = ?, expires_at = ? WHERE id = ?')
        .run(now, now + this.#o.sessionDays * DAY, row.id);
    }
    return row.id;
  }

  #findToken(token: string): { id: string; name: string; scope: Scope } | undefined {
    const row = cachedStatement(
      this.#o.db,
      'SELECT id, name, scope, last_used_at FROM api_tokens WHERE secret_hash = ?',
    ).get(hashSecret(token)) as
      | { id: string; name: string; scope: Scope; last_used_at: number | null }
      | undefined;
    if (!row) return undefined;
    const now = this.#o.now();
    if (row.last_used_at === null || now - row.last_used_at > TOUCH_EVERY_MS) {
      this.#o.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now, row.id);
    }
    return { id: row.id, name: row.name, scope: row.scope };
  }
}

const anonymous = (error: HearthError): Identity => ({
  caller: { kind: 'anonymous' },
  viaCookie: false,
  error,
});
