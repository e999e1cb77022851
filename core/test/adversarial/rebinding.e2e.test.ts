import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';
import { call, request } from './http.ts';
import { openRawWs } from './raw-ws.ts';

/**
 * DNS rebinding: a page of attacker.example points its own name at the box and calls it
 * as its own origin (Host and Origin both say attacker.example). Every surface must
 * refuse names that are not the box's, before setup most strictly.
 */
describe('requests under a name that is not the box’s', () => {
  let d: TestDaemon;
  let hostname: string;
  before(async () => {
    d = await startTestDaemon({ args: ['--allowed-hosts', 'box.example.com'] });
    hostname = (await d.client().call('setup.status')).hostname;
  });
  after(() => d.cleanup());

  const as = (host: string, extra: Record<string, string> = {}) => ({
    Host: `${host}:${d.port}`,
    Origin: `http://${host}:${d.port}`,
    ...extra,
  });

  const surfaces = (host: string) => [
    request(d.port, { headers: as(host), body: JSON.stringify(call(1, 'setup.status')) }),
    request(d.port, {
      path: '/mcp',
      headers: as(host, {
        Accept: 'application/json, text/event-stream',
        Authorization: `Bearer ${d.localToken}`,
      }),
      body: JSON.stringify(call(1, 'initialize', {})),
    }),
    request(d.port, {
      path: '/upload',
      headers: as(host, { 'Content-Type': 'application/octet-stream' }),
      body: 'x',
    }),
    request(d.port, { method: 'GET', path: '/app/hello-world/', headers: as(host) }),
    request(d.port, { method: 'GET', path: '/', headers: as(host) }),
  ];

  test('a page of another site cannot claim the box in setup mode', async () => {
    const claim = await request(d.port, {
      headers: as('attacker.example'),
      body: JSON.stringify(call(1, 'setup.execute', { hostname: 'pwned', password: 'attacker passphrase' })),
    });
    assert.equal(claim.status, 421);
    assert.equal(JSON.parse(claim.body).error.data.code, 'host_not_allowed');
    assert.equal((await d.client().call('setup.status')).setupComplete, false);
  });

  test('every surface refuses a foreign name, the WebSocket too', async () => {
    for (const host of ['attacker.example', `${hostname}.attacker.example`, 'other.local']) {
      const answers = await Promise.all(surfaces(host));
      assert.deepEqual(
        answers.map((a) => a.status),
        [421, 421, 421, 421, 421],
        host,
      );
      await assert.rejects(openRawWs(d.port, { host: `${host}:${d.port}` }), /421/);
    }
  });

  test('the box’s own names, IP addresses, localhost and the allowed hosts are answered', async () => {
    for (const host of [
      '127.0.0.1',
      'localhost',
      `${hostname}.local`,
      `${hostname}-2.local`,
      'box.example.com',
    ]) {
      const answer = await request(d.port, {
        headers: as(host),
        body: JSON.stringify(call(1, 'setup.status')),
      });
      assert.equal(answer.status, 200, host);
      const ws = await openRawWs(d.port, { host: `${host}:${d.port}` });
      ws.destroy();
    }
  });

  test('the local socket answers whatever Host the client names', async () => {
    const socketPath = path.join(d.root, 'run/hearth/hearth.sock');
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          socketPath,
          path: '/rpc/v1',
          method: 'POST',
          headers: { Host: 'anything.example', 'Content-Type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(call(1, 'setup.status')));
    });
    assert.equal(status, 200);
  });

  test('once set up, other .local names are answered, outside names still not', async () => {
    await setUp(d);
    const login = (host: string) =>
      request(d.port, {
        headers: as(host),
        body: JSON.stringify(call(1, 'auth.login', { password: PASSWORD })),
      });
    assert.equal((await login('old-name.local')).status, 200);
    assert.equal((await login('testbox.home.arpa')).status, 200);
    assert.equal((await login('attacker.example')).status, 421);
  });
});
