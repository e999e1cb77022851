import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { silentLogger } from '../log/log.ts';
import { proxyUpgradeToApp } from './app-proxy.ts';

/*
 * A WebSocket through the box to a package's web UI: the upgrade goes on with the same
 * header rules as a page's request, the frames flow both ways, and a package that refuses
 * the upgrade (or is not there) ends the client's connection with its answer.
 */
describe('WebSockets to a package', () => {
  let pkg: http.Server;
  let wss: WebSocketServer;
  let box: http.Server;
  let boxUrl: string;
  let pkgPort: number;
  let seen: http.IncomingHttpHeaders | undefined;

  before(async () => {
    pkg = http.createServer((_, res) => res.end('page'));
    wss = new WebSocketServer({ noServer: true });
    pkg.on('upgrade', (req, socket, head) => {
      seen = req.headers;
      if (req.url === '/refuse') {
        socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (m) => ws.send(`echo ${m}`)));
    });
    await new Promise<void>((r) => pkg.listen(0, '127.0.0.1', r));
    pkgPort = (pkg.address() as net.AddressInfo).port;
    box = http.createServer((_, res) => res.end());
    box.on('upgrade', (req, socket, head) => {
      const port = req.url === '/app/gone/' ? 1 : pkgPort;
      const path = req.url!.replace(/^\/app\/[a-z]+/, '');
      proxyUpgradeToApp(
        req,
        socket,
        head,
        {
          id: 'pkg',
          target: { host: '127.0.0.1', port },
          path,
          prefix: '/app/pkg',
          sessionCookie: 'hearth_session',
        },
        silentLogger,
      );
    });
    await new Promise<void>((r) => box.listen(0, '127.0.0.1', r));
    boxUrl = `ws://127.0.0.1:${(box.address() as net.AddressInfo).port}`;
  });
  after(() => {
    wss.close();
    pkg.close();
    box.close();
  });

  test('frames flow both ways; the box’s cookie and credentials stay behind', async () => {
    const ws = new WebSocket(`${boxUrl}/app/pkg/live?x=1`, {
      headers: { cookie: 'hearth_session=secret; theirs=1', authorization: 'Bearer hth_secret' },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const answer = new Promise<string>((resolve) => ws.once('message', (m) => resolve(String(m))));
    ws.send('hello');
    assert.equal(await answer, 'echo hello');
    ws.close();
    assert.equal(seen?.cookie, 'theirs=1');
    assert.equal(seen?.authorization, undefined);
    assert.equal(seen?.['x-forwarded-prefix'], '/app/pkg');
    assert.equal(seen?.host, `127.0.0.1:${pkgPort}`);
  });

  test('a package that refuses the upgrade, or does not answer, ends the connection with that', async () => {
    for (const [path, status] of [
      ['/app/pkg/refuse', 403],
      ['/app/gone/', 502],
    ] as const) {
      const ws = new WebSocket(`${boxUrl}${path}`);
      const code = await new Promise<number>((resolve) => {
        ws.once('unexpected-response', (_, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => resolve(-1));
      });
      assert.equal(code, status, path);
      ws.terminate();
    }
  });
});
