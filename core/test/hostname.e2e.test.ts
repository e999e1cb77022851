import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { RpcError } from '../src/client/client.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

/*
 * Renaming the box (server.hostname.set, the web UI's Settings → The box): the name the
 * state document and server.info say, and the names the box answers to, follow it; a name
 * that is no DNS label is refused before anything changes. (--dev: the machine's own name
 * is left alone.)
 */
describe('renaming the box', () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  before(async () => {
    d = await startTestDaemon();
    admin = d.client({ bearer: await setUp(d) });
  });
  after(() => d.cleanup());

  const statusFor = (host: string) =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        `${d.url}/rpc/v1`,
        { method: 'POST', headers: { host, 'content-type': 'application/json' } },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'setup.status' }));
    });

  test('the new name is the box’s everywhere, the old one no longer answered', async () => {
    assert.equal(await statusFor('testbox.local'), 200);
    assert.deepEqual(await admin.call('server.hostname.set', { hostname: ' Den-Box ' }), {
      hostname: 'den-box',
    });
    assert.equal((await admin.call('server.info')).hostname, 'den-box');
    const { state } = (await admin.call('state.get', {})) as { state: { server: { hostname: string } } };
    assert.equal(state.server.hostname, 'den-box');
    assert.equal(await statusFor('den-box.local'), 200);
    assert.equal(await statusFor('testbox'), 421);
  });

  test('a name that is no DNS label, or a caller who may not, changes nothing', async () => {
    const before = (await admin.call('server.info')).hostname;
    for (const hostname of ['-bad', 'a'.repeat(64), 'two words', 'dot.ted', '']) {
      await assert.rejects(
        admin.call('server.hostname.set', { hostname }),
        (e) => e instanceof RpcError && e.code === 'invalid_params',
        hostname,
      );
    }
    const token = await admin.call('auth.token.create', { name: 'reader', scope: 'read' });
    await assert.rejects(
      d.client({ bearer: token.token }).call('server.hostname.set', { hostname: 'mine' }),
      (e) => e instanceof RpcError && e.code === 'forbidden',
    );
    assert.equal((await admin.call('server.info')).hostname, before);
  });
});
