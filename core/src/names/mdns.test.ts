import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mdnsRecords } from './mdns.ts';

test('a name per package under the box, and the web UI as _http._tcp', () => {
  assert.deepEqual(mdnsRecords({ hostname: 'box', packages: ['hello-world', 'radicale'], webPort: 80 }), {
    names: ['box-hello-world.local', 'box-radicale.local'],
    services: [{ name: 'box', type: '_http._tcp', port: 80, txt: ['path=/'] }],
  });
});

test('a label that would pass 63 characters is left out; no port, no service', () => {
  const r = mdnsRecords({ hostname: 'b'.repeat(40), packages: ['a'.repeat(23), 'a'.repeat(22)] });
  assert.deepEqual(r.names, [`${'b'.repeat(40)}-${'a'.repeat(22)}.local`]);
  assert.deepEqual(r.services, []);
});

test('each web interface at its LAN port as _https._tcp, at its package’s name; other kinds not', () => {
  const r = mdnsRecords({
    hostname: 'box',
    packages: ['radicale'],
    interfaces: [
      { package: 'radicale', name: 'Radicale', protocol: 'http', port: 20001 },
      { package: 'radicale', name: 'Sync', protocol: 'tcp', port: 20002 },
      { package: 'radicale', name: 'é'.repeat(40), protocol: 'https', port: 20003 },
    ],
  });
  assert.deepEqual(r.services[0], {
    name: 'Radicale (radicale on box)',
    type: '_https._tcp',
    port: 20001,
    txt: ['path=/'],
    host: 'box-radicale.local',
  });
  assert.equal(r.services.length, 2);
  assert.equal(r.services[1]!.name, 'é'.repeat(31));
});
