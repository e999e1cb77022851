import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Events } from '../events/events.ts';
import type { AcmeCa, IssueRequest } from '../host/acme.ts';
import { silentLogger } from '../log/log.ts';
import { Notifications } from '../notifications/notifications.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import { Acme } from './acme.ts';
import { DAY } from './plan.ts';
import { AcmeRows } from './rows.ts';

/** A CA in memory: answers what `decide` says, after looking at the challenge the box offers. */
function setup(decide: (r: IssueRequest, acme: Acme) => Promise<void> = async () => {}) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  const notifications = new Notifications({ db, state });
  let now = Date.UTC(2026, 11, 7);
  const orders: IssueRequest[] = [];
  let keys = 0;
  const ca: AcmeCa = {
    createAccountKey: async () => `key-${++keys}`,
    validity: () => ({ notBefore: now, notAfter: now + 90 * DAY }),
    async issue(r) {
      orders.push(r);
      const c = { type: r.type, domain: r.domain, token: 'tok_EN-1', keyAuthorization: 'tok_EN-1.thumb' };
      await r.hooks.present(c);
      try {
        await decide(r, acme);
      } finally {
        await r.hooks.cleanUp(c);
      }
      return {
        certPem: `cert ${orders.length}`,
        keyPem: 'key',
        accountUrl: 'https://ca/acct/1',
        notBefore: now,
        notAfter: now + 90 * DAY,
      };
    },
  };
  const acme = new Acme({
    rows: new AcmeRows(db),
    ca: async () => ca,
    dnsProvider: () => ({ setTxt: async () => {}, removeTxt: async () => {} }),
    notifications,
    events: new Events({ db, retentionDays: 30 }),
    directoryUrl: 'https://ca/dir',
    email: '',
    log: silentLogger,
    now: () => now,
  });
  return {
    acme,
    db,
    notifications,
    orders,
    tick: (ms: number) => {
      now += ms;
    },
    keys: () => keys,
  };
}

test('a challenge is answered only for its own domain and token, while it is under way', async () => {
  const seen: Record<string, string | undefined> = {};
  const { acme } = setup(async (r, a) => {
    if (r.domain !== 'cloud.example.com') return;
    seen['own'] = a.challengeAnswer(r.domain, 'tok_EN-1');
    seen['upper-case host'] = a.challengeAnswer('CLOUD.example.com.', 'tok_EN-1');
    seen['other host'] = a.challengeAnswer('other.example.com', 'tok_EN-1');
    for (const token of [
      '../tok_EN-1',
      'tok_EN-1/..',
      '%2e%2e',
      'tok_EN-1\0',
      '',
      'x'.repeat(10_000),
      'tok EN',
      '<script>',
    ]) {
      seen[token] = a.challengeAnswer(r.domain, token);
    }
  });
  acme.add({ name: 'cloud.example.com', challenge: 'http-01' });
  acme.add({ name: 'other.example.com', challenge: 'http-01' });
  await acme.idle();
  assert.equal(seen['own'], 'tok_EN-1.thumb');
  assert.equal(seen['upper-case host'], 'tok_EN-1.thumb');
  for (const [k, v] of Object.entries(seen))
    if (k !== 'own' && k !== 'upper-case host') assert.equal(v, undefined, k);
  // Done: nothing is answered any more.
  assert.equal(acme.challengeAnswer('cloud.example.com', 'tok_EN-1'), undefined);
});

test('the account key is made once per directory; the certificate is served by name until it ends', async () => {
  const { acme, db, orders, tick, keys } = setup();
  acme.add({ name: 'a.example.com', challenge: 'http-01' });
  acme.add({ name: 'b.example.com', challenge: 'http-01' });
  await acme.idle();
  assert.equal(keys(), 1);
  assert.deepEqual(
    orders.map((o) => [o.domain, o.accountKeyPem, o.accountUrl]),
    [
      ['a.example.com', 'key-1', null],
      ['b.example.com', 'key-1', 'https://ca/acct/1'],
    ],
  );
  assert.deepEqual(acme.certificateFor('A.Example.com'), { certPem: 'cert 1', keyPem: 'key' });
  assert.equal(acme.certificateFor('c.example.com'), undefined);
  const kinds = db.prepare('SELECT kind, detail FROM events ORDER BY id').all() as {
    kind: string;
    detail: string;
  }[];
  assert.deepEqual(
    kinds.map((e) => [e.kind, (JSON.parse(e.detail) as { name: string }).name]),
    [
      ['certificate-issued', 'a.example.com'],
      ['certificate-issued', 'b.example.com'],
    ],
  );
  tick(91 * DAY);
  assert.equal(acme.certificateFor('a.example.com'), undefined, 'an expired certificate is not served');
});

test('names are checked: private names, IPs, bad zones, duplicates refused', () => {
  const { acme } = setup();
  for (const name of [
    'hearth.local',
    'x.internal',
    '192.168.1.1',
    'nodot',
    'a..b.com',
    '-a.com',
    'a.b.home.arpa',
  ]) {
    assert.throws(() => acme.add({ name, challenge: 'http-01' }), /not a domain name|private name/, name);
  }
  const dns = {
    server: '192.0.2.1',
    port: 53,
    zone: 'example.org',
    keyName: 'k',
    secret: 'c2VjcmV0c2VjcmV0c2VjcmV0',
  };
  assert.throws(() => acme.add({ name: 'a.example.com', challenge: 'dns-01', dns }), /not in the zone/);
  assert.throws(() => acme.add({ name: 'a.example.com', challenge: 'dns-01' }), /needs its DNS server/);
  assert.throws(
    () => acme.add({ name: 'a.example.com', challenge: 'http-01', package: 'nextcloud' }),
    /both package/,
  );
  acme.add({ name: 'a.example.org', challenge: 'dns-01', dns });
  assert.throws(() => acme.add({ name: 'A.example.org.', challenge: 'http-01' }), /already/);
  // The secret stays in the row: never in a view.
  assert.ok(!JSON.stringify(acme.list()).includes(dns.secret));
});

test('a failed first order is no renewal: the check tells, no notification', async () => {
  const { acme, notifications } = setup(async () => {
    throw new Error('the CA could not reach the box');
  });
  acme.add({ name: 'a.example.com', challenge: 'http-01' });
  await acme.idle();
  assert.equal(acme.get('a.example.com').state, 'failing');
  assert.equal(notifications.list({ unseenOnly: false, limit: 5 }).length, 0);
  const [, failing] = acme.checks();
  const found = await failing!.run();
  assert.ok(Array.isArray(found) && found[0]!.message.includes('could not be issued'));
});
