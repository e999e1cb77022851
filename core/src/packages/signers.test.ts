import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { fingerprintOf, Signers } from './signers.ts';

const newKey = () =>
  crypto
    .generateKeyPairSync('ed25519')
    .publicKey.export({ format: 'der', type: 'spki' })
    .subarray(-32)
    .toString('base64');

function make() {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  return new Signers({ db, now: () => 42 });
}

test('signers are added, listed with fingerprints and removed by either', () => {
  const s = make();
  const a = newKey();
  const b = newKey();
  assert.equal(s.add(a, 'Hearth team').fingerprint, fingerprintOf(a));
  s.add(b, 'Someone');
  assert.deepEqual(s.publicKeys(), [a, b]);
  assert.throws(() => s.add(a, 'again'), { code: 'conflict' });
  s.remove(fingerprintOf(a));
  s.remove(b);
  assert.deepEqual(s.list(), []);
  assert.throws(() => s.remove(b), { code: 'not_found' });
});

test('a key that is not 32 bytes of base64 is refused with a hint', () => {
  const s = make();
  assert.throws(() => s.add('not a key at all, clearly not base64!!', 'x'), { code: 'invalid_params' });
  assert.throws(() => s.add(Buffer.alloc(31).toString('base64'), 'x'), { code: 'invalid_params' });
});
