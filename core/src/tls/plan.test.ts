import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Desired, LIFETIME, type Observed, plan, type Step } from './plan.ts';
import type { CertRow } from './rows.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 7);
const desired: Desired = {
  hostname: 'Den',
  addresses: ['192.168.1.20', '203.0.113.9', 'fe80::1%eth0'],
  packages: ['radicale'],
};

function cert(id: string, o: Partial<CertRow> = {}): CertRow {
  const role = id === 'root' || id === 'intermediate' ? id : 'leaf';
  return {
    id,
    role,
    package: id.startsWith('package:') ? id.slice(8) : null,
    dns: [],
    ips: [],
    certPem: '',
    keyFile: `${id.replace(':', '-')}.key`,
    issuer: id === 'root' ? null : id === 'intermediate' ? 'fp-root' : 'fp-intermediate',
    fingerprint: `fp-${id}`,
    notBefore: NOW - DAY,
    notAfter: NOW + 60 * DAY * (role === 'leaf' ? 1 : 10),
    issuedAt: NOW - DAY,
    ...o,
  };
}

/** What a box has once everything for `desired` was issued. */
function complete(): CertRow[] {
  return [
    cert('root'),
    cert('intermediate'),
    cert('box', { dns: ['den.local', 'localhost'], ips: ['127.0.0.1', '192.168.1.20', '::1', 'fe80::1'] }),
    cert('package:radicale', { dns: ['den-radicale.local'] }),
  ];
}

const observed = (certs: CertRow[], extraKeys: string[] = []): Observed => ({
  now: NOW,
  certs,
  keyFiles: [...certs.map((c) => c.keyFile), ...extraKeys],
});
const kinds = (steps: Step[]) => steps.map((s) => (s.kind === 'issue-leaf' ? `leaf ${s.id}` : s.kind));

test('at first start: a root, an intermediate, then the box’s leaf and one per package', () => {
  const steps = plan(desired, observed([]));
  assert.deepEqual(kinds(steps), ['issue-root', 'issue-intermediate', 'leaf box', 'leaf package:radicale']);
  const box = steps[2] as Extract<Step, { kind: 'issue-leaf' }>;
  assert.deepEqual(box.dns, ['den.local', 'localhost']);
  // A public address is left out: the CA may not vouch for it, and one bad name fails the whole leaf.
  assert.deepEqual(box.ips, ['127.0.0.1', '192.168.1.20', '::1', 'fe80::1']);
  assert.deepEqual((steps[3] as Extract<Step, { kind: 'issue-leaf' }>).dns, ['den-radicale.local']);
});

test('nothing to do when every certificate is there, valid and for the right names', () => {
  assert.deepEqual(plan(desired, observed(complete())), []);
});

test('a new hostname re-issues the box’s leaf and the packages’, not the CA', () => {
  assert.deepEqual(kinds(plan({ ...desired, hostname: 'attic' }, observed(complete()))), [
    'leaf box',
    'leaf package:radicale',
  ]);
});

test('a new address re-issues the box’s leaf only; a new public one changes nothing', () => {
  assert.deepEqual(kinds(plan({ ...desired, addresses: ['10.0.0.7'] }, observed(complete()))), ['leaf box']);
  assert.deepEqual(
    plan({ ...desired, addresses: [...desired.addresses, '8.8.8.8'] }, observed(complete())),
    [],
  );
});

test('a leaf is renewed when it has less than renewDays left; not a day before', () => {
  const near = (days: number) =>
    complete().map((c) => (c.id === 'box' ? { ...c, notAfter: NOW + days * DAY } : c));
  assert.deepEqual(kinds(plan(desired, observed(near(LIFETIME.leaf.renewDays - 1)))), ['leaf box']);
  assert.deepEqual(plan(desired, observed(near(LIFETIME.leaf.renewDays + 1))), []);
});

test('a new intermediate (expiring) re-issues every leaf; a new root re-issues everything', () => {
  const expiring = complete().map((c) => (c.id === 'intermediate' ? { ...c, notAfter: NOW + DAY } : c));
  assert.deepEqual(kinds(plan(desired, observed(expiring))), [
    'issue-intermediate',
    'leaf box',
    'leaf package:radicale',
  ]);
  const noRootKey = observed(complete());
  const steps = plan(desired, { ...noRootKey, keyFiles: noRootKey.keyFiles.filter((f) => f !== 'root.key') });
  assert.deepEqual(kinds(steps), ['issue-root', 'issue-intermediate', 'leaf box', 'leaf package:radicale']);
});

test('a leaf signed by another intermediate than the current one is re-issued', () => {
  const stale = complete().map((c) => (c.id === 'box' ? { ...c, issuer: 'fp-older' } : c));
  assert.deepEqual(kinds(plan(desired, observed(stale))), ['leaf box']);
});

test('a lost key file means a new certificate', () => {
  const o = observed(complete());
  assert.deepEqual(kinds(plan(desired, { ...o, keyFiles: o.keyFiles.filter((f) => f !== 'box.key') })), [
    'leaf box',
  ]);
});

test('a removed package’s certificate goes; keys no row names go (a crash between key and row)', () => {
  assert.deepEqual(plan({ ...desired, packages: [] }, observed(complete(), ['box-old.key'])), [
    { kind: 'remove-certificate', id: 'package:radicale' },
    { kind: 'remove-key', file: 'box-old.key' },
  ]);
});
