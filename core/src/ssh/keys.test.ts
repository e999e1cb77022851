import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorizedLine, BadPublicKey, parsePublicKey } from './keys.ts';

// Made by ssh-keygen 9.2; the fingerprints are what `ssh-keygen -l` printed for them.
const ED25519 =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOyMrDlhzAeSYBegToGMucId/dKmA/2Wwy3j0vOqZnLh owner@laptop';
const ECDSA256 =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBAFDpG7Ifc8P3zcg1g1uqVrCfXHzyt/c8ZqFq+y7IuV/CkYJS5BhJ4lPsS822cGjex79MCJ9lW1Ji8LZDHMUFEs= owner@laptop';
const ECDSA521 =
  'ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAGr+5s2FEl5sE0HHuT4JY3L5Sn4hnvyFttLEMetVleTmiMt5zxZHekyZ7m/rKM28sAwGhhJwcn2Ti1+srxQs817CgCrQ8OUt/83eXwdrBywvsX0RJD4O2PYguZpBRmonqLfY6MmkYpChaZr3KZYVQnuTZGeoOhSUQ+gAVr5J7lz5aVHNQ== owner@laptop';
const RSA2048 =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDAjbMEupIia2OulEXG8wOJ32/1iV23E+rAyRFyqgtqI2HDWcT9/4xx46/YNvG5/XzgKLBphf7TXiwCApI2VJbi7E+yN+fseHD4pocz5Pd+tyeDwqGmrZL7xm/FRKpMWSbisOhTrAaTvMANq8+M0Xc/YhVQwpEf2flvgh1JdKEzAIuA/MVv4kZ7Z3P0qEsH/GQX9CRhuGOkGaQeOSMOksYX6xnjhL+7XJZrwMjBRxt4434e50nJlhnhcZMG18CwWMbmmQatY8zQiw0VzaMv8UdotO77YgodCgSphd/60XbWRh5v9KLER8ZxrVZc26AISUwGLCiZfhpDGfyvx1C4DV2f owner@laptop';
const RSA1024 =
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCVscEqRtLpRVqcWsWZeg4GfgF0QNeCwT5CBogqQXi9FT755M33/zn2K0CJDmztkpaFXH1U1YITz7hvZSGhe3ZxtN6Gu9qq3jEt75OCmHWxd96orBp4/QlQLr7QLXpjFto+DrVFc7Xv8fDo4TsZSgTFnQdONfDP/XM9O1TPBNws6Q== owner@laptop';

test('keys from ssh-keygen: type, size and the fingerprint ssh-keygen prints', () => {
  const cases: [string, string, number, string][] = [
    [ED25519, 'ssh-ed25519', 256, 'SHA256:P0WIkvwnpaiC+OmquZ1ytNdMxN54/QenBUx8rglNAa4'],
    [ECDSA256, 'ecdsa-sha2-nistp256', 256, 'SHA256:dIzjudLba9QAqx+jUzRzjk5oRG0DZ2oy5FmH11gCYX0'],
    [ECDSA521, 'ecdsa-sha2-nistp521', 521, 'SHA256:ZTB0ym0LgdnLcfZErun9j6+Jsx60qS/dKhXIL/bUGRQ'],
    [RSA2048, 'ssh-rsa', 2048, 'SHA256:c7nmuPaLsvzASm4rkmKf/Nu7v+FDRSMonJ/3chG2VIY'],
  ];
  for (const [line, type, bits, fingerprint] of cases) {
    const k = parsePublicKey(line);
    assert.deepEqual([k.type, k.bits, k.fingerprint, k.comment], [type, bits, fingerprint, 'owner@laptop']);
  }
  // A trailing newline (a pasted file) and no comment are fine.
  assert.equal(parsePublicKey(`${ED25519.split(' ').slice(0, 2).join(' ')}\n`).comment, '');
});

test('refused: options smuggled before the type, second lines, short RSA, DSA, bad base64', () => {
  const bad = [
    `command="sh -c evil" ${ED25519}`,
    `from="*" ${ED25519}`,
    `no-pty,${ED25519}`,
    `${ED25519}\nssh-ed25519 AAAA x`,
    `${ED25519}\r\ncommand="x" ssh-ed25519 AAAA`,
    `${ED25519.replace('owner@laptop', 'a\u0007b')}`,
    `${ED25519.replace('owner@laptop', 'a\u202eb')}`,
    `${ED25519} ${'x'.repeat(200)}`,
    RSA1024,
    'ssh-dss AAAAB3NzaC1kc3MAAACBAP',
    'ssh-ed25519',
    'ssh-ed25519 !!!!',
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOyMrDlhzAeSYBegToGMucId/dKmA/2Wwy3j0vOqZnLh=',
    // Padding bits set: not what any encoder writes.
    ECDSA256.replace('FEs=', 'FEt='),
    // ed25519 data under an RSA type; a blob cut short; extra bytes after it.
    ED25519.replace('ssh-ed25519', 'ssh-rsa'),
    'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOyMrDlhzAeSYBegToGMucId',
    `ssh-ed25519 ${Buffer.concat([Buffer.from(ED25519.split(' ')[1]!, 'base64'), Buffer.from([0, 0, 0, 0])]).toString('base64')}`,
    // A length that points past the end.
    `ssh-ed25519 ${Buffer.from([0, 0, 0, 11, ...Buffer.from('ssh-ed25519'), 0xff, 0xff, 0xff, 0xff]).toString('base64')}`,
    'x'.repeat(5000),
    '',
  ];
  for (const [i, line] of bad.entries()) assert.throws(() => parsePublicKey(line), BadPublicKey, `case ${i}`);
});

test('the authorized_keys line holds nothing before the type', () => {
  const k = parsePublicKey(ED25519);
  assert.equal(
    authorizedLine({ type: k.type, blob: k.blob, name: 'my laptop' }),
    `${ED25519.split(' ').slice(0, 2).join(' ')} my laptop`,
  );
});
