import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxNames, packageName } from '../tls/names.ts';
import { hostAllowed, hostnameOf } from './host-check.ts';

const setup = { hostname: 'hearth', setupMode: true, extra: [] };
const running = { hostname: 'den', setupMode: false, extra: ['box.example.com'] };

test('IP literals, localhost and the box’s own names are always the box', () => {
  for (const host of [
    '192.168.1.20',
    '192.168.1.20:8080',
    '[fe80::1]:80',
    '[::1]',
    'localhost:8080',
    'app.localhost',
    'hearth.local',
    'HEARTH.LOCAL.',
    'hearth-2.local',
    'hearth',
    undefined,
  ]) {
    assert.ok(hostAllowed(host, setup), String(host));
  }
});

test('in setup mode only the box’s own names: no other .local, no outside names', () => {
  for (const host of [
    'attacker.example',
    'hearth.attacker.example',
    'other.local',
    'hearth.local.evil.com',
    'x.home.arpa',
    'hearth-x.local',
  ]) {
    assert.equal(hostAllowed(host, setup), false, host);
  }
});

test('once set up, private names and the owner’s domains too, still no outside names', () => {
  for (const host of ['den.local', 'hearth.local', 'den.home.arpa', 'den.internal', 'box.example.com:443']) {
    assert.ok(hostAllowed(host, running), host);
  }
  for (const host of ['attacker.example', 'den.attacker.example', '.local', 'local', 'example.com']) {
    assert.equal(hostAllowed(host, running), false, host);
  }
});

test('malformed Host headers are refused', () => {
  for (const host of ['', 'a:b:c', 'host:99999999', '[zz]', 'a b', `${'a'.repeat(300)}.local`]) {
    assert.equal(hostAllowed(host, running), false, host);
  }
  assert.equal(hostnameOf('Box.Local:80'), 'box.local');
});

test('the names the box’s certificates carry are names it answers to once set up', () => {
  const { dns } = boxNames(running.hostname, []);
  for (const host of [
    ...dns,
    packageName(running.hostname, 'radicale'),
    `${packageName(running.hostname, 'radicale')}:8443`,
  ]) {
    assert.ok(hostAllowed(host, running), host);
  }
});
