import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressKey } from './address-key.ts';
import { Buckets } from './buckets.ts';
import { Gate } from './gate.ts';

test('a bucket gives its capacity at once, then one token per refill period', () => {
  let now = 0;
  const b = new Buckets({ capacity: 5, refillMs: 12_000, now: () => now });
  for (let i = 0; i < 5; i++) assert.equal(b.take('a'), 0);
  assert.equal(b.take('a'), 12_000);
  now += 6_000;
  assert.equal(b.take('a'), 6_000);
  now += 6_000;
  assert.equal(b.take('a'), 0);
  assert.equal(b.take('b'), 0, 'each key has its own bucket');
});

test('a refund gives a token back, a reset fills the bucket, and full buckets are forgotten', () => {
  let now = 0;
  const b = new Buckets({ capacity: 2, refillMs: 1000, now: () => now });
  b.take('a');
  b.take('a');
  b.refund('a');
  assert.equal(b.take('a'), 0);
  b.reset('a');
  assert.equal(b.available('a'), 2);
  b.take('c');
  assert.equal(b.size, 1);
  now += 1000;
  b.prune();
  assert.equal(b.size, 0);
});

test('taking several tokens at once waits for all of them', () => {
  const b = new Buckets({ capacity: 10, refillMs: 100, now: () => 0 });
  assert.equal(b.take('a', 8), 0);
  assert.equal(b.take('a', 5), 300);
  assert.equal(b.available('a'), 2);
});

test('the number of keys is bounded, least recently used first out', () => {
  const b = new Buckets({ capacity: 1, refillMs: 1000, now: () => 0, maxKeys: 2 });
  b.take('a');
  b.take('b');
  b.take('c');
  assert.equal(b.size, 2);
  assert.equal(b.available('a'), 1, 'a was forgotten');
  assert.equal(b.available('c'), 0);
});

test('IPv6 addresses count by their /64, IPv4 and local by themselves', () => {
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2:bbbb:cccc:dddd:eeee'), '2001:db8:1:2::/64');
  assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressKey('::1'), '0:0:0:0::/64');
  assert.equal(addressKey('192.168.1.20'), '192.168.1.20');
  assert.equal(addressKey('local'), 'local');
});

test('a gate runs at most its width of tasks at once, in order', async () => {
  const gate = new Gate(2);
  let running = 0;
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      gate.run(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setImmediate(r));
        order.push(i);
        running -= 1;
      }),
    ),
  );
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
});
