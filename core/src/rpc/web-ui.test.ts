import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { WebAssets, WebFile } from '../host/web-assets.ts';
import { negotiateEncoding, WEB_CSP, webUi } from './web-ui.ts';

test('the encoding: brotli before gzip, only what the client takes and a copy exists for', () => {
  assert.equal(negotiateEncoding('gzip, deflate, br', ['br', 'gzip']), 'br');
  assert.equal(negotiateEncoding('gzip', ['br', 'gzip']), 'gzip');
  assert.equal(negotiateEncoding('br;q=0, gzip;q=0.5', ['br', 'gzip']), 'gzip');
  assert.equal(negotiateEncoding('*', ['gzip']), 'gzip');
  assert.equal(negotiateEncoding('*, gzip;q=0', ['gzip']), undefined);
  assert.equal(negotiateEncoding('br', ['gzip']), undefined);
  assert.equal(negotiateEncoding(undefined, ['br', 'gzip']), undefined);
  assert.equal(negotiateEncoding('br;q=nonsense', ['br']), undefined);
});

/** Assets in memory: each file's body says which file and encoding it is. */
function fakeAssets(): WebAssets {
  const files: WebFile[] = [
    {
      path: '/wizard.html',
      type: 'text/html; charset=utf-8',
      immutable: false,
      encodings: ['gzip'],
      bytes: 10,
    },
    { path: '/admin.html', type: 'text/html; charset=utf-8', immutable: false, encodings: [], bytes: 10 },
    {
      path: '/assets/app-ABC.js',
      type: 'text/javascript; charset=utf-8',
      immutable: true,
      encodings: ['br', 'gzip'],
      bytes: 10,
    },
  ];
  return {
    digest: 'd1',
    files: new Map(files.map((f) => [f.path, f])),
    read: (f, e) => Buffer.from(`${f.path}:${e ?? 'identity'}`),
  };
}

describe('serving the web UI', () => {
  let setupMode = true;
  let server: http.Server;
  let base: string;
  let bare: http.Server;
  let bareBase: string;
  before(async () => {
    server = http.createServer(webUi(fakeAssets(), () => setupMode));
    bare = http.createServer(webUi(undefined, () => true));
    await Promise.all([
      new Promise<void>((r) => server.listen(0, '127.0.0.1', r)),
      new Promise<void>((r) => bare.listen(0, '127.0.0.1', r)),
    ]);
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    bareBase = `http://127.0.0.1:${(bare.address() as { port: number }).port}`;
  });
  after(() => {
    server.close();
    bare.close();
  });

  /** A raw request: the bodies of the fake assets are not really compressed. */
  const get = (path: string, headers: Record<string, string> = {}, method = 'GET', at = base) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
      const req = http.request(`${at}${path}`, { method, headers }, (r) => {
        let body = '';
        r.on('data', (d: Buffer) => {
          body += d.toString();
        });
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });

  test('/ is the wizard in setup mode and the admin UI after it, never cached without asking', async () => {
    setupMode = true;
    let res = await get('/', { 'accept-encoding': 'identity' });
    assert.equal(res.body, '/wizard.html:identity');
    assert.equal(res.headers['cache-control'], 'no-cache');
    setupMode = false;
    res = await get('/');
    assert.equal(res.body, '/admin.html:identity');
  });

  test('every answer carries the strict policy', async () => {
    for (const path of ['/', '/assets/app-ABC.js', '/nothing', '/assets/none.js']) {
      const res = await get(path);
      assert.equal(res.headers['content-security-policy'], WEB_CSP, path);
      assert.match(WEB_CSP, /script-src 'self'(;|$)/);
      assert.match(WEB_CSP, /frame-ancestors 'none'/);
      assert.equal(res.headers['referrer-policy'], 'no-referrer');
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
    }
  });

  test('hashed assets are immutable and come precompressed as the client takes them', async () => {
    const res = await get('/assets/app-ABC.js', { 'accept-encoding': 'gzip, br' });
    assert.equal(res.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(res.headers['content-encoding'], 'br');
    assert.equal(res.headers['vary'], 'Accept-Encoding');
    assert.equal(res.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(res.body, '/assets/app-ABC.js:br');
    const gz = await get('/assets/app-ABC.js', { 'accept-encoding': 'gzip' });
    assert.equal(`${gz.headers['content-encoding']} ${gz.body}`, 'gzip /assets/app-ABC.js:gzip');
    const plain = await get('/assets/app-ABC.js');
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, '/assets/app-ABC.js:identity');
  });

  test('a page answers 304 to its own ETag, per page and encoding', async () => {
    setupMode = true;
    const first = await get('/', { 'accept-encoding': 'gzip' });
    const etag = String(first.headers['etag']);
    assert.ok(etag);
    const again = await get('/', { 'accept-encoding': 'gzip', 'if-none-match': etag });
    assert.equal(again.status, 304);
    setupMode = false;
    const other = await get('/', { 'accept-encoding': 'gzip', 'if-none-match': etag });
    assert.equal(other.status, 200);
  });

  test('only the pages and /assets: no other file, no traversal, no other method', async () => {
    for (const path of [
      '/manifest.json',
      '/assets/../manifest.json',
      '/assets/%2e%2e/manifest.json',
      '/wizard.html',
      '/x/../../etc/passwd',
      '/assets/',
    ]) {
      const res = await get(path);
      assert.equal(res.status, 404, path);
    }
    const post = await get('/', {}, 'POST');
    assert.equal(post.status, 405);
    const head = await get('/assets/app-ABC.js', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
  });

  test('a build without the UI says so, under the same policy', async () => {
    const res = await get('/', {}, 'GET', bareBase);
    assert.match(res.body, /no web UI/);
    assert.equal(res.headers['content-security-policy'], WEB_CSP);
  });
});
