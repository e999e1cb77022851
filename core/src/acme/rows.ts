import { cachedStatement, type Db } from '../state/db.ts';

/** How a DNS-01 challenge's record is written: RFC 2136 to the zone's primary server. */
export interface DnsSettings {
  provider: 'rfc2136';
  server: string;
  port: number;
  zone: string;
  keyName: string;
}

/** A custom domain as the acme_domains table has it: a certificate should exist for name. */
export interface DomainRow {
  name: string;
  /** Null for the box itself. */
  package: string | null;
  interface: string | null;
  challenge: 'http-01' | 'dns-01';
  dns: DnsSettings | null;
  dnsSecret: string | null;
  certPem: string | null;
  keyPem: string | null;
  notBefore: number | null;
  notAfter: number | null;
  issuedAt: number | null;
  failures: number;
  lastAttempt: number | null;
  lastError: string | null;
  createdAt: number;
}

interface Raw {
  name: string;
  package: string | null;
  interface: string | null;
  challenge: 'http-01' | 'dns-01';
  dns: string | null;
  dns_secret: string | null;
  cert_pem: string | null;
  key_pem: string | null;
  not_before: number | null;
  not_after: number | null;
  issued_at: number | null;
  failures: number;
  last_attempt: number | null;
  last_error: string | null;
  created_at: number;
}

function fromRaw(r: Raw): DomainRow {
  return {
    name: r.name,
    package: r.package,
    interface: r.interface,
    challenge: r.challenge,
    dns: r.dns === null ? null : (JSON.parse(r.dns) as DnsSettings),
    dnsSecret: r.dns_secret,
    certPem: r.cert_pem,
    keyPem: r.key_pem,
    notBefore: r.not_before,
    notAfter: r.not_after,
    issuedAt: r.issued_at,
    failures: r.failures,
    lastAttempt: r.last_attempt,
    lastError: r.last_error,
    createdAt: r.created_at,
  };
}

/** The acme tables: custom domains and the ACME account per CA directory. */
export class AcmeRows {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }

  list(): DomainRow[] {
    return (cachedStatement(this.#db, 'SELECT * FROM acme_domains ORDER BY name').all() as Raw[]).map(
      fromRaw,
    );
  }

  get(name: string): DomainRow | undefined {
    const r = cachedStatement(this.#db, 'SELECT * FROM acme_domains WHERE name = ?').get(name) as
      | Raw
      | undefined;
    return r && fromRaw(r);
  }

  insert(
    d: Pick<DomainRow, 'name' | 'package' | 'interface' | 'challenge' | 'dns' | 'dnsSecret' | 'createdAt'>,
  ): void {
    cachedStatement(
      this.#db,
      `INSERT INTO acme_domains (name, package, interface, challenge, dns, dns_secret, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      d.name,
      d.package,
      d.interface,
      d.challenge,
      d.dns && JSON.stringify(d.dns),
      d.dnsSecret,
      d.createdAt,
    );
  }

  remove(name: string): boolean {
    return cachedStatement(this.#db, 'DELETE FROM acme_domains WHERE name = ?').run(name).changes > 0;
  }

  saveIssued(
    name: string,
    c: { certPem: string; keyPem: string; notBefore: number; notAfter: number; at: number },
  ): void {
    cachedStatement(
      this.#db,
      `UPDATE acme_domains SET cert_pem = ?, key_pem = ?, not_before = ?, not_after = ?, issued_at = ?,
       failures = 0, last_attempt = ?, last_error = NULL WHERE name = ?`,
    ).run(c.certPem, c.keyPem, c.notBefore, c.notAfter, c.at, c.at, name);
  }

  saveFailure(name: string, error: string, at: number): void {
    cachedStatement(
      this.#db,
      'UPDATE acme_domains SET failures = failures + 1, last_attempt = ?, last_error = ? WHERE name = ?',
    ).run(at, error.slice(0, 1000), name);
  }

  account(directory: string): { keyPem: string; url: string | null } | undefined {
    const r = cachedStatement(this.#db, 'SELECT key_pem, url FROM acme_accounts WHERE directory = ?').get(
      directory,
    ) as { key_pem: string; url: string | null } | undefined;
    return r && { keyPem: r.key_pem, url: r.url };
  }

  /** Keeps the first key written for a directory: the account is made once. */
  saveAccountKey(directory: string, keyPem: string, at: number): void {
    cachedStatement(
      this.#db,
      'INSERT INTO acme_accounts (directory, key_pem, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    ).run(directory, keyPem, at);
  }

  saveAccountUrl(directory: string, url: string): void {
    cachedStatement(this.#db, 'UPDATE acme_accounts SET url = ? WHERE directory = ?').run(url, directory);
  }
}
