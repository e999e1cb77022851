import { AlreadySetUp } from '../auth/access.ts';
import type { Auth, NewSession } from '../auth/auth.ts';
import { checkPasswordStrength } from '../auth/passwords.ts';
import type { Progress } from '../calls.ts';
import type { Disks } from '../disks/disks.ts';
import { Conflict, InvalidParams } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';
import type { StateDocument } from '../state/state-doc.ts';
import { type System, storeHostname } from '../system/system.ts';
import { VERSION } from '../version.ts';
import { describeReset, type FactoryReset, type ResetPlan } from './reset.ts';

export interface SetupOptions {
  db: Db;
  auth: Auth;
  system: System;
  state: StateDocument;
  disks: Disks;
  /**
   * Starts the daemon again in place, on the data drive, once the current call has been
   * answered: called when the state has moved.
   */
  relaunch: () => void;
  /** The factory reset: asked for here, carried out at the next start. */
  reset: FactoryReset;
  /** The packages installed now, for what a reset would erase. */
  installed: () => { id: string; title: string }[];
  log: Logger;
}

export interface SetupInput {
  hostname: string;
  password: string;
  /** The drive to keep the box's data on (`disk.list`); without it, the data stays where it is. */
  dataDrive?: string | undefined;
  erase?: boolean | undefined;
  attach?: boolean | undefined;
}

export interface SetupClient {
  address: string;
  userAgent: string;
  progress?: ((p: Progress) => void) | undefined;
}

/**
 * The first-run wizard's box side. Until it has run, the box is in setup mode and
 * answers only public and setup methods. (Restoring from a backup extends `execute` in
 * its own issue.)
 */
export class Setup {
  readonly #o: SetupOptions;
  /** A data drive is being prepared (or the daemon is about to start again on it). */
  #moving = false;

  constructor(options: SetupOptions) {
    this.#o = options;
  }

  status() {
    return { setupComplete: this.#o.auth.isSetUp, hostname: this.#o.system.hostname, version: VERSION };
  }

  async execute(input: SetupInput, client: SetupClient): Promise<NewSession> {
    if (this.#o.auth.isSetUp) throw new AlreadySetUp();
    if (this.#moving) throw new Conflict('setup is already under way, moving the data to the chosen drive');
    if (input.dataDrive === undefined) {
      if (input.erase || input.attach) throw new InvalidParams('erase and attach go with a dataDrive');
      return this.#finishHere(input, client);
    }
    checkPasswordStrength(input.password);
    this.#moving = true;
    try {
      // The drive is checked before the slow password hash, so a refusal comes at once.
      const plan = await this.#o.disks.plan({
        dataDrive: input.dataDrive,
        erase: input.erase,
        attach: input.attach,
      });
      if (plan.kind === 'in-place') {
        this.#moving = false;
        return await this.#finishHere(input, client);
      }
      const hash = await this.#o.auth.hash(input.password);
      const session = await this.#o.disks.moveState(plan, {
        db: this.#o.db,
        progress: (p) => client.progress?.(p),
        finish: (target) => {
          const auth = this.#o.auth.withDatabase(target);
          storeHostname(target, input.hostname);
          auth.setPasswordHash(hash);
          // An attached drive's logins were made with its old password; its API tokens stay.
          if (plan.kind === 'attach') target.prepare('DELETE FROM sessions').run();
          return auth.createSession(client);
        },
      });
      this.#o.log.info('setup finished', {
        hostname: input.hostname,
        dataDrive: input.dataDrive,
        how: plan.kind,
      });
      // #moving stays set: this daemon answers nothing more of setup before it starts again.
      this.#o.relaunch();
      return session;
    } catch (e) {
      this.#moving = false;
      throw e;
    }
  }

  /** What a factory reset would erase on this box now, and what it keeps. */
  async resetPlan(): Promise<ResetPlan> {
    const count = (table: string) =>
      (this.#o.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return describeReset({
      packages: this.#o.installed(),
      sessions: count('sessions'),
      tokens: count('api_tokens'),
      secondFactor: this.#o.auth.secondFactorStatus().enabled,
      auditEntries: count('audit'),
      notifications: count('notifications'),
      dataDrive: await this.#o.disks.driveInUse(),
    });
  }

  /**
   * Returns the box to setup mode: the reset is written down, then the daemon starts again
   * in place (once this call is answered) and erases everything before it opens anything.
   */
  async factoryReset(by: string): Promise<ResetPlan> {
    const plan = await this.resetPlan();
    this.#o.reset.request(by);
    this.#o.relaunch();
    return plan;
  }

  /** Setup with the data where it is now. */
  async #finishHere(input: SetupInput, client: SetupClient): Promise<NewSession> {
    const hash = await this.#o.auth.hash(input.password);
    // Hashing took a while: a second wizard may have finished meanwhile.
    this.#o.db.transaction(() => {
      if (this.#o.auth.isSetUp || this.#moving) throw new AlreadySetUp();
      this.#o.system.setHostname(input.hostname);
      this.#o.auth.setPasswordHash(hash);
    })();
    this.#o.state.set(['server', 'setupComplete'], true);
    this.#o.log.info('setup finished', { hostname: input.hostname });
    return this.#o.auth.createSession({ address: client.address, userAgent: client.userAgent });
  }
}
