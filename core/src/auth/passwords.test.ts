import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPasswordStrength, hashPassword, verifyPassword } from './passwords.ts';

const cheap = { memoryKiB: 1024, passes: 1, parallelism: 1 };

test('a password hashes to an argon2id PHC string that verifies', async () => {
  const h = await hashPassword('correct horse battery', cheap);
  assert.match(h, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.equal(await verifyPassword('correct horse battery', h), true);
  assert.equal(await verifyPassword('correct horse batterz', h), false);
  assert.notEqual(await hashPassword('correct horse battery', cheap), h, 'salted');
});

test('the default cost is memory-hard', async () => {
  const h = await hashPassword('correct horse battery');
  assert.match(h, /m=65536,t=3/);
});

test('short passwords are refused with a reason', () => {
  assert.throws(() => checkPasswordStrength('short'), /at least 12 characters/);
  checkPasswordStrength('twelve chars');
});
