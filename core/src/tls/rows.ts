import type { Db } from '../state/db.ts';

/** One certificate the box holds (table `tls_certificates`, migration 10). */
export interface CertRow {
  /** `root`, `intermediate`, `box` or `package:<id>`. */
  id: string;
  role: 'root' | 'intermediate' | 'leaf';
  package: string | null;
  dns: string[];
  ips: string[];
  certPem: string;
  /** The private key's file name under the keys directory. */
  keyFile: string;
  /** The signer's fingerprint; null for the root. */
  issuer: string | null;
  fingerprint: string;
  notBefore: number;
  notAfter: number;
  issuedAt: number;
}

interface Raw {
  id: string;
  role: CertRow['role'];
  package: string | null;
  dns: string;
  ips: string;
  cert_pem: string;
  key_file: string;
  issuer: string | null;
  fingerprint: string;
  not_before: number;
  not_after: number;
  issued_at: number;
}

/** The `tls_certificates` table. */
export class CertRows {
  readonly #db: Db;

  constructor(db: Db) {
    this.#db = db;
  }

  list(): CertRow[] {
    const rows = this.#db.prepare('SELECT * FROM tls_certificates ORDER BY id').all() as Raw[];
    return rows.map(fromRaw);
  }

  get(id: string): CertRow | undefined {
    const raw = this.#db.prepare('SELECT * FROM tls_certificates WHERE id = ?').get(id) as Raw | undefined;
    return raw ? fromRaw(raw) : undefined;
  }

  /** Puts a certificate in place of the one with its id (its key file is already written). */
  put(row: CertRow): void {
    this.#db
      .prepare(
        `INSERT INTO tls_certificates (id, role, package, dns, ips, cert_pem, key_file, issuer, fingerprint, not_before, not_after, issued_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET role = excluded.role, package = excluded.package, dns = excluded.dns,
           ips = excluded.ips, cert_pem = excluded.cert_pem, key_file = excluded.key_file, issuer = excluded.issuer,
           fingerprint = excluded.fingerprint, not_before = excluded.not_before, not_after = excluded.not_after,
           issued_at = excluded.issued_at`,
      )
      .run(
        row.id,
        row.role,
        row.package,
        JSON.stringify(row.dns),
        JSON.stringify(row.ips),
        row.certPem,
        row.keyFile,
        row.issuer,
        row.fingerprint,
        row.notBefore,
        row.notAfter,
        row.issuedAt,
      );
  }

  remove(id: string): void {
    this.#db.prepare('DELETE FROM tls_certificates WHERE id = ?').run(id);
  }
}

function fromRaw(r: Raw): CertRow {
  return {
    id: r.id,
    role: r.role,
    package: r.package,
    dns: JSON.parse(r.dns) as string[],
    ips: JSON.parse(r.ips) as string[],
    certPem: r.cert_pem,
    keyFile: r.key_file,
    issuer: r.issuer,
    fingerprint: r.fingerprint,
    notBefore: r.not_before,
    notAfter: r.not_after,
    issuedAt: r.issued_at,
  };
}
