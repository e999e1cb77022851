import type { Db } from '../state/db.ts';

/** The LAN port given to a package interface, as the table `lan_ports` keeps it. */
export interface PortRow {
  package: string;
  interface: string;
  port: number;
  createdAt: number;
}

interface Raw {
  package: string;
  interface: string;
  port: number;
  created_at: number;
}

const fromRaw = (r: Raw): PortRow => ({
  package: r.package,
  interface: r.interface,
  port: r.port,
  createdAt: r.created_at,
});

/** The desired state of the LAN ports: a row per interface that was ever given one. */
export class PortRows {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  list(): PortRow[] {
    return (this.#db.prepare('SELECT * FROM lan_ports ORDER BY port').all() as Raw[]).map(fromRaw);
  }

  /** Gives `port` to the interface; a row that held the port before (a gone package's) goes. */
  assign(pkg: string, iface: string, port: number): PortRow {
    const row = { package: pkg, interface: iface, port, createdAt: this.#now() };
    this.#db.transaction(() => {
      this.#db.prepare('DELETE FROM lan_ports WHERE port = ?').run(port);
      this.#db
        .prepare('INSERT INTO lan_ports (package, interface, port, created_at) VALUES (?, ?, ?, ?)')
        .run(pkg, iface, port, row.createdAt);
    })();
    return row;
  }
}
