import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  afterProbe,
  nextProbeDelay,
  RESTART_MAX_MS,
  restartDelay,
  startCheck,
  startingGraceMs,
  startOrder,
} from './plan.ts';

const d = (id: string, requires: string[] = [], startTimeoutSeconds = 60) => ({
  id,
  requires,
  startTimeoutSeconds,
});
const ids = (list: { id: string }[]) => list.map((x) => x.id);

test('startOrder: requirements first, otherwise declaration order', () => {
  assert.deepEqual(ids(startOrder([d('web', ['db', 'cache']), d('db'), d('cache'), d('cron')])), [
    'db',
    'cache',
    'web',
    'cron',
  ]);
  assert.deepEqual(ids(startOrder([d('a'), d('b'), d('c')])), ['a', 'b', 'c']);
  assert.deepEqual(ids(startOrder([d('c', ['b']), d('b', ['a']), d('a')])), ['a', 'b', 'c']);
  assert.deepEqual(ids(startOrder([])), []);
});

test('startOrder: a cycle is refused and named; so is a requirement nobody declares', () => {
  assert.throws(() => startOrder([d('a', ['b']), d('b', ['c']), d('c', ['a']), d('free')]), {
    code: 'daemon_cycle',
    message: "the daemons' requires form a cycle: a → b → c → a",
  });
  assert.throws(() => startOrder([d('ok'), d('x', ['ok', 'y']), d('y', ['x'])]), {
    code: 'daemon_cycle',
    message: /x → y → x/,
  });
  assert.throws(() => startOrder([d('self', ['self'])]), { code: 'daemon_cycle', message: /self → self/ });
  assert.throws(() => startOrder([d('web', ['db'])]), { code: 'daemon_unknown_requirement' });
});

test('restartDelay: doubles from 1 s to 30 s, back to 1 s after a long run', () => {
  let failures = 0;
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const next = restartDelay(failures, 200);
    failures = next.failures;
    delays.push(next.delayMs);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  assert.equal(RESTART_MAX_MS, 30000);
  assert.deepEqual(restartDelay(failures, 60_000), { failures: 1, delayMs: 1000 });
});

test('health: starting until the first success, failures in the grace period stay starting', () => {
  const intervals = { startingSeconds: 2, healthySeconds: 30 };
  let s = startCheck(0);
  assert.equal(s.status, 'starting');
  assert.equal(nextProbeDelay(s, intervals), 2000);

  let r = afterProbe(s, { ok: false, message: 'connection refused' }, 1000, 10_000);
  assert.equal(r.changed, false);
  assert.equal(r.state.status, 'starting');
  assert.match(r.state.message, /connection refused/);
  s = r.state;

  r = afterProbe(s, { ok: true, message: 'GET /: 200' }, 3000, 10_000);
  assert.deepEqual([r.changed, r.state.status, r.state.message], [true, 'success', 'GET /: 200']);
  s = r.state;
  assert.equal(nextProbeDelay(s, intervals), 30_000);

  r = afterProbe(s, { ok: true, message: 'GET /: 200' }, 33_000, 10_000);
  assert.equal(r.changed, false, 'no change, nothing to report');

  r = afterProbe(r.state, { ok: false, message: 'GET /: 503, expected 200' }, 63_000, 10_000);
  assert.deepEqual([r.changed, r.state.status], [true, 'failure']);
  assert.equal(nextProbeDelay(r.state, intervals), 2000, 'a failing check is probed at the quick pace');

  r = afterProbe(r.state, { ok: true, message: 'GET /: 200' }, 65_000, 10_000);
  assert.deepEqual([r.changed, r.state.status], [true, 'success']);
});

test('health: a check that never succeeds fails when the grace period is over', () => {
  const s = startCheck(0);
  const r = afterProbe(s, { ok: false, message: 'port 80: connection refused' }, 10_000, 10_000);
  assert.deepEqual(
    [r.changed, r.state.status, r.state.message],
    [true, 'failure', 'port 80: connection refused'],
  );
  const again = afterProbe(r.state, { ok: false, message: 'port 80: connection refused' }, 12_000, 10_000);
  assert.equal(again.changed, false);
  assert.ok(afterProbe(s, { ok: false, message: 'x'.repeat(900) }, 1, 10).state.message.length <= 500);
});

test('startingGraceMs: the slowest chain of requires', () => {
  assert.equal(startingGraceMs([d('db', [], 60), d('web', ['db'], 30), d('cron', [], 10)]), 90_000);
  assert.equal(startingGraceMs([d('a', [], 5)]), 5000);
  assert.equal(startingGraceMs([]), 0);
});
