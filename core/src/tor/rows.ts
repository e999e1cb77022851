import type { Db } from '../state/db.ts';
import { newOnionSeed, onionKey } from './onion-key.ts';

/** A package interface's onion service, as the table `onion_services` keeps it. */
export interface OnionRow {
  package: string;
  interface: string;
  /** The ed25519 seed the address is made from; never leaves the daemon but to tor. */
  seed: Buffer;
  address: string;
  enabled: boolean;
  createdAt: number;
}

interface Raw {
  package: string;
  interface: string;
  seed: Buffer;
  address: string;
  enabled: number;
  created_at: number;
}

const fromRaw = (r: Raw): OnionRow => ({
  package: r.package,
  interface: r.interface,
  seed: Buffer.from(r.seed),
  address: r.address,
  enabled: r.enabled === 1,
  createdAt: r.created_at,
});

/** The desired state of the onion services: a row per interface that ever had one. */
export class OnionRows {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  list(): OnionRow[] {
    return (this.#db.prepare('SELECT * FROM onion_services ORDER BY package, interface').all() as Raw[]).map(
      fromRaw,
    );
  }

  find(pkg: string, iface: string): OnionRow | undefined {
    const raw = this.#db
      .prepare('SELECT * FROM onion_services WHERE package = ? AND interface = ?')
      .get(pkg, iface) as Raw | undefined;
    return raw && fromRaw(raw);
  }

  /** Turns an interface's onion on or off; the first time, makes its key. */
  setEnabled(pkg: string, iface: string, enabled: boolean): OnionRow {
    const row = this.find(pkg, iface);
    if (row) {
      this.#db
        .prepare('UPDATE onion_services SET enabled = ? WHERE package = ? AND interface = ?')
        .run(enabled ? 1 : 0, pkg, iface);
      return { ...row, enabled };
    }
    const seed = newOnionSeed();
    const created: OnionRow = {
      package: pkg,
      interface: iface,
      seed,
      address: onionKey(seed).address,
      enabled,
      createdAt: this.#now(),
    };
    this.#db
      .prepare(
        'INSERT INTO onion_services (package, interface, seed, address, enabled, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(pkg, iface, seed, created.address, enabled ? 1 : 0, created.createdAt);
    return created;
  }
}
