import tls from 'node:tls';
import type { KeyStore } from '../host/tls-keys.ts';
import type { Logger } from '../log/log.ts';
import type { PackageCertificate } from '../packages/effects-host.ts';
import type { Db } from '../state/db.ts';
import { type ExecutorDeps, execute } from './executors.ts';
import type { X509Maker } from './issued.ts';
import { appleProfile } from './mobileconfig.ts';
import { type Desired, plan } from './plan.ts';
import { type CertRow, CertRows } from './rows.ts';

export interface TlsOptions {
  db: Db;
  keys: KeyStore;
  /** What the box should have certificates for; undefined before setup (no CA yet). */
  desired: () => Desired | undefined;
  /** Loads what makes certificates: `() => import('./x509.ts')`. */
  x509: () => Promise<X509Maker>;
  /** Each certificate issued or removed, for the event history. */
  record?: (e: { package: string | null; detail: Record<string, string | string[]> }) => void;
  log: Logger;
  now?: () => number;
}

// Passes until nothing is left to do: a renewal leaves an old key that the next pass removes.
const MAX_PASSES = 4;

/**
 * The box's CA and its certificates: observe (rows, key files) → plan → act (executors),
 * passes never overlapping; and what the surfaces need of them: the TLS contexts by name
 * (SNI), the CA for download, each package's certificate.
 */
export class Tls {
  readonly #o: TlsOptions;
  readonly #rows: CertRows;
  readonly #deps: ExecutorDeps;
  #pass: Promise<unknown> = Promise.resolve();
  #byName = new Map<string, tls.SecureContext>();
  #box: { cert: string; key: string } | undefined;
  #boxContext: tls.SecureContext | undefined;
  #loaded = false;
  readonly #listeners: (() => void)[] = [];

  constructor(o: TlsOptions) {
    this.#o = o;
    this.#rows = new CertRows(o.db);
    const now = o.now ?? Date.now;
    this.#deps = {
      rows: this.#rows,
      keys: o.keys,
      now,
      hostname: () => o.desired()?.hostname ?? 'hearth',
      x509: o.x509,
    };
  }

  /** Brings the certificates in line with the box's names, addresses and packages. */
  reconcile(): Promise<void> {
    const pass = this.#pass.then(() => this.#reconcile());
    this.#pass = pass.catch(() => {});
    return pass;
  }

  async #reconcile(): Promise<void> {
    const desired = this.#o.desired();
    if (!desired) return;
    let changed = false;
    for (let i = 0; i < MAX_PASSES; i++) {
      const steps = plan(desired, {
        now: this.#deps.now(),
        certs: this.#rows.list(),
        keyFiles: this.#o.keys.list(),
      });
      if (steps.length === 0) break;
      for (const step of steps) {
        try {
          await execute(step, this.#deps);
          changed = true;
          if (step.kind !== 'remove-key') {
            this.#o.log.info('certificate step', describe(step));
            this.#o.record?.({
              package: step.kind === 'issue-leaf' ? step.package : null,
              detail: describe(step),
            });
          }
        } catch (error) {
          // The next pass tries again; the certificates in use stay as they are.
          this.#o.log.warn('certificate step failed', { ...describe(step), error });
          break;
        }
      }
    }
    if (changed || !this.#loaded) this.#load();
  }

  /** Builds the TLS contexts from the rows and their keys. */
  #load(): void {
    const rows = this.#rows.list();
    const chain = rows.find((r) => r.id === 'intermediate')?.certPem ?? '';
    const byName = new Map<string, tls.SecureContext>();
    let box: { cert: string; key: string } | undefined;
    let boxContext: tls.SecureContext | undefined;
    for (const r of rows.filter((r) => r.role === 'leaf')) {
      try {
        const creds = { cert: r.certPem + chain, key: this.#o.keys.read(r.keyFile) };
        const context = tls.createSecureContext(creds);
        for (const name of r.dns) byName.set(name, context);
        if (r.id === 'box') {
          box = creds;
          boxContext = context;
        }
      } catch (error) {
        this.#o.log.warn('could not load a certificate', { id: r.id, error });
      }
    }
    this.#byName = byName;
    this.#box = box;
    this.#boxContext = boxContext;
    this.#loaded = true;
    for (const l of this.#listeners) l();
  }

  /** Called when the certificates in use change (a renewal, a new name). */
  onChange(listener: () => void): void {
    this.#listeners.push(listener);
  }

  /** The box's own certificate and key: the default when a client names no server (an IP address). */
  get boxCredentials(): { cert: string; key: string } | undefined {
    return this.#box;
  }

  #custom: ((name: string) => tls.SecureContext | undefined) | undefined;

  /** Certificates from elsewhere, asked first by name: custom domains' from ACME. */
  useCustom(lookup: (name: string) => tls.SecureContext | undefined): void {
    this.#custom = lookup;
  }

  /** The context for a name a client asked for (SNI); the box's own for any other. */
  contextFor(servername: string): tls.SecureContext | undefined {
    const name = servername.toLowerCase().replace(/\.$/, '');
    return this.#custom?.(name) ?? this.#byName.get(name) ?? this.#boxContext;
  }

  /** The box's own context: what a name that is not a package's gets. */
  get boxContext(): tls.SecureContext | undefined {
    return this.#boxContext;
  }

  /** The root CA: what a person installs to trust the box. */
  ca():
    | { pem: string; der: Buffer; fingerprint: string; notAfter: number; mobileconfig: string }
    | undefined {
    const root = this.#rows.get('root');
    if (!root) return undefined;
    const der = Buffer.from(root.certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, ''), 'base64');
    return {
      pem: root.certPem,
      der,
      fingerprint: root.fingerprint,
      notAfter: root.notAfter,
      mobileconfig: appleProfile({
        der,
        fingerprint: root.fingerprint,
        hostname: this.#deps.hostname(),
      }),
    };
  }

  /** The port HTTPS is served on, once it is (the daemon says). */
  httpsPort: number | null = null;

  /** Every certificate the box holds, for tls.status. */
  status(): { httpsPort: number | null; caFingerprint: string | null; certificates: CertificateStatus[] } {
    const rows = this.#rows.list();
    return {
      httpsPort: this.httpsPort,
      caFingerprint: rows.find((r) => r.id === 'root')?.fingerprint ?? null,
      certificates: rows.map(statusOf),
    };
  }

  /** A package's own certificate (its name under the box's), with the chain and its key. */
  certificateFor(packageId: string): PackageCertificate | null {
    const row = this.#rows.get(`package:${packageId}`);
    const intermediate = this.#rows.get('intermediate');
    if (!row || !intermediate) return null;
    return {
      chainPem: row.certPem + intermediate.certPem,
      keyPem: this.#o.keys.read(row.keyFile),
      hostnames: [...row.dns, ...row.ips],
      expiresAt: new Date(row.notAfter).toISOString(),
    };
  }

  /** What the expiry check looks at. */
  expiring(): { subject: string; name: string; notAfter: number; package?: string }[] {
    return this.#rows.list().map((r) => ({
      subject: `tls:${r.id}`,
      name: r.role === 'leaf' ? `The certificate for ${r.dns[0] ?? r.ips[0]}` : `The box's ${r.role} CA`,
      notAfter: r.notAfter,
      ...(r.package ? { package: r.package } : {}),
    }));
  }
}

export interface CertificateStatus {
  id: string;
  role: CertRow['role'];
  package: string | null;
  names: string[];
  fingerprint: string;
  notBefore: number;
  notAfter: number;
}

function statusOf(r: CertRow): CertificateStatus {
  return {
    id: r.id,
    role: r.role,
    package: r.package,
    names: [...r.dns, ...r.ips],
    fingerprint: r.fingerprint,
    notBefore: r.notBefore,
    notAfter: r.notAfter,
  };
}

function describe(step: ReturnType<typeof plan>[number]): Record<string, string | string[]> {
  if (step.kind === 'issue-leaf') return { step: step.kind, id: step.id, names: [...step.dns, ...step.ips] };
  if (step.kind === 'remove-certificate') return { step: step.kind, id: step.id };
  if (step.kind === 'remove-key') return { step: step.kind, file: step.file };
  return { step: step.kind };
}
