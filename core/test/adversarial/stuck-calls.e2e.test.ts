import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { RpcError } from '../../src/client/client.ts';
import { setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';

/** Calls that would never end: refused up front, or cut off by a stop. */
describe('calls that never end', () => {
  let d: TestDaemon;
  let trickle: http.Server;
  before(async () => {
    d = await startTestDaemon();
    await setUp(d);
    // A server that sends one byte a second, for ever: never stalls, never finishes.
    trickle = http.createServer((_, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const t = setInterval(() => res.write('x'), 1000);
      res.on('close', () => clearInterval(t));
    });
    await new Promise<void>((r) => trickle.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    trickle.closeAllConnections();
    trickle.close();
    await d.cleanup();
  });

  test('a path that is a device, a directory or missing is refused before it is read', async () => {
    const admin = d.client({ bearer: d.localToken });
    for (const [path, code] of [
      ['/dev/zero', 'invalid_params'],
      ['/dev/urandom', 'invalid_params'],
      ['/tmp', 'invalid_params'],
      ['/nowhere/at/all.hpk', 'not_found'],
    ] as const) {
      await assert.rejects(
        admin.call('package.install', { path }),
        (e) => e instanceof RpcError && e.code === code,
        path,
      );
    }
  });

  test('a stop does not wait for ever for a call under way', async () => {
    const admin = d.client({ bearer: d.localToken });
    const url = `http://127.0.0.1:${(trickle.address() as AddressInfo).port}/forever.hpk`;
    const endless = admin.call('package.install', { url }).catch((e: unknown) => e);
    // The download has begun when the server has a connection.
    const deadline = Date.now() + 10_000;
    while ((await new Promise<number>((r) => trickle.getConnections((_, n) => r(n)))) === 0) {
      if (Date.now() > deadline) throw new Error('the download never started');
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = d.stop();
    const code = await Promise.race([
      exited,
      new Promise<string>((r) => setTimeout(() => r('still running after 60 s'), 60_000)),
    ]);
    assert.equal(code, 0);
    assert.match(d.output(), /stopping with calls still running/);
    await endless;
  });
});
