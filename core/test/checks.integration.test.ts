import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RpcError } from '../src/client/client.ts';
import { run } from '../src/host/run.ts';
import { setUp, startTestDaemon } from './daemon.ts';
import { required } from './required.ts';
import { SERVICES } from './services.ts';

/**
 * The free-space guard on a real filesystem: the daemon's data directory is a small ext4
 * on a loop device, filled up by the test, not a number injected into the check.
 */
const MiB = 1048576;
const hpk = path.join(SERVICES, 'hello-world.hpk');
const skip = required(
  (process.getuid?.() !== 0 || !fs.existsSync('/dev/loop-control') ? 'needs root and loop devices' : false) ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(hpk) ? false : 'needs `make services`'),
  'the free-space check test',
);

test(
  'a filled data drive fails the free-space check, refuses an install clearly, and recovers',
  { skip },
  async (t) => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-free-space-'));
    const image = path.join(work, 'data.img');
    const root = path.join(work, 'root');
    const data = path.join(root, 'var/lib/hearth');
    fs.mkdirSync(data, { recursive: true });
    fs.writeFileSync(image, '');
    fs.truncateSync(image, 160 * MiB);
    await run(['mkfs.ext4', '-q', '-F', '-m', '0', image]);
    await run(['mount', '-o', 'loop', image, data]);
    const d = await startTestDaemon({
      root,
      args: ['--min-free-space-mib', '64', '--check-interval-seconds', '3600'],
    });
    t.after(async () => {
      await d.kill();
      await run(['umount', data]).catch(() => run(['umount', '--lazy', data]));
      await d.cleanup();
      fs.rmSync(work, { recursive: true, force: true });
    });
    await setUp(d);
    const admin = d.client({ bearer: d.localToken });
    assert.equal((await admin.call('server.check.run', { id: 'free-space' }))[0]!.status, 'ok');

    // Fill it to 32 MiB short of full: under the 64 MiB the box keeps free.
    const free = fs.statfsSync(data).bavail * fs.statfsSync(data).bsize;
    const filler = path.join(data, 'filler');
    await run(['fallocate', '-l', String(free - 32 * MiB), filler]);

    const [check] = await admin.call('server.check.run', { id: 'free-space' });
    assert.equal(check!.status, 'failing');
    const [finding] = check!.findings;
    assert.equal(finding!.severity, 'error');
    assert.match(
      finding!.message,
      /^The data drive has 3\d MiB free of 1\d\d MiB, less than the 64 MiB it keeps free/,
    );
    const status = await admin.call('server.status', {});
    assert.equal(status.summary, 'trouble');
    assert.deepEqual(
      status.findings.map((f) => f.check),
      ['free-space'],
    );

    // The package is 2.4 MiB: it would fit, but not with what the box keeps free.
    const refused = await admin
      .call('package.install', { path: hpk, allowUntrusted: true })
      .catch((e: unknown) => e);
    assert.ok(refused instanceof RpcError, String(refused));
    assert.equal(refused.code, 'not_enough_space');
    assert.match(
      refused.message,
      /^the data drive has 3\d MiB free; this needs \d+ MiB and the box keeps 64 MiB free$/,
    );
    assert.match(refused.hint ?? '', /hearth status/);
    assert.deepEqual(await admin.call('package.list'), []);
    const [failed] = await admin.call('event.list', { kinds: ['failed'] });
    assert.deepEqual([failed!.package, failed!.detail['code']], ['hello-world', 'not_enough_space']);

    // Room again: the check recovers, and says so in the history.
    fs.rmSync(filler);
    assert.equal((await admin.call('server.check.run', { id: 'free-space' }))[0]!.status, 'ok');
    assert.equal((await admin.call('server.status', {})).summary, 'ok');
    const [resolved] = await admin.call('event.list', { kinds: ['check-resolved'] });
    assert.equal(resolved!.detail['check'], 'free-space');
  },
);
