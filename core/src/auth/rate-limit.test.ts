import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FailureLimiter } from './rate-limit.ts';

test('five failures within the window lock an address out, and the lock says how long', () => {
  let now = 0;
  const l = new FailureLimiter({ maxFailures: 5, windowMs: 60_000, now: () => now });
  for (let i = 0; i < 5; i++) {
    l.check('a');
    l.fail('a');
    now += 1000;
  }
  assert.throws(
    () => l.check('a'),
    (e: Error & { data?: { retryAfterSeconds: number } }) => {
      assert.equal(e.data?.retryAfterSeconds, 55);
      assert.match(e.message, /try again in 55 s/);
      return true;
    },
  );
  l.check('b');
  now = 60_001;
  l.check('a');
});

test('a success clears the failures', () => {
  const l = new FailureLimiter({ maxFailures: 2, windowMs: 60_000, now: () => 0 });
  l.fail('a');
  l.succeed('a');
  l.fail('a');
  l.check('a');
});

test('the number of tracked addresses is bounded', () => {
  const l = new FailureLimiter({ maxFailures: 1, windowMs: 60_000, now: () => 0, maxAddresses: 2 });
  l.fail('a');
  l.fail('b');
  l.fail('c');
  l.check('a');
  assert.throws(() => l.check('c'));
});
