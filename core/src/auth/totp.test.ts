import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  base32Decode,
  base32Encode,
  hotp,
  matchTotp,
  newRecoveryCode,
  newTotpSecret,
  normalizeRecoveryCode,
  otpauthUri,
  stepAt,
} from './totp.ts';

const RFC_SECRET = Buffer.from('12345678901234567890');

test('HOTP matches RFC 4226 appendix D', () => {
  const expected = [
    '755224',
    '287082',
    '359152',
    '969429',
    '338314',
    '254676',
    '287922',
    '162583',
    '399871',
    '520489',
  ];
  assert.deepEqual(
    expected.map((_, i) => hotp(RFC_SECRET, i)),
    expected,
  );
});

test('TOTP matches RFC 6238 appendix B (SHA-1, eight digits)', () => {
  const vectors: [number, string][] = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];
  for (const [t, code] of vectors) assert.equal(hotp(RFC_SECRET, stepAt(t * 1000), 8), code, `T=${t}`);
});

test('a code counts one step either side of now, and says which step it was', () => {
  const secret = base32Encode(RFC_SECRET);
  const now = 1_700_000_000_000;
  const step = stepAt(now);
  const codeAt = (s: number) => hotp(RFC_SECRET, s);
  assert.equal(matchTotp(secret, codeAt(step), now), step);
  assert.equal(matchTotp(secret, codeAt(step - 1), now), step - 1);
  assert.equal(matchTotp(secret, codeAt(step + 1), now), step + 1);
  assert.equal(matchTotp(secret, codeAt(step - 2), now), undefined);
  assert.equal(matchTotp(secret, '12345', now), undefined);
  assert.equal(matchTotp(secret, 'abcdef', now), undefined);
});

test('base32 round-trips; secrets are 160 bits; the URI is what apps read', () => {
  assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
  assert.deepEqual(base32Decode('mzxw 6ytb-oi'), Buffer.from('foobar'));
  assert.equal(base32Decode(newTotpSecret()).length, 20);
  assert.equal(
    otpauthUri('MZXW6YTBOI', 'den'),
    'otpauth://totp/Hearth:den?secret=MZXW6YTBOI&issuer=Hearth&algorithm=SHA1&digits=6&period=30',
  );
});

test('recovery codes: easy to read, forgiving to type', () => {
  const code = newRecoveryCode();
  assert.match(code, /^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$/);
  assert.equal(normalizeRecoveryCode(code.toUpperCase().replace(/-/g, ' ')), code);
  assert.equal(normalizeRecoveryCode('123456'), undefined);
  assert.equal(normalizeRecoveryCode('abcd-efgh-ij0l'), undefined);
});
