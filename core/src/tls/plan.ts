import { boxNames, packageName } from './names.ts';
import type { CertRow } from './rows.ts';

/*
 * What certificates the box needs, from what it has: pure, so every rule (first start,
 * renewal, a new name or address, a package gone, a key file lost) is tested without a host.
 */

const DAY = 86_400_000;

/** How long each kind lives and how long before its end it is made anew. */
export const LIFETIME = {
  root: { days: 3650, renewDays: 365 },
  intermediate: { days: 730, renewDays: 90 },
  // Well before expiry: the expiry check warns at 21 days, so it speaks only when renewal fails.
  leaf: { days: 90, renewDays: 30 },
} as const;

export interface Desired {
  hostname: string;
  /** The box's addresses now (the planner keeps those the CA may sign). */
  addresses: readonly string[];
  /** Installed packages: each has its own name. */
  packages: readonly string[];
}

export interface Observed {
  now: number;
  certs: readonly CertRow[];
  /** Key files present in the keys directory. */
  keyFiles: readonly string[];
}

export type Step =
  | { kind: 'issue-root' }
  | { kind: 'issue-intermediate' }
  | { kind: 'issue-leaf'; id: string; package: string | null; dns: string[]; ips: string[] }
  | { kind: 'remove-certificate'; id: string }
  | { kind: 'remove-key'; file: string };

/** The leaves the box should have: its own, and one per installed package. */
export function desiredLeaves(
  d: Desired,
): { id: string; package: string | null; dns: string[]; ips: string[] }[] {
  return [
    { id: 'box', package: null, ...boxNames(d.hostname, d.addresses) },
    ...[...d.packages]
      .sort()
      .map((p) => ({ id: `package:${p}`, package: p, dns: [packageName(d.hostname, p)], ips: [] })),
  ];
}

export function plan(desired: Desired, observed: Observed): Step[] {
  const byId = new Map(observed.certs.map((c) => [c.id, c]));
  const files = new Set(observed.keyFiles);
  const usable = (c: CertRow | undefined, renewDays: number, issuer?: CertRow): c is CertRow =>
    c !== undefined &&
    files.has(c.keyFile) &&
    c.notAfter - observed.now > renewDays * DAY &&
    (issuer === undefined || c.issuer === issuer.fingerprint);
  const steps: Step[] = [];

  // A new root means a new intermediate, which means new leaves: each level follows its signer.
  const root = byId.get('root');
  const rootNew = !usable(root, LIFETIME.root.renewDays);
  if (rootNew) steps.push({ kind: 'issue-root' });
  const intermediate = byId.get('intermediate');
  const intermediateNew = rootNew || !usable(intermediate, LIFETIME.intermediate.renewDays, root);
  if (intermediateNew) steps.push({ kind: 'issue-intermediate' });

  const wanted = desiredLeaves(desired);
  for (const leaf of wanted) {
    const have = byId.get(leaf.id);
    const same = have !== undefined && sameList(have.dns, leaf.dns) && sameList(have.ips, leaf.ips);
    if (intermediateNew || !same || !usable(have, LIFETIME.leaf.renewDays, intermediate)) {
      steps.push({ kind: 'issue-leaf', ...leaf });
    }
  }
  const ids = new Set(['root', 'intermediate', ...wanted.map((l) => l.id)]);
  for (const c of observed.certs) if (!ids.has(c.id)) steps.push({ kind: 'remove-certificate', id: c.id });

  // Keys of certificates replaced or removed: a crash between a new key and its row leaves one too.
  const referenced = new Set(observed.certs.map((c) => c.keyFile));
  for (const f of observed.keyFiles) if (!referenced.has(f)) steps.push({ kind: 'remove-key', file: f });
  return steps;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().every((v, i) => v === [...b].sort()[i]);
}
