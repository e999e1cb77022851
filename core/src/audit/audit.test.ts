import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../log/log.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { Audit, type AuditEntry } from './audit.ts';

const DAY = 86_400_000;

function make(now: () => number, maxEntries = 100) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  return new Audit({ db, log: silentLogger, retentionDays: 30, maxEntries, now });
}

const entry = (at: number, method = 'server.info', outcome: AuditEntry['outcome'] = 'ok'): AuditEntry => ({
  at,
  method,
  surface: 'http',
  callerKind: 'token',
  callerId: 't1',
  callerName: 'script',
  address: '192.0.2.7',
  durationMs: 1.5,
  outcome,
  errorCode: outcome === 'error' ? 'forbidden' : null,
  params: { a: 1 },
  confirmation: null,
});

test('entries are listed newest first, with filters and paging', () => {
  const audit = make(() => 10 * DAY);
  for (let i = 0; i < 5; i++)
    audit.record(entry(i * 1000, i % 2 ? 'auth.login' : 'server.info', i === 4 ? 'error' : 'ok'));
  const all = audit.list({ limit: 10 });
  assert.deepEqual(
    all.map((e) => e.at),
    [4000, 3000, 2000, 1000, 0],
  );
  assert.deepEqual(all[0]!.params, { a: 1 });
  assert.equal(audit.list({ method: 'auth.login', limit: 10 }).length, 2);
  assert.equal(audit.list({ outcome: 'error', limit: 10 })[0]!.errorCode, 'forbidden');
  assert.equal(audit.list({ since: 1000, until: 3000, limit: 10 }).length, 2);
  const page = audit.list({ before: all[1]!.id, limit: 2 });
  assert.deepEqual(
    page.map((e) => e.at),
    [2000, 1000],
  );
});

test('retention by age: entries older than retentionDays go, however few there are', () => {
  let now = 0;
  const audit = make(() => now, 100);
  for (let i = 0; i < 5; i++) audit.record(entry(i));
  now = 40 * DAY;
  audit.record(entry(now - 30 * DAY));
  audit.record(entry(now - 30 * DAY - 1));
  audit.record(entry(now));
  // Well under maxEntries: only the age rule can remove anything.
  assert.equal(audit.prune(), 6);
  assert.deepEqual(
    audit.list({ limit: 1000 }).map((e) => e.at),
    [now, now - 30 * DAY],
  );
});

test('retention by count: past maxEntries the oldest go, the newest maxEntries stay', () => {
  const now = 40 * DAY;
  const audit = make(() => now, 100);
  for (let i = 0; i < 150; i++) audit.record(entry(now - 1000 + i));
  // All within the age limit: only the count rule can remove anything.
  assert.equal(audit.prune(), 50);
  const left = audit.list({ limit: 1000 });
  assert.equal(left.length, 100);
  assert.equal(Math.min(...left.map((e) => e.at)), now - 1000 + 50);
});

const anonymousCall = (at: number, address: string, method = 'auth.login'): AuditEntry => ({
  ...entry(at, method, 'error'),
  callerKind: 'anonymous',
  callerId: null,
  callerName: null,
  errorCode: 'wrong_password',
  address,
});

test('calls without a credential and failed calls are one entry per address, method and minute', () => {
  let now = 60_000;
  const audit = make(() => now);
  for (let i = 0; i < 1000; i++) audit.record(anonymousCall(now + (i % 50), '192.0.2.9'));
  audit.flush();
  for (let i = 0; i < 500; i++) audit.record(anonymousCall(now + 100, '192.0.2.9'));
  audit.record(anonymousCall(now, '192.0.2.10'));
  audit.record(anonymousCall(now, '192.0.2.10', 'rpc.discover'));
  // A failed call with a credential is grouped too; a successful one is an entry of its own.
  for (let i = 0; i < 3; i++) audit.record(entry(now, 'package.get', 'error'));
  for (let i = 0; i < 3; i++) audit.record(entry(now, 'package.get', 'ok'));
  const rows = audit.list({ limit: 100 });
  const counts = rows.map((r) => `${r.address} ${r.method} ${r.outcome} ${r.count}`).sort();
  assert.deepEqual(counts, [
    '192.0.2.10 auth.login error 1',
    '192.0.2.10 rpc.discover error 1',
    '192.0.2.7 package.get error 3',
    '192.0.2.7 package.get ok 1',
    '192.0.2.7 package.get ok 1',
    '192.0.2.7 package.get ok 1',
    '192.0.2.9 auth.login error 1500',
  ]);
  // The next minute starts a new entry.
  now += 60_000;
  audit.record(anonymousCall(now, '192.0.2.9'));
  assert.equal(audit.list({ limit: 100, method: 'auth.login' }).length, 3);
});

test('IPv6 callers are grouped by their /64', () => {
  const audit = make(() => 0);
  for (let i = 1; i <= 100; i++) audit.record(anonymousCall(0, `2001:db8::${i.toString(16)}`));
  const rows = audit.list({ limit: 100 });
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.count, 100);
  assert.equal(rows[0]!.address, '2001:db8:0:0::/64');
});

test('when the log is over its size, grouped entries go before the owner’s', () => {
  const audit = make(() => 0, 100);
  for (let i = 0; i < 60; i++) audit.record(entry(i, 'package.start'));
  for (let i = 0; i < 200; i++) audit.record(anonymousCall(i * 60_000, '192.0.2.9'));
  audit.prune();
  const left = audit.list({ limit: 1000 });
  assert.equal(left.length, 100);
  assert.equal(left.filter((e) => e.method === 'package.start').length, 60);
});
