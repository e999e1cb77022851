import type { Db } from '../state/db.ts';

/** An owner's SSH public key, as the table `ssh_keys` keeps it. */
export interface SshKeyRow {
  fingerprint: string;
  type: string;
  /** The key's base64 data. */
  blob: string;
  name: string;
  createdAt: number;
}

interface Raw {
  fingerprint: string;
  type: string;
  blob: string;
  name: string;
  created_at: number;
}

const fromRaw = (r: Raw): SshKeyRow => ({
  fingerprint: r.fingerprint,
  type: r.type,
  blob: r.blob,
  name: r.name,
  createdAt: r.created_at,
});

/** The desired state of SSH: the keys that may log in, oldest first. */
export class SshKeyRows {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  list(): SshKeyRow[] {
    return (this.#db.prepare('SELECT * FROM ssh_keys ORDER BY created_at, fingerprint').all() as Raw[]).map(
      fromRaw,
    );
  }

  find(fingerprint: string): SshKeyRow | undefined {
    const raw = this.#db.prepare('SELECT * FROM ssh_keys WHERE fingerprint = ?').get(fingerprint) as
      | Raw
      | undefined;
    return raw && fromRaw(raw);
  }

  insert(row: SshKeyRow): void {
    this.#db
      .prepare('INSERT INTO ssh_keys (fingerprint, type, blob, name, created_at) VALUES (?, ?, ?, ?, ?)')
      .run(row.fingerprint, row.type, row.blob, row.name, row.createdAt);
  }

  remove(fingerprint: string): boolean {
    return this.#db.prepare('DELETE FROM ssh_keys WHERE fingerprint = ?').run(fingerprint).changes > 0;
  }
}
