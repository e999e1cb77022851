import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import tls from 'node:tls';
import { parseManifest } from '#sdk/manifest.ts';
import { sampleManifest } from '#sdk/testing/fixtures.ts';
import { expiryCheck } from '../checks/hooks.ts';
import { Events } from '../events/events.ts';
import { fileKeyStore } from '../host/tls-keys.ts';
import { silentLogger } from '../log/log.ts';
import { Notifications } from '../notifications/notifications.ts';
import { effectsFor } from '../packages/effects-host.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import { Tls } from './tls.ts';

/*
 * The service over a real database and key files: what it issues serves real TLS
 * handshakes by name, a package gets its own certificate, renewals leave no stale keys.
 */

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tls-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const DAY = 86_400_000;

function make(o: { setUp?: boolean; packages?: string[] } = {}) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const keysDir = fs.mkdtempSync(path.join(dir, 'keys-'));
  let now = Date.now();
  const desired = { hostname: 'den', addresses: ['192.168.7.2'], packages: o.packages ?? ['radicale'] };
  const events: { package: string | null; detail: Record<string, string | string[]> }[] = [];
  const service = new Tls({
    db,
    record: (e) => events.push(e),
    keys: fileKeyStore(path.join(keysDir, 'tls')),
    desired: () => (o.setUp === false ? undefined : desired),
    x509: () => import('./x509.ts'),
    log: silentLogger,
    now: () => now,
  });
  return {
    db,
    service,
    desired,
    events,
    keysDir: path.join(keysDir, 'tls'),
    later: (days: number) => {
      now += days * DAY;
    },
  };
}

/** A TLS handshake against a server using the service's contexts; the subject names the peer showed. */
async function handshake(service: Tls, servername: string | undefined, ca: string): Promise<string> {
  const server = tls.createServer({
    ...service.boxCredentials!,
    SNICallback: (n, cb) => cb(null, service.contextFor(n)!),
  });
  server.on('secureConnection', (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as { port: number }).port;
    return await new Promise<string>((resolve, reject) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca, ...(servername ? { servername } : {}) }, () => {
        resolve(s.getPeerX509Certificate()!.subjectAltName ?? '');
        s.end();
      });
      s.on('error', reject);
    });
  } finally {
    server.close();
  }
}

test('before setup: no CA, nothing to serve', async () => {
  const { service } = make({ setUp: false });
  await service.reconcile();
  assert.equal(service.ca(), undefined);
  assert.equal(service.boxCredentials, undefined);
  assert.equal(service.certificateFor('radicale'), null);
});

test('after setup: the box and each package are served under their names, chained to the root', async () => {
  const { service, keysDir } = make();
  await service.reconcile();
  const ca = service.ca()!;
  assert.match(await handshake(service, 'den.local', ca.pem), /DNS:den\.local/);
  assert.match(await handshake(service, 'den-radicale.local', ca.pem), /^DNS:den-radicale\.local$/);
  // Unknown names and no name at all: the box's own.
  assert.match(
    await handshake(service, 'other.example', ca.pem).catch((e: Error) => e.message),
    /den\.local|altname|Hostname/i,
  );
  // The keys: one file each, root's alone.
  for (const f of fs.readdirSync(keysDir))
    assert.equal(fs.statSync(path.join(keysDir, f)).mode & 0o777, 0o600);
  assert.equal(fs.statSync(keysDir).mode & 0o777, 0o700);
  assert.equal(fs.readdirSync(keysDir).length, 4);
  assert.equal(
    ca.fingerprint,
    new crypto.X509Certificate(ca.der).fingerprint256.replaceAll(':', '').toLowerCase(),
  );
});

test('effects.getCertificate: the package’s own names, a chain to the CA and the matching key', async () => {
  const { service, db } = make({ packages: ['app'] });
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 10 });
  const manifest = parseManifest(sampleManifest({ id: 'app' }));
  const effects = effectsFor('app', {
    lookup: () => ({ id: 'app', version: '1.0.0', manifest, address: '10.73.0.2', status: 'running' }),
    state,
    notifications: new Notifications({ db, state }),
    events: new Events({ db, retentionDays: 1 }),
    arch: 'x86_64',
    log: silentLogger,
    certificate: async (id) => {
      await service.reconcile();
      return service.certificateFor(id);
    },
  });
  const iface = manifest.interfaces[0]!.id;
  const cert = await effects['effects.getCertificate']({ interfaceId: iface });
  assert.ok(cert);
  assert.deepEqual(cert.hostnames, ['den-app.local']);
  const [leaf, intermediate] = cert.chainPem.split(/(?<=-----END CERTIFICATE-----\n)/);
  const x = new crypto.X509Certificate(leaf!);
  assert.ok(x.checkPrivateKey(crypto.createPrivateKey(cert.keyPem)));
  assert.ok(x.verify(new crypto.X509Certificate(intermediate!).publicKey));
  assert.ok(
    new crypto.X509Certificate(intermediate!).verify(new crypto.X509Certificate(service.ca()!.pem).publicKey),
  );
  assert.equal(new Date(cert.expiresAt).getTime(), x.validToDate.getTime());
  assert.equal(await effects['effects.getCertificate']({ interfaceId: 'not-mine' }), null);
});

test('renewal: due leaves are made anew, the CA stays, no stale key is left', async () => {
  const { service, keysDir, later, events } = make();
  await service.reconcile();
  assert.deepEqual(
    events.map((e) => [e.detail['step'], e.package]),
    [
      ['issue-root', null],
      ['issue-intermediate', null],
      ['issue-leaf', null],
      ['issue-leaf', 'radicale'],
    ],
  );
  const first = service.status();
  let changes = 0;
  service.onChange(() => changes++);
  later(61);
  await service.reconcile();
  const renewed = service.status();
  const fp = (s: typeof first, id: string) => s.certificates.find((c) => c.id === id)!.fingerprint;
  assert.equal(fp(renewed, 'root'), fp(first, 'root'));
  assert.equal(fp(renewed, 'intermediate'), fp(first, 'intermediate'));
  assert.notEqual(fp(renewed, 'box'), fp(first, 'box'));
  assert.notEqual(fp(renewed, 'package:radicale'), fp(first, 'package:radicale'));
  assert.equal(changes, 1);
  assert.equal(fs.readdirSync(keysDir).length, 4);
  // And nothing more to do on the next pass.
  await service.reconcile();
  assert.equal(changes, 1);
});

test('a package removed: its certificate and key go', async () => {
  const { service, desired, keysDir } = make();
  await service.reconcile();
  desired.packages = [];
  await service.reconcile();
  assert.equal(service.certificateFor('radicale'), null);
  assert.deepEqual(
    service.status().certificates.map((c) => c.id),
    ['box', 'intermediate', 'root'],
  );
  assert.equal(fs.readdirSync(keysDir).length, 3);
});

test('the expiry check sees every certificate: quiet while renewal works, loud when it has not', async () => {
  const { service } = make();
  await service.reconcile();
  const at = async (days: number) => {
    const found = await expiryCheck({
      id: 'box-certificates',
      title: 'Certificates',
      items: async () => service.expiring(),
      renewHint: 'renewal',
      now: () => Date.now() + days * DAY,
    }).run();
    assert.ok(Array.isArray(found));
    return found;
  };
  assert.deepEqual(await at(0), []);
  // 80 days on without a renewal (the box was off): the leaves are near their end.
  const findings = await at(80);
  assert.deepEqual(
    findings.map((f) => [f.subject, f.severity, f.package ?? null]),
    [
      ['tls:box', 'warning', null],
      ['tls:package:radicale', 'warning', 'radicale'],
    ],
  );
  assert.match(findings[0]!.message, /den\.local expires in \d+ days/);
});
