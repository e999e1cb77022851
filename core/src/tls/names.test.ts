import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxNames, canonicalIp, ipBytes, isPermittedAddress, isPermittedName, packageName } from './names.ts';

test('private, loopback and link-local addresses are the CA’s; public ones are not', () => {
  for (const a of [
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '127.0.0.1',
    'fd12::1',
    'fe80::1',
    '::1',
  ])
    assert.equal(isPermittedAddress(a), true, a);
  for (const a of [
    '172.32.0.1',
    '8.8.8.8',
    '203.0.113.9',
    '2001:db8::1',
    '::',
    '::2',
    '192.169.0.1',
    'nonsense',
  ])
    assert.equal(isPermittedAddress(a), false, a);
});

test('names under .local, .internal, .home.arpa and localhost only, label by label', () => {
  for (const n of [
    'den.local',
    'den-radicale.local',
    'x.internal',
    'box.home.arpa',
    'localhost',
    'DEN.LOCAL.',
  ])
    assert.equal(isPermittedName(n), true, n);
  for (const n of ['example.com', 'evillocal', 'local.example.com', 'notinternal'])
    assert.equal(isPermittedName(n), false, n);
});

test('addresses as a certificate holds them', () => {
  assert.equal(canonicalIp('fe80::1%eth0'), 'fe80::1');
  assert.equal(canonicalIp('::ffff:192.168.1.2'), '192.168.1.2');
  assert.equal(canonicalIp('FD00:0:0:0:0:0:0:1'), 'fd00::1');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.deepEqual(ipBytes('::1'), [...Array(15).fill(0), 1]);
});

test('the box’s names and a package’s', () => {
  assert.deepEqual(boxNames('Den', ['192.168.1.2', '8.8.8.8', '::ffff:10.0.0.1']), {
    dns: ['den.local', 'localhost'],
    ips: ['10.0.0.1', '127.0.0.1', '192.168.1.2', '::1'],
  });
  assert.equal(packageName('Den', 'radicale'), 'den-radicale.local');
});
