import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainHttpRule } from './plain-http.ts';

const nav = {
  method: 'GET',
  path: '/',
  search: '',
  accept: 'text/html,*/*',
  host: 'den.local',
  loopback: false,
};

test('without HTTPS (setup mode, --dev) everything is served on the plain port', () => {
  assert.deepEqual(plainHttpRule({ ...nav, httpsPort: undefined }), { kind: 'serve' });
  assert.deepEqual(plainHttpRule({ ...nav, method: 'POST', path: '/rpc/v1', httpsPort: undefined }), {
    kind: 'serve',
  });
});

test('a navigation goes to HTTPS on the same name, path and query; the port only when not 443', () => {
  assert.deepEqual(plainHttpRule({ ...nav, path: '/app/x/', search: '?a=1', httpsPort: 443 }), {
    kind: 'redirect',
    location: 'https://den.local/app/x/?a=1',
  });
  assert.deepEqual(plainHttpRule({ ...nav, host: '[fd00::2]:80', httpsPort: 8443 }), {
    kind: 'redirect',
    location: 'https://[fd00::2]:8443/',
  });
  assert.deepEqual(
    plainHttpRule({ ...nav, method: 'HEAD', host: '192.168.1.2', httpsPort: 443 }).kind,
    'redirect',
  );
});

test('what is not a navigation stays: the CA, assets, a POST, a client asking for JSON', () => {
  for (const r of [
    { path: '/hearth-ca.crt' },
    { path: '/hearth-ca.mobileconfig' },
    { accept: 'application/json' },
    { method: 'POST', path: '/app/x/form' },
    { host: undefined },
  ])
    assert.deepEqual(plainHttpRule({ ...nav, ...r, httpsPort: 443 }), { kind: 'serve' }, JSON.stringify(r));
});

test('the API: the box itself keeps it on plain HTTP, others are refused (never redirected)', () => {
  for (const path of ['/rpc/v1', '/ws', '/mcp', '/upload']) {
    assert.deepEqual(plainHttpRule({ ...nav, path, httpsPort: 443 }), { kind: 'refuse' }, path);
    assert.deepEqual(
      plainHttpRule({ ...nav, path, loopback: true, httpsPort: 443 }),
      { kind: 'serve' },
      path,
    );
  }
});
