import { AlreadySetUp } from '../auth/access.ts';
import type { Auth, NewSession } from '../auth/auth.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';
import type { StateDocument } from '../state/state-doc.ts';
import type { System } from '../system/system.ts';
import { VERSION } from '../version.ts';

export interface SetupOptions {
  db: Db;
  auth: Auth;
  system: System;
  state: StateDocument;
  log: Logger;
}

/**
 * The first-run wizard's box side. Until it has run, the box is in setup mode and
 * answers only public and setup methods. (Choosing the data drive and restoring from a
 * backup extend `execute` in their own issues.)
 */
export class Setup {
  readonly #o: SetupOptions;

  constructor(options: SetupOptions) {
    this.#o = options;
  }

  status() {
    return { setupComplete: this.#o.auth.isSetUp, hostname: this.#o.system.hostname, version: VERSION };
  }

  async execute(
    input: { hostname: string; password: string },
    client: { address: string; userAgent: string },
  ): Promise<NewSession> {
    if (this.#o.auth.isSetUp) throw new AlreadySetUp();
    const hash = await this.#o.auth.hash(input.password);
    // Hashing took a while: a second wizard may have finished meanwhile.
    this.#o.db.transaction(() => {
      if (this.#o.auth.isSetUp) throw new AlreadySetUp();
      this.#o.system.setHostname(input.hostname);
      this.#o.auth.setPasswordHash(hash);
    })();
    this.#o.state.set(['server', 'setupComplete'], true);
    this.#o.log.info('setup finished', { hostname: input.hostname });
    return this.#o.auth.createSession(client);
  }
}
