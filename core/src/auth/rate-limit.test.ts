import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LoginLimiter } from './rate-limit.ts';

const options = { perAddress: 5, windowMs: 60_000, accountBurst: 20, accountIntervalMs: 10_000 };
const untrusted = () => false;

const refused = (f: () => unknown, seconds?: number) =>
  assert.throws(f, (e: Error & { code?: string; data?: { retryAfterSeconds: number } }) => {
    assert.equal(e.code, 'rate_limited');
    if (seconds !== undefined) assert.equal(e.data?.retryAfterSeconds, seconds);
    return true;
  });

test('an attempt counts when it begins: five at once from one address, then one every 12 s', () => {
  let now = 0;
  const l = new LoginLimiter({ ...options, now: () => now });
  // Five checks begun together (parallel calls, a batch) before any has failed.
  for (let i = 0; i < 5; i++) l.begin('10.0.0.1', untrusted);
  refused(() => l.begin('10.0.0.1', untrusted), 12);
  l.begin('10.0.0.2', untrusted);
  now += 12_000;
  l.begin('10.0.0.1', untrusted);
  refused(() => l.begin('10.0.0.1', untrusted));
});

test('a success gives the address its attempts back', () => {
  const l = new LoginLimiter({ ...options, now: () => 0 });
  for (let i = 0; i < 4; i++) l.begin('a', untrusted);
  l.begin('a', untrusted).succeeded();
  for (let i = 0; i < 5; i++) l.begin('a', untrusted);
  refused(() => l.begin('a', untrusted));
});

test('the account slows down after a burst from many addresses, but not for trusted ones', () => {
  let now = 0;
  const l = new LoginLimiter({ ...options, now: () => now });
  for (let i = 0; i < 20; i++) l.begin(`10.0.1.${i}`, untrusted);
  refused(() => l.begin('10.0.2.1', untrusted), 10);
  // The owner's device, which holds a session, still gets its own attempts.
  l.begin('10.0.2.2', () => true);
  now += 10_000;
  l.begin('10.0.2.3', untrusted);
  refused(() => l.begin('10.0.2.4', untrusted));
});

test('an attempt refused by the account does not spend the address', () => {
  const l = new LoginLimiter({ ...options, accountBurst: 1, now: () => 0 });
  l.begin('a', untrusted);
  for (let i = 0; i < 10; i++) refused(() => l.begin('b', untrusted));
  // b's five are intact for when the account recovers.
  for (let i = 0; i < 5; i++) l.begin('b', () => true);
});

test('addresses of one IPv6 /64 share their attempts', () => {
  const l = new LoginLimiter({ ...options, now: () => 0 });
  for (let i = 0; i < 5; i++) l.begin(`2001:db8::${i + 1}`, untrusted);
  refused(() => l.begin('2001:db8::99', untrusted));
  l.begin('2001:db8:0:1::1', untrusted);
});
