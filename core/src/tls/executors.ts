import type { KeyStore } from '../host/tls-keys.ts';
import type { Issued, Signer, X509Maker } from './issued.ts';
import { LIFETIME, type Step } from './plan.ts';
import type { CertRow, CertRows } from './rows.ts';

/** What the executors act through. */
export interface ExecutorDeps {
  rows: CertRows;
  keys: KeyStore;
  now: () => number;
  /** The box's name, for the CA's own names. */
  hostname: () => string;
  /** The X.509 maker, loaded at the first certificate (x509.ts). */
  x509: () => Promise<X509Maker>;
}

type Executors = {
  [K in Step['kind']]: (step: Extract<Step, { kind: K }>, deps: ExecutorDeps) => Promise<void>;
};

/**
 * The one table that acts: each step kind and what it does. A key is written durably
 * before the row that names it, under a name of its own (never over a key in use), so a
 * crash leaves either the old certificate with its key or the new one with its.
 */
export const EXECUTORS: Executors = {
  'issue-root': async (_step, deps) => {
    const x = await deps.x509();
    const now = deps.now();
    const made = await x.makeRoot({
      commonName: `Hearth CA (${deps.hostname()})`,
      now,
      days: LIFETIME.root.days,
    });
    store(deps, { id: 'root', role: 'root', package: null, dns: [], ips: [], issuer: null }, made);
  },
  'issue-intermediate': async (_step, deps) => {
    const x = await deps.x509();
    const root = signer(deps, 'root');
    const made = await x.makeIntermediate({
      commonName: `Hearth intermediate (${deps.hostname()})`,
      root: root.signer,
      now: deps.now(),
      days: LIFETIME.intermediate.days,
    });
    store(
      deps,
      { id: 'intermediate', role: 'intermediate', package: null, dns: [], ips: [], issuer: root.fingerprint },
      made,
    );
  },
  'issue-leaf': async (step, deps) => {
    const x = await deps.x509();
    const issuer = signer(deps, 'intermediate');
    const made = await x.makeLeaf({
      dns: step.dns,
      ips: step.ips,
      issuer: issuer.signer,
      now: deps.now(),
      days: LIFETIME.leaf.days,
    });
    store(
      deps,
      {
        id: step.id,
        role: 'leaf',
        package: step.package,
        dns: step.dns,
        ips: step.ips,
        issuer: issuer.fingerprint,
      },
      made,
    );
  },
  'remove-certificate': async (step, deps) => {
    deps.rows.remove(step.id);
  },
  'remove-key': async (step, deps) => {
    deps.keys.remove(step.file);
  },
};

export function execute(step: Step, deps: ExecutorDeps): Promise<void> {
  return (EXECUTORS[step.kind] as (s: Step, d: ExecutorDeps) => Promise<void>)(step, deps);
}

function signer(deps: ExecutorDeps, id: string): { signer: Signer; fingerprint: string } {
  const row = deps.rows.get(id);
  if (!row) throw new Error(`no ${id} certificate to sign with`);
  return {
    signer: { certPem: row.certPem, keyPem: deps.keys.read(row.keyFile) },
    fingerprint: row.fingerprint,
  };
}

function store(
  deps: ExecutorDeps,
  row: Pick<CertRow, 'id' | 'role' | 'package' | 'dns' | 'ips' | 'issuer'>,
  made: Issued,
): void {
  const keyFile = `${row.id.replace(/[^a-z0-9-]/g, '-')}-${made.fingerprint.slice(0, 16)}.key`;
  deps.keys.write(keyFile, made.keyPem);
  deps.rows.put({
    ...row,
    certPem: made.certPem,
    keyFile,
    fingerprint: made.fingerprint,
    notBefore: made.notBefore,
    notAfter: made.notAfter,
    issuedAt: deps.now(),
  });
}
