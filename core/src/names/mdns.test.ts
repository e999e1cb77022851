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
