import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, test } from 'node:test';
import { setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';

/*
 * `/.well-known/acme-challenge/` is the one path the box answers without login for names
 * it does not otherwise answer to (custom domains). What an attacker sends there: tokens
 * with traversal and odd bytes, other Hosts, other methods — none gets anything but a
 * refusal, and none reaches the web UI or the API under a custom domain's name.
 */

let d: TestDaemon;
before(async () => {
  // The CA is a closed port: orders fail at once, so no token is ever under way.
  d = await startTestDaemon({ env: { HEARTH_ACME_DIRECTORY_URL: 'https://127.0.0.1:9/dir' } });
  await setUp(d);
  await d.client({ bearer: d.localToken }).call('acme.domain.add', { name: 'cloud.hearth-test.example' });
});
after(() => d.cleanup());

/** One raw request, as written: no client normalizes the path for us. */
function raw(request: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(d.port, '127.0.0.1');
    let text = '';
    s.on('data', (b: Buffer) => {
      text += b.toString('latin1');
    });
    s.once('error', reject);
    s.once('end', () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text }));
    s.end(request);
  });
}

const get = (path: string, host: string, method = 'GET') =>
  raw(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);

test('tokens with traversal or odd characters get a 404 for a custom domain', async () => {
  for (const token of [
    '../../rpc/v1',
    '..%2f..%2frpc%2fv1',
    '%2e%2e/%2e%2e/etc/passwd',
    'tok%00en',
    '<script>alert(1)</script>',
    'a'.repeat(4000),
    'tok;en',
    '',
  ]) {
    const r = await get(`/.well-known/acme-challenge/${token}`, 'cloud.hearth-test.example');
    // A path the URL parser folds (../..) leaves the challenge path: then the name is not the box's (421).
    assert.ok(r.status === 404 || r.status === 421, `${token}: ${r.status}`);
    assert.ok(!r.text.includes('<html') && !r.text.includes('"result"'), token);
  }
});

test('a Host that is not a custom domain gets no challenge answer: 421 for strangers, 404 for the box', async () => {
  assert.equal((await get('/.well-known/acme-challenge/abc', 'evil.example.com')).status, 421);
  assert.equal(
    (await get('/.well-known/acme-challenge/abc', 'cloud.hearth-test.example.evil.com')).status,
    421,
  );
  assert.equal((await get('/.well-known/acme-challenge/abc', '127.0.0.1')).status, 404);
  assert.equal((await get('/.well-known/acme-challenge/abc', 'cloud.hearth-test.example:80')).status, 404);
  assert.equal((await get('/.well-known/acme-challenge/abc', 'CLOUD.hearth-test.EXAMPLE.')).status, 404);
});

test('a custom domain opens only the challenge path: other paths and methods are refused', async () => {
  assert.equal(
    (await get('/.well-known/acme-challenge/abc', 'cloud.hearth-test.example', 'POST')).status,
    405,
  );
  assert.equal((await get('/', 'cloud.hearth-test.example')).status, 421);
  assert.equal((await get('/rpc/v1', 'cloud.hearth-test.example', 'POST')).status, 421);
  assert.equal((await get('/.well-known/acme-challengeX/abc', 'cloud.hearth-test.example')).status, 421);
});
