import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

/*
 * Who reaches `/app/<id>/` and how they are turned away: a person's browser is sent to sign
 * in and back, API clients keep their JSON 401; a WebSocket needs the same credential as a
 * page and, with the cookie, the box's own origin. (The proxying itself, with real
 * packages: packages.integration, web.integration; the WebSocket splice: app-proxy.test.)
 */
describe('/app/<id>/ access', () => {
  let d: TestDaemon;
  let session: string;
  before(async () => {
    d = await startTestDaemon();
    await setUp(d);
    session = (await d.client().call('auth.login', { password: PASSWORD })).token;
  });
  after(() => d.cleanup());

  const get = (path: string, headers: Record<string, string>) =>
    new Promise<{ status: number; location?: string; type?: string }>((resolve, reject) => {
      http
        .get(`${d.url}${path}`, { headers }, (r) => {
          r.resume();
          resolve({
            status: r.statusCode ?? 0,
            ...(r.headers.location ? { location: r.headers.location } : {}),
            ...(r.headers['content-type'] ? { type: r.headers['content-type'] } : {}),
          });
        })
        .on('error', reject);
    });

  test('a browser signed out is sent to sign in, and back to the app after', async () => {
    const r = await get('/app/hello-world/some/page?x=1', {
      accept: 'text/html,application/xhtml+xml,*/*;q=0.8',
    });
    assert.equal(r.status, 303);
    assert.equal(r.location, `/?next=${encodeURIComponent('/app/hello-world/some/page?x=1')}`);
  });

  test('API clients keep their JSON 401', async () => {
    const clients: Record<string, string>[] = [
      { accept: 'application/json, text/html' },
      { accept: 'text/html', authorization: 'Bearer hth_not_a_token' },
      {},
    ];
    for (const headers of clients) {
      const r = await get('/app/hello-world/', headers);
      assert.equal(r.status, 401, JSON.stringify(headers));
      assert.match(r.type ?? '', /application\/json/);
    }
  });

  const upgrade = (path: string, headers: Record<string, string>) =>
    new Promise<number>((resolve) => {
      const ws = new WebSocket(`${d.url.replace('http', 'ws')}${path}`, { headers });
      ws.once('unexpected-response', (_, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.once('open', () => {
        resolve(101);
        ws.close();
      });
      ws.once('error', () => resolve(-1));
    });

  test('a WebSocket to a package: a credential, and with the cookie the box’s own origin', async () => {
    const cookie = `hearth_session=${session}`;
    assert.equal(await upgrade('/app/hello-world/', {}), 401);
    assert.equal(await upgrade('/app/hello-world/', { cookie, origin: 'http://evil.example' }), 403);
    assert.equal(await upgrade('/app/hello-world/~x.y/', { origin: 'null' }), 401, 'a forged capability');
    // Past the door: there is no such package here.
    assert.equal(await upgrade('/app/hello-world/', { cookie, origin: d.url }), 404);
    assert.equal(await upgrade('/app/hello-world/', { authorization: `Bearer ${d.localToken}` }), 404);
  });
});
