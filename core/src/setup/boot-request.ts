import type { Auth } from '../auth/auth.ts';
import { takeBootFile, writeBootFile } from '../host/boot-partition.ts';
import type { Logger } from '../log/log.ts';
import type { Notifications } from '../notifications/notifications.ts';
import type { FactoryReset } from './reset.ts';

/** The file the owner leaves on the boot partition; read once at start, and deleted. */
export const REQUEST_FILE = 'hearth-recovery.txt';
/** What the box did with it, for the owner to read on the same partition. */
export const RESULT_FILE = 'hearth-recovery-result.txt';
const MAX_BYTES = 4096;

export interface BootRequest {
  /** A new owner's password (the second factor goes off, sessions end). */
  newPassword?: string;
  /** Erase everything and start in setup mode (setup/reset.ts). */
  factoryReset: boolean;
}

/**
 * Reads what the owner wrote: `name = value` lines, `#` comments, blank lines.
 *
 * @example
 * parseBootRequest('new-password = a long passphrase\n') // { newPassword: 'a long passphrase', factoryReset: false }
 */
export function parseBootRequest(text: string): BootRequest | { error: string } {
  const request: BootRequest = { factoryReset: false };
  for (const raw of text.replace(/^\uFEFF/, '').split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) return { error: `"${line.slice(0, 40)}" is not "name = value"` };
    const name = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (name === 'new-password') request.newPassword = value;
    else if (name === 'factory-reset') {
      if (!['yes', 'no'].includes(value.toLowerCase())) return { error: 'factory-reset must be yes or no' };
      request.factoryReset = value.toLowerCase() === 'yes';
    } else return { error: `unknown setting "${name.slice(0, 40)}" (new-password or factory-reset)` };
  }
  if (request.newPassword === undefined && !request.factoryReset) {
    return { error: 'it asks for nothing: write "new-password = …" or "factory-reset = yes"' };
  }
  return request;
}

/**
 * Takes the owner's request from the boot partition (read once, then deleted: see
 * host/boot-partition.ts). Undefined when there is none; an error to report when there is
 * one that cannot be used.
 */
export function takeBootRequest(dir: string): BootRequest | { error: string } | undefined {
  const found = takeBootFile(dir, REQUEST_FILE, MAX_BYTES);
  if (!found) return undefined;
  return 'error' in found ? found : parseBootRequest(found.text);
}

/** Leaves the owner a note on the boot partition saying what was done. */
export function writeBootResult(dir: string, lines: string[], now: number): void {
  const text = [`Hearth, ${new Date(now).toISOString()}:`, ...lines.map((l) => `- ${l}`), ''].join('\n');
  writeBootFile(dir, RESULT_FILE, text.replace(/\n/g, '\r\n'));
}

/**
 * Recovery by physical access, at start: a request found on the boot partition is carried
 * out in two steps — a factory reset before anything opens (`take`), a new password once
 * the accounts are there (`finish`) — and a note says what was done.
 */
export class BootRecovery {
  readonly #dir: string;
  readonly #request: BootRequest | undefined;
  readonly #log: Logger;
  readonly #results: string[] = [];

  private constructor(dir: string, request: BootRequest | undefined, log: Logger) {
    this.#dir = dir;
    this.#request = request;
    this.#log = log;
  }

  /** Takes the request (if any) and asks `reset` for a factory reset when it says so. */
  static take(dir: string, reset: FactoryReset, log: Logger): BootRecovery | undefined {
    const found = takeBootRequest(dir);
    if (!found) return undefined;
    const recovery = new BootRecovery(dir, 'error' in found ? undefined : found, log);
    if ('error' in found) {
      log.warn('a recovery request on the boot partition was not used', { error: found.error });
      recovery.#results.push(`nothing was done: ${found.error}`);
    } else if (found.factoryReset) {
      reset.request('a request on the boot partition');
      recovery.#results.push(
        'the box was reset to factory settings: everything was erased; it is in setup mode',
      );
    }
    return recovery;
  }

  /** Sets the new password, if asked, and leaves the note. */
  async finish(auth: Auth, notifications: Notifications): Promise<void> {
    const password = this.#request?.newPassword;
    if (password !== undefined) this.#results.push(await this.#resetPassword(auth, notifications, password));
    try {
      writeBootResult(this.#dir, this.#results, Date.now());
    } catch (error) {
      this.#log.warn('could not write the recovery note on the boot partition', { error });
    }
  }

  async #resetPassword(auth: Auth, notifications: Notifications, password: string): Promise<string> {
    if (!auth.isSetUp) return 'the password was not set: this box is not set up yet (open it in a browser)';
    try {
      await auth.resetPassword(password);
    } catch (error) {
      this.#log.warn('the password on the boot partition was refused', { error: (error as Error).message });
      return `the password was not changed: ${(error as Error).message}`;
    }
    notifications.create({
      level: 'warning',
      title: 'The password was reset from the boot partition',
      message:
        'Someone with the box in hand set a new owner’s password; the second factor is off and every session ' +
        'ended. If it was not you, check who has access to the box.',
      source: 'auth',
    });
    return 'the owner’s password was reset; the second factor is off and every login session ended (API tokens still work)';
  }
}
