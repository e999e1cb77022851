import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Acme } from '../src/acme/acme.ts';
import { DAY } from '../src/acme/plan.ts';
import { AcmeRows } from '../src/acme/rows.ts';
import { acmeCa } from '../src/host/acme.ts';
import { rfc2136Provider, sendUpdate } from '../src/host/rfc2136.ts';
import { silentLogger } from '../src/log/log.ts';
import { Notifications } from '../src/notifications/notifications.ts';
import { type Db, migrate, openDatabase } from '../src/state/db.ts';
import { MIGRATIONS } from '../src/state/migrations.ts';
import { StateDocument } from '../src/state/state-doc.ts';
import { freePort, haveAcmeTools, Procs, startKnot, startPebble } from './acme-harness.ts';
import { required } from './required.ts';

/*
 * `make test-net`: DNS-01 through RFC 2136 to a real knotd, pebble resolving through that
 * knotd; renewal when the box's clock (the planner's input) says the certificate ends
 * within 30 days; a failed renewal's notification; and a restart (a new service over the
 * same database) that keeps the account and the certificate. The ACME domain is driven
 * in-process with its real host adapters, so the clock can move.
 */

const skip = required(
  !haveAcmeTools && 'pebble and knot are not installed (apt-get install pebble knot)',
  'acme-net',
);
const ZONE = 'hearth-test.example';
const NAME = `box.${ZONE}`;

function service(db: Db, o: { directoryUrl: string; caFile: string; now: () => number }) {
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  const notifications = new Notifications({ db, state });
  const acme = new Acme({
    rows: new AcmeRows(db),
    ca: async () => acmeCa({ caPem: fs.readFileSync(o.caFile, 'utf8') }),
    dnsProvider: rfc2136Provider,
    notifications,
    directoryUrl: o.directoryUrl,
    email: 'owner@hearth-test.example',
    log: silentLogger,
    now: o.now,
  });
  return { acme, notifications };
}

test(
  'DNS-01 via RFC 2136 to knotd, renewal 30 days before the end, a failed renewal told, a restart keeps all',
  { skip },
  async (t) => {
    const procs = new Procs();
    t.after(() => procs.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-acme-net-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const knot = await startKnot(procs, dir, ZONE);
    // HTTP-01 is never used here: its port is one nobody listens on.
    const pebble = await startPebble(procs, dir, {
      httpPort: await freePort(),
      dnsServer: `127.0.0.1:${knot.port}`,
    });

    const dbFile = path.join(dir, 'hearth.db');
    let db = openDatabase(dbFile);
    migrate(db, MIGRATIONS);
    let offset = 0;
    const now = () => Date.now() + offset;
    let { acme } = service(db, { ...pebble, now });
    const dns = {
      server: '127.0.0.1',
      port: knot.port,
      zone: ZONE,
      keyName: knot.keyName,
      secret: knot.secret,
    };

    // The provider alone: a record added and removed in the real zone.
    const provider = rfc2136Provider({ ...dns, key: { name: dns.keyName, secret: dns.secret } });
    await provider.setTxt(`_probe.${ZONE}`, 'hello');
    assert.deepEqual(await knot.txt(`_probe.${ZONE}`), ['hello']);
    await provider.removeTxt(`_probe.${ZONE}`, 'hello');
    assert.deepEqual(await knot.txt(`_probe.${ZONE}`), []);
    // A wrong key is refused by the server, and said so.
    await assert.rejects(
      sendUpdate({ ...dns, key: { name: dns.keyName, secret: Buffer.alloc(32, 1).toString('base64') } }, [
        { action: 'add', name: `x.${ZONE}`, value: 'no' },
      ]),
      /refused the key|NOTAUTH/,
    );

    acme.add({ name: NAME, challenge: 'dns-01', dns });
    await acme.idle();
    let view = acme.get(NAME);
    assert.equal(view.state, 'valid', `${view.lastError}`);
    const first = acme.certificateFor(NAME)!;
    assert.ok(first);
    const leaf = new X509Certificate(first.certPem);
    assert.ok(leaf.checkHost(NAME));
    assert.ok(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(first.keyPem)));
    // The challenge's record is gone from the zone once the order is done.
    assert.deepEqual(await knot.txt(`_acme-challenge.${NAME}`), []);
    const accountOf = (d: Db) =>
      d.prepare('SELECT key_pem, url FROM acme_accounts WHERE directory = ?').all(pebble.directoryUrl);
    const account = accountOf(db) as {
      key_pem: string;
      url: string;
    }[];
    assert.equal(account.length, 1);
    assert.match(account[0]!.url, /^https:\/\/127\.0\.0\.1:\d+\//);

    // Nothing is due while the certificate has more than 30 days.
    await acme.reconcile();
    assert.equal(acme.certificateFor(NAME)!.certPem, first.certPem);

    // 29 days before its end, the loop renews it.
    offset = view.notAfter! - Date.now() - 29 * DAY;
    assert.equal(acme.get(NAME).state, 'renewing');
    await acme.reconcile();
    view = acme.get(NAME);
    assert.equal(view.failures, 0, `${view.lastError}`);
    const renewed = acme.certificateFor(NAME)!;
    assert.notEqual(renewed.certPem, first.certPem);
    assert.notEqual(renewed.keyPem, first.keyPem);

    // A renewal that fails (the CA refuses) is told once, then waits before trying
    // again. (Not a broken DNS server: pebble 2.4 may reuse the valid authorization, at random,
    // so a renewal need not touch DNS; rfc2136.test.ts has the silent and hostile servers.)
    // A day on: still within the 30 days, and after the last order (pebble's times are in seconds).
    offset += DAY;
    const closed = pebble.directoryUrl.replace(/\/dir$/, '/no-such-directory');
    const broken = service(db, { directoryUrl: closed, caFile: pebble.caFile, now });
    await broken.acme.reconcile();
    view = broken.acme.get(NAME);
    assert.equal(view.state, 'failing');
    assert.match(view.lastError ?? '', /404/);
    const told = broken.notifications.list({ unseenOnly: false, limit: 10 });
    assert.equal(told.length, 1);
    assert.match(told[0]!.title, /Renewing the certificate for box\.hearth-test\.example failed/);
    await broken.acme.reconcile();
    assert.equal(broken.acme.get(NAME).failures, 1, 'the backoff holds the next try');
    const checks = await Promise.all(broken.acme.checks().map((c) => c.run()));
    assert.ok(JSON.stringify(checks).includes('could not be renewed'));
    // The certificate in use stays what it was.
    assert.equal(broken.acme.certificateFor(NAME)!.certPem, renewed.certPem);

    // A restart: a new service over the same database has the account and the certificate.
    db.close();
    db = openDatabase(dbFile);
    t.after(() => db.close());
    ({ acme } = service(db, { ...pebble, now }));
    assert.equal(acme.certificateFor(NAME)!.certPem, renewed.certPem);
    // Asked for, the order goes out at once, with the same account.
    view = await acme.issueNow(NAME);
    assert.equal(view.failures, 0, `${view.lastError}`);
    assert.deepEqual(accountOf(db), account);
  },
);
