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

test('retention drops entries by age, then keeps the newest maxEntries', () => {
  let now = 0;
  const audit = make(() => now, 100);
  for (let i = 0; i < 150; i++) audit.record(entry(i));
  now = 40 * DAY;
  audit.record(entry(now));
  for (let i = 0; i < 120; i++) audit.record(entry(now + i));
  audit.prune();
  const left = audit.list({ limit: 1000 });
  assert.equal(left.length, 100);
  assert.ok(left.every((e) => e.at >= now));
});
