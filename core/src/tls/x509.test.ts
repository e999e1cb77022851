import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { makeIntermediate, makeLeaf, makeRoot } from './x509.ts';

/*
 * The CA's name constraints, held by a verifier that is not ours: OpenSSL (what curl and
 * Node use here) refuses a leaf the box's CA signed for a name outside them.
 */

const now = Date.now();
const root = await makeRoot({ commonName: 'Hearth CA (test)', now, days: 30 });
const intermediate = await makeIntermediate({
  commonName: 'Hearth intermediate (test)',
  root,
  now,
  days: 20,
});

function verify(leafPem: string): { ok: boolean; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-x509-'));
  try {
    fs.writeFileSync(path.join(dir, 'root.pem'), root.certPem);
    fs.writeFileSync(path.join(dir, 'intermediate.pem'), intermediate.certPem);
    fs.writeFileSync(path.join(dir, 'leaf.pem'), leafPem);
    const output = execFileSync(
      'openssl',
      [
        'verify',
        '-CAfile',
        'root.pem',
        '-untrusted',
        'intermediate.pem',
        '-purpose',
        'sslserver',
        'leaf.pem',
      ],
      { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    return { ok: true, output };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('a leaf for the box’s own names and private addresses verifies', async () => {
  const leaf = await makeLeaf({
    dns: ['den.local', 'den-radicale.local', 'localhost', 'nas.internal'],
    ips: ['127.0.0.1', '192.168.1.20', '10.0.0.1', '::1', 'fd00::5'],
    issuer: intermediate,
    now,
    days: 10,
  });
  const r = verify(leaf.certPem);
  assert.equal(r.ok, true, r.output);
  assert.match(leaf.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  assert.match(leaf.fingerprint, /^[0-9a-f]{64}$/);
  assert.ok(leaf.notAfter - leaf.notBefore <= 11 * 86_400_000);
});

for (const [what, dns, ips] of [
  ['a public name', ['example.com'], []],
  ['a public name beside a permitted one', ['den.local', 'bank.example'], []],
  ['a name ending like .local without the dot', ['evillocal'], []],
  ['a public address', [], ['8.8.8.8']],
  ['a public IPv6 address', [], ['2001:db8::1']],
] as const) {
  test(`a leaf the CA signed for ${what} fails validation (name constraints)`, async () => {
    const leaf = await makeLeaf({ dns: [...dns], ips: [...ips], issuer: intermediate, now, days: 10 });
    const r = verify(leaf.certPem);
    assert.equal(r.ok, false, `${what} must not verify`);
    assert.match(r.output, /permitted subtree violation|name constraints/i);
  });
}
