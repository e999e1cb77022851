import assert from 'node:assert/strict';
import { test } from 'node:test';
import { certificateState, DAY, plan, RENEW_BEFORE_MS, retryDelay } from './plan.ts';

const now = Date.UTC(2026, 11, 7);
const fresh = { name: 'a.example.com', notAfter: null, failures: 0, lastAttempt: null };

test('a domain without a certificate is issued at once', () => {
  assert.deepEqual(plan([fresh], now), [{ kind: 'issue', name: 'a.example.com', reason: 'new' }]);
  assert.equal(certificateState(fresh, now), 'pending');
});

test('a certificate is renewed 30 days before its end, not a moment sooner', () => {
  const d = { ...fresh, notAfter: now + RENEW_BEFORE_MS + 1, lastAttempt: now - 60 * DAY };
  assert.deepEqual(plan([d], now), []);
  assert.equal(certificateState(d, now), 'valid');
  assert.deepEqual(plan([d], now + 1), [{ kind: 'issue', name: 'a.example.com', reason: 'renew' }]);
  assert.equal(certificateState(d, now + 1), 'renewing');
  assert.equal(certificateState(d, now + RENEW_BEFORE_MS + 1), 'expired');
});

test('after failures the next try waits longer each time, up to a day; asking skips the wait', () => {
  assert.deepEqual([1, 2, 3, 4, 12, 40].map(retryDelay), [300_000, 600_000, 1_200_000, 2_400_000, DAY, DAY]);
  const failed = { ...fresh, failures: 2, lastAttempt: now };
  assert.deepEqual(plan([failed], now + 599_999), []);
  assert.equal(plan([failed], now + 600_000).length, 1);
  assert.equal(certificateState(failed, now), 'failing');
  assert.deepEqual(plan([failed], now, new Set(['a.example.com'])), [
    { kind: 'issue', name: 'a.example.com', reason: 'asked' },
  ]);
  // A renewal failing keeps the certificate in use, and says so.
  const renewing = { ...failed, notAfter: now + 10 * DAY };
  assert.equal(certificateState(renewing, now), 'failing');
  assert.deepEqual(plan([renewing], now + DAY), [{ kind: 'issue', name: 'a.example.com', reason: 'renew' }]);
});
