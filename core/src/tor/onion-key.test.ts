import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newOnionSeed, onionKey, publicKeyOf, serviceIdOf } from './onion-key.ts';

// The equality with tor's own ServiceID is core/test/tor.integration.test.ts, against a real tor.

test('an address is 56 base32 letters that carry their public key and checksum', () => {
  const key = onionKey(newOnionSeed());
  assert.match(key.serviceId, /^[a-z2-7]{56}$/);
  assert.equal(key.address, `${key.serviceId}.onion`);
  // The last letter carries the version (3): its 5 bits end in 0b00011 after the checksum.
  assert.equal(key.serviceId.at(-1), 'd');
  assert.deepEqual(publicKeyOf(key.address), key.publicKey);
  assert.match(key.addOnionKey, /^ED25519-V3:[A-Za-z0-9+/]{86}==$/);
});

test('the same seed gives the same address; another seed another one', () => {
  const seed = Buffer.alloc(32, 7);
  assert.equal(onionKey(seed).serviceId, onionKey(Buffer.from(seed)).serviceId);
  assert.notEqual(onionKey(Buffer.alloc(32, 8)).serviceId, onionKey(seed).serviceId);
});

test('the expanded key is clamped as ref10 does', () => {
  const expanded = Buffer.from(
    onionKey(Buffer.alloc(32, 1)).addOnionKey.slice('ED25519-V3:'.length),
    'base64',
  );
  assert.equal(expanded.length, 64);
  assert.equal((expanded[0] as number) & 7, 0);
  assert.equal((expanded[31] as number) & 0xc0, 0x40);
});

test('a changed letter fails the checksum; wrong sizes are refused', () => {
  const { serviceId } = onionKey(newOnionSeed());
  const changed = (serviceId[0] === 'a' ? 'b' : 'a') + serviceId.slice(1);
  assert.equal(publicKeyOf(changed), undefined);
  assert.equal(publicKeyOf('short.onion'), undefined);
  assert.throws(() => onionKey(Buffer.alloc(31)));
  assert.throws(() => serviceIdOf(Buffer.alloc(33)));
});
