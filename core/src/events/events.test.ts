import assert from 'node:assert/strict';
import { test } from 'node:test';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { Events, type HearthEvent } from './events.ts';

function setup(o: { retentionDays?: number; maxEvents?: number } = {}) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  let now = 1_800_000_000_000;
  const events = new Events({ db, retentionDays: o.retentionDays ?? 30, now: () => now, ...o });
  return {
    db,
    events,
    tick: (ms: number) => {
      now += ms;
    },
  };
}

test('events are recorded and listed newest first, by package, kind, time and page', () => {
  const { events, tick } = setup();
  const heard: HearthEvent[] = [];
  const unsubscribe = events.subscribe((e) => heard.push(e));
  events.record({ package: 'web', kind: 'installed', detail: { version: '1.0.0' } });
  tick(1000);
  events.record({ package: 'web', kind: 'crashed' });
  tick(1000);
  events.record({ kind: 'check-failing', detail: { check: 'free-space' } });
  unsubscribe();
  events.record({ package: 'db', kind: 'started' });

  assert.deepEqual(
    events.list({ limit: 10 }).map((e) => [e.package, e.kind]),
    [
      ['db', 'started'],
      [null, 'check-failing'],
      ['web', 'crashed'],
      ['web', 'installed'],
    ],
  );
  assert.equal(heard.length, 3);
  assert.deepEqual(events.list({ package: 'web', limit: 10 })[1]!.detail, { version: '1.0.0' });
  assert.deepEqual(
    events.list({ kinds: ['crashed', 'started'], limit: 10 }).map((e) => e.kind),
    ['started', 'crashed'],
  );
  const [newest, second] = events.list({ limit: 2 });
  assert.deepEqual(
    events.list({ before: second!.id, limit: 10 }).map((e) => e.kind),
    ['crashed', 'installed'],
  );
  assert.equal(newest!.kind, 'started');
  assert.deepEqual(
    events.list({ since: 1_800_000_001_000, limit: 10 }).map((e) => e.kind),
    ['started', 'check-failing', 'crashed'],
  );
  // Values go through as SQL parameters, never into the statement.
  assert.deepEqual(events.list({ package: "web' OR 1=1 --", limit: 10 }), []);
});

test('old events go after the retention, and the oldest when there are too many', () => {
  const { events, tick, db } = setup({ retentionDays: 2, maxEvents: 150 });
  events.record({ package: 'old', kind: 'installed' });
  tick(3 * 86_400_000);
  for (let i = 0; i < 199; i++) events.record({ package: 'new', kind: 'reconciled' });
  // Pruned every hundred inserts: the old one is gone, and at most maxEvents stay after.
  assert.equal(events.list({ package: 'old', limit: 10 }).length, 0);
  events.prune();
  assert.equal((db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 150);
});
