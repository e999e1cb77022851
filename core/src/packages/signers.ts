import crypto from 'node:crypto';
import { Conflict, InvalidParams, NotFound } from '../errors.ts';
import type { Db } from '../state/db.ts';

export interface Signer {
  /** base64 of the raw 32-byte ed25519 public key, as `hearth-sdk keygen` prints it. */
  publicKey: string;
  name: string;
  addedAt: number;
  /** A short fingerprint people can compare: the first 16 hex digits of its SHA-256. */
  fingerprint: string;
}

export const fingerprintOf = (publicKey: string): string =>
  crypto.createHash('sha256').update(Buffer.from(publicKey, 'base64')).digest('hex').slice(0, 16);

/** Whose signatures the box trusts: a package from anyone else needs `allowUntrusted`. */
export class Signers {
  readonly #db: Db;
  readonly #now: () => number;

  constructor(options: { db: Db; now?: () => number }) {
    this.#db = options.db;
    this.#now = options.now ?? Date.now;
  }

  add(publicKey: string, name: string): Signer {
    const key = normalizeKey(publicKey);
    const addedAt = this.#now();
    const { changes } = this.#db
      .prepare('INSERT INTO signers (public_key, name, added_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING')
      .run(key, name, addedAt);
    if (changes === 0) throw new Conflict(`that key is trusted already (fingerprint ${fingerprintOf(key)})`);
    return { publicKey: key, name, addedAt, fingerprint: fingerprintOf(key) };
  }

  list(): Signer[] {
    const rows = this.#db
      .prepare('SELECT public_key, name, added_at FROM signers ORDER BY added_at')
      .all() as {
      public_key: string;
      name: string;
      added_at: number;
    }[];
    return rows.map((r) => ({
      publicKey: r.public_key,
      name: r.name,
      addedAt: r.added_at,
      fingerprint: fingerprintOf(r.public_key),
    }));
  }

  /** Removes by public key or by fingerprint. */
  remove(keyOrFingerprint: string): void {
    const match = this.list().find(
      (s) => s.publicKey === keyOrFingerprint || s.fingerprint === keyOrFingerprint,
    );
    if (!match)
      throw new NotFound('trusted signer', keyOrFingerprint, { hint: 'package.signer.list shows them' });
    this.#db.prepare('DELETE FROM signers WHERE public_key = ?').run(match.publicKey);
  }

  publicKeys(): string[] {
    return this.list().map((s) => s.publicKey);
  }
}

function normalizeKey(publicKey: string): string {
  const raw = Buffer.from(publicKey.trim(), 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== publicKey.trim()) {
    throw new InvalidParams('a signer key is the base64 of a 32-byte ed25519 public key', {
      hint: 'copy the public key that `hearth-sdk keygen` printed',
    });
  }
  return raw.toString('base64');
}
