import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseMountInfo } from '../src/host/lxc-parse.ts';
import { type TestDaemon, untilHealthy } from './daemon.ts';
import { leaseNetwork, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { required } from './required.ts';
import { SERVICES } from './services.ts';

const NETWORK = leaseNetwork();

const skip = required(
  lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'hello-world.hpk')) ? false : 'needs `make services`'),
  'the factory reset test',
);

describe('a factory reset with a package running', { skip }, () => {
  let d: TestDaemon;
  let done: () => Promise<void>;
  before(async () => {
    ({ d, done } = await packagesDaemon(NETWORK));
  });
  after(() => done?.());

  test('stops and removes its container, unmounts its images and erases its data', async () => {
    const admin = d.client({ bearer: d.localToken });
    const installed = Date.now();
    await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await untilHealthy(admin, 'hello-world', { since: installed, timeoutMs: 90_000, pollMs: 500 });
    const plan = await admin.call('server.reset', { dryRun: true });
    assert.deepEqual(plan.packages, [{ id: 'hello-world', title: 'Hello World' }]);
    assert.match(plan.erases.join('\n'), /1 package with all their data: Hello World/);

    await admin.call('server.reset', { dryRun: false });
    const deadline = Date.now() + 60_000;
    while (
      (
        await d
          .client()
          .call('setup.status')
          .catch(() => undefined)
      )?.setupComplete !== false
    ) {
      assert.ok(Date.now() < deadline, `back in setup mode:\n${d.output()}`);
      await sleep(200);
    }
    const data = path.join(d.root, 'var/lib/hearth');
    assert.equal(fs.existsSync(path.join(data, 'packages')), false, 'the package and its volumes are gone');
    const mounted = parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8')).filter((m) =>
      m.mountPoint.startsWith(`${d.root}/`),
    );
    assert.deepEqual(
      mounted.map((m) => m.mountPoint),
      [],
    );
    const lxcDir = path.join(d.root, 'run/hearth/lxc');
    assert.deepEqual(fs.existsSync(lxcDir) ? fs.readdirSync(lxcDir) : [], []);
  });
});
