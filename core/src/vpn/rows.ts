import type { Db } from '../state/db.ts';
import { newKeyPair } from './keys.ts';

/** A VPN peer as the table `vpn_peers` keeps it. */
export interface PeerRow {
  name: string;
  /** Kept so its config can be shown again; never in logs, events or the state document. */
  privateKey: string;
  publicKey: string;
  presharedKey: string;
  address: string;
  /** "The box and the home LAN" rather than "the box only". */
  lan: boolean;
  createdAt: number;
}

interface Raw {
  name: string;
  private_key: string;
  public_key: string;
  preshared_key: string;
  address: string;
  lan: number;
  created_at: number;
}

const fromRaw = (r: Raw): PeerRow => ({
  name: r.name,
  privateKey: r.private_key,
  publicKey: r.public_key,
  presharedKey: r.preshared_key,
  address: r.address,
  lan: r.lan === 1,
  createdAt: r.created_at,
});

/** The desired state of the VPN: the box's key (made once) and its peers. */
export class VpnRows {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(db: Db, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  /** The box's private key; made the first time it is asked for. */
  serverKey(): string {
    const row = this.#db.prepare('SELECT private_key FROM vpn_server WHERE id = 1').get() as
      | { private_key: string }
      | undefined;
    if (row) return row.private_key;
    const { privateKey } = newKeyPair();
    this.#db
      .prepare('INSERT OR IGNORE INTO vpn_server (id, private_key, created_at) VALUES (1, ?, ?)')
      .run(privateKey, this.#now());
    return (
      this.#db.prepare('SELECT private_key FROM vpn_server WHERE id = 1').get() as { private_key: string }
    ).private_key;
  }

  list(): PeerRow[] {
    return (this.#db.prepare('SELECT * FROM vpn_peers ORDER BY created_at, name').all() as Raw[]).map(
      fromRaw,
    );
  }

  find(name: string): PeerRow | undefined {
    const raw = this.#db.prepare('SELECT * FROM vpn_peers WHERE name = ?').get(name) as Raw | undefined;
    return raw && fromRaw(raw);
  }

  insert(p: PeerRow): void {
    this.#db
      .prepare(
        'INSERT INTO vpn_peers (name, private_key, public_key, preshared_key, address, lan, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(p.name, p.privateKey, p.publicKey, p.presharedKey, p.address, p.lan ? 1 : 0, p.createdAt);
  }

  remove(name: string): boolean {
    return this.#db.prepare('DELETE FROM vpn_peers WHERE name = ?').run(name).changes > 0;
  }
}
