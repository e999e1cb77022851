import { Conflict, InvalidParams, NotFound, Unavailable } from '../errors.ts';
import type { Events } from '../events/events.ts';
import { LoginUserMissing, type SshHost } from '../host/ssh.ts';
import { Passes } from '../limits/passes.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';
import { execute } from './executors.ts';
import { BadPublicKey, cleanComment, parsePublicKey } from './keys.ts';
import { plan } from './plan.ts';
import { type SshKeyRow, SshKeyRows } from './rows.ts';

/*
 * SSH for the owner: keys added and removed (a row, written first), and the loop — observe,
 * plan, act — writes the login user's authorized_keys and runs sshd while a key exists.
 */

export const MAX_KEYS = 50;

export interface SshKeyView {
  fingerprint: string;
  type: string;
  name: string;
  createdAt: number;
}

export interface SshStatus {
  user: string;
  /** sshd runs (null: the daemon does not manage it here). */
  running: boolean | null;
  keys: SshKeyView[];
  hostKeys: { type: string; fingerprint: string }[];
  lastError: string | null;
}

export interface SshServiceOptions {
  db: Db;
  host: SshHost;
  user: string;
  events: Events;
  log: Logger;
  now?: () => number;
}

const view = (r: SshKeyRow): SshKeyView => ({
  fingerprint: r.fingerprint,
  type: r.type,
  name: r.name,
  createdAt: r.createdAt,
});

export class SshService {
  readonly rows: SshKeyRows;
  readonly #o: SshServiceOptions;
  readonly #passes = new Passes(() => this.#passOnce());
  #lastError: string | null = null;
  #running: boolean | null = null;

  constructor(o: SshServiceOptions) {
    this.#o = o;
    this.rows = new SshKeyRows(o.db);
  }

  async add(line: string, name?: string): Promise<SshKeyView> {
    let key: ReturnType<typeof parsePublicKey>;
    try {
      key = parsePublicKey(line);
      if (name !== undefined) name = cleanComment(name);
    } catch (error) {
      if (error instanceof BadPublicKey)
        throw new InvalidParams(error.message, { hint: 'paste the .pub file, e.g. ~/.ssh/id_ed25519.pub' });
      throw error;
    }
    if (this.rows.find(key.fingerprint)) throw new Conflict(`the key ${key.fingerprint} is already added`);
    if (this.rows.list().length >= MAX_KEYS)
      throw new Conflict(`the box takes at most ${MAX_KEYS} SSH keys: remove one first`);
    const row: SshKeyRow = {
      fingerprint: key.fingerprint,
      type: key.type,
      blob: key.blob,
      name: name ?? key.comment,
      createdAt: (this.#o.now ?? Date.now)(),
    };
    this.rows.insert(row);
    await this.#apply();
    return view(row);
  }

  async remove(fingerprint: string): Promise<{ removed: string }> {
    if (!this.rows.remove(fingerprint))
      throw new NotFound('SSH key', fingerprint, { hint: 'ssh.key.list lists them' });
    await this.#apply();
    return { removed: fingerprint };
  }

  async status(): Promise<SshStatus> {
    return {
      user: this.#o.user,
      running: this.#running,
      keys: this.rows.list().map(view),
      hostKeys: this.hostKeys(),
      lastError: this.#lastError,
    };
  }

  /** The host keys' fingerprints, for the owner to compare with what ssh asks about. */
  hostKeys(): { type: string; fingerprint: string }[] {
    return this.#o.host.hostKeys().flatMap(({ file, line }) => {
      try {
        const k = parsePublicKey(line.split(/\s+/).slice(0, 2).join(' '));
        return [{ type: k.type, fingerprint: k.fingerprint }];
      } catch (error) {
        this.#o.log.warn('unreadable host key', { file, error });
        return [];
      }
    });
  }

  /** A pass whose failure a request reports to its caller. */
  async #apply(): Promise<void> {
    await this.reconcile();
    if (this.#lastError) {
      throw new Unavailable(`the key is saved, but SSH could not be updated: ${this.#lastError}`);
    }
  }

  /** One observe → plan → act pass; passes never overlap. */
  reconcile(): Promise<void> {
    return this.#passes.run();
  }

  async #passOnce(): Promise<void> {
    const { host, log, events } = this.#o;
    this.#lastError = null;
    try {
      const observed = { authorizedKeys: host.readAuthorizedKeys(), sshdActive: await host.sshdActive() };
      this.#running = observed.sshdActive;
      for (const step of plan(this.rows.list(), observed)) {
        await execute(step, host);
        if (step.kind !== 'write-keys') this.#running = step.kind === 'start-sshd';
        events.record({ kind: 'reconciled', detail: { what: 'ssh', step: step.kind } });
      }
    } catch (error) {
      this.#lastError =
        error instanceof LoginUserMissing || error instanceof Error ? error.message : String(error);
      log.warn('ssh pass failed', { error });
      events.record({ kind: 'failed', detail: { what: 'ssh', message: this.#lastError } });
    }
  }

  idle(): Promise<void> {
    return this.#passes.idle();
  }
}
