import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '../src/client/client.ts';
import type { CallProgress } from '../src/client/ws-client.ts';
import { parseMountInfo } from '../src/host/lxc-parse.ts';
import { hostMounts } from '../src/host/mounts.ts';
import { run } from '../src/host/run.ts';
import { silentLogger } from '../src/log/log.ts';
import { PASSWORD, startTestDaemon, type TestDaemon } from './daemon.ts';
import { notifySocket } from './notify-socket.ts';
import { required } from './required.ts';

/*
 * The data drive chosen at setup, on loop devices: sparse files in a temp dir attached
 * with losetup --partscan, which the test daemon (--dev) offers as drives. The tests
 * detach only the loop devices they attached, by path, after unmounting what is mounted
 * from them under the daemons' roots. Real disks are never touched: a daemon in
 * development mode refuses to write to anything but a loop device.
 */

const GiB = 1024 ** 3;
const skip = required(
  process.getuid?.() === 0 && fs.existsSync('/dev/loop-control') ? false : 'needs root and loop devices',
  'the data drive tests',
);
const files = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-data-drive-test-'));
const attached: string[] = [];
const mounts = hostMounts(silentLogger);

/** A sparse file of `size` attached as a loop device: a new, empty "drive". */
async function attachDrive(size = 2 * GiB): Promise<string> {
  const file = path.join(files, `drive-${attached.length}.img`);
  fs.writeFileSync(file, '');
  fs.truncateSync(file, size);
  const device = (await run(['losetup', '--find', '--show', '--partscan', file])).stdout.trim();
  attached.push(device);
  return device;
}

/** Unmounts everything under a daemon's root (its data drive, a staging mount), deepest first. */
const unmountUnder = (root: string) => mounts.unmountAll(root);

async function cleanupDaemon(d: TestDaemon | undefined): Promise<void> {
  if (!d) return;
  await d.kill();
  await unmountUnder(d.root);
  await d.cleanup();
}

const mountAt = (dir: string) =>
  parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'))
    .filter((m) => m.mountPoint === dir)
    .at(-1);

const dataDir = (d: TestDaemon) => path.join(d.root, 'var/lib/hearth');

/** Waits for the daemon to answer again after it started again in place (same PID, same port). */
async function answersAgain(d: TestDaemon, token: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await d.client({ bearer: token }).call('server.info');
      return;
    } catch (e) {
      // Until it has stopped, the daemon that moved the state answers from the old database.
      const old = e instanceof RpcError && (e.code === 'invalid_token' || e.code === 'setup_required');
      if ((e instanceof RpcError && !old) || Date.now() > deadline) throw e;
      await sleep(50);
    }
  }
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function refusal(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RpcError) return e;
    throw e;
  }
  assert.fail('the call was not refused');
}

type Drive = {
  path: string;
  system: boolean;
  hasData: boolean;
  hearthData: string | null;
  mountpoints: string[];
};

after(async () => {
  for (const device of attached) await run(['losetup', '--detach', device]).catch(() => {});
  fs.rmSync(files, { recursive: true, force: true });
});

describe('the data drive', { skip }, () => {
  let d: TestDaemon | undefined;
  let empty: string;
  let photos: string;
  let hearth: string;
  before(async () => {
    d = await startTestDaemon();
    empty = await attachDrive();
    photos = await attachDrive();
    await run(['mkfs.ext4', '-q', '-L', 'photos', photos]);
    // A hearth-data filesystem with a database, made without mounting anything.
    hearth = await attachDrive();
    const tree = fs.mkdtempSync(path.join(files, 'tree-'));
    fs.writeFileSync(path.join(tree, 'hearth.db'), '');
    await run(['mkfs.ext4', '-q', '-L', 'hearth-data', '-d', tree, hearth]);
  });
  after(() => cleanupDaemon(d));

  test('disk.list shows the drives in setup mode, to anyone, with what is on them', async () => {
    const { drives } = (await d!.client().call('disk.list')) as { drives: Drive[] };
    const by = new Map(drives.map((x) => [x.path, x]));
    assert.deepEqual(
      [by.get(empty)?.hasData, by.get(empty)?.system, by.get(empty)?.hearthData],
      [false, false, null],
    );
    assert.equal(by.get(photos)?.hasData, true);
    assert.deepEqual((by.get(photos) as unknown as { filesystem: unknown }).filesystem, {
      fsType: 'ext4',
      label: 'photos',
      uuid: (await run(['blkid', '-p', '-s', 'UUID', '-o', 'value', photos])).stdout.trim(),
    });
    assert.equal(by.get(hearth)?.hearthData, hearth);
    // Whatever drive holds this machine's root filesystem is marked as the system's.
    const root = mountAt('/')!;
    const system = drives.filter((x) => x.system);
    if (root.source.startsWith('/dev/'))
      assert.ok(system.length > 0, `the drive of ${root.source} is marked`);
  });

  test('setup.execute refuses the system drive, data without erase, and offers attaching Hearth data', async () => {
    const client = d!.client();
    const { drives } = (await client.call('disk.list')) as { drives: Drive[] };
    const base = { hostname: 'refused', password: PASSWORD };
    for (const s of drives.filter((x) => x.system)) {
      const e = await refusal(client.call('setup.execute', { ...base, dataDrive: s.path, erase: true }));
      assert.equal(e.code, 'system_drive');
    }
    const notEmpty = await refusal(client.call('setup.execute', { ...base, dataDrive: photos }));
    assert.equal(notEmpty.code, 'drive_not_empty');
    assert.match(notEmpty.message, /ext4 'photos'/);
    assert.match(notEmpty.data.hint ?? '', /erase: true/);
    const hearthData = await refusal(client.call('setup.execute', { ...base, dataDrive: hearth }));
    assert.equal(hearthData.code, 'drive_has_hearth_data');
    assert.match(hearthData.data.hint ?? '', /attach: true/);
    const nothingToAttach = await refusal(
      client.call('setup.execute', { ...base, dataDrive: empty, attach: true }),
    );
    assert.equal(nothingToAttach.code, 'no_hearth_data');
    // An "attach" of a file that is no Hearth database is refused after a look inside.
    const bogus = await refusal(client.call('setup.execute', { ...base, dataDrive: hearth, attach: true }));
    assert.equal(bogus.code, 'not_hearth_data');
    assert.equal((await client.call('setup.status')).setupComplete, false);
    assert.equal(mountAt(path.join(d!.root, 'run/hearth-data-drive')), undefined);
  });
});

describe('setting up onto a data drive', { skip }, () => {
  let first: TestDaemon | undefined;
  let second: TestDaemon | undefined;
  let drive: string;
  after(async () => {
    await cleanupDaemon(first);
    await cleanupDaemon(second);
  });

  test('the state moves onto the drive, with progress over /ws, and the daemon goes on in place', async (t) => {
    drive = await attachDrive();
    const systemd = await notifySocket(t);
    // A watchdog as hearth.service has (WatchdogSec=30s); WATCHDOG_PID unset means "this process".
    first = await startTestDaemon({ env: { NOTIFY_SOCKET: systemd.path, WATCHDOG_USEC: '30000000' } });
    const ws = await first.ws();
    const steps: CallProgress[] = [];
    const session = (await ws.call(
      'setup.execute',
      { hostname: 'drivebox', password: PASSWORD, dataDrive: drive },
      { onProgress: (p) => steps.push(p) },
    )) as { token: string };
    assert.deepEqual(
      [...new Set(steps.map((s) => s.step))],
      ['partition', 'format', 'mount', 'copy', 'finish', 'switch'],
    );
    await ws.closed;

    await answersAgain(first, session.token);
    const client = first.client({ bearer: session.token });
    assert.equal((await client.call('server.info')).hostname, 'drivebox');
    assert.equal((await first.client().call('setup.status')).setupComplete, true);
    // The same process (the harness's handle never changed), on the drive's database.
    const info = JSON.parse(fs.readFileSync(path.join(first.root, 'run/hearth/daemon.json'), 'utf8'));
    assert.deepEqual([info.pid, info.port], [first.pid, first.port]);
    assert.match(first.output(), /starting again in place/);
    // systemd hears a reload of the same PID, not a stop (after which it would kill it).
    // Each end pings the watchdog, which would otherwise fire between the old process's
    // last ping and the new one's first (seen in the booted image).
    const ready = `MAINPID=${first.pid}\nREADY=1\nWATCHDOG=1`;
    await until(() => systemd.received().split(ready).length >= 3, 'READY=1 from the same PID again');
    assert.match(
      systemd.received(),
      new RegExp(`MAINPID=${first.pid}\nRELOADING=1\nMONOTONIC_USEC=\\d+\nWATCHDOG=1`),
    );
    assert.doesNotMatch(systemd.received(), /STOPPING=1/);
    const mounted = mountAt(dataDir(first));
    assert.equal(mounted?.source, `${drive}p1`);
    assert.ok(fs.existsSync(path.join(dataDir(first), 'hearth.db')));
    assert.equal(mountAt(path.join(first.root, 'run/hearth-data-drive')), undefined);

    // What a later login on the drive's database can see: a token made now.
    const token = (await client.call('auth.token.create', { name: 'kept', scope: 'read' })).token;
    fs.writeFileSync(path.join(files, 'token'), token);

    // A reboot: the drive is not mounted until the daemon mounts it at start.
    await first.stop();
    await unmountUnder(first.root);
    assert.equal(fs.existsSync(path.join(dataDir(first), 'hearth.db')), true, 'the old database stays below');
    first = await first.restart();
    assert.equal(mountAt(dataDir(first))?.source, `${drive}p1`);
    await first.client().call('auth.login', { password: PASSWORD });
    assert.equal((await first.client({ bearer: token }).call('server.info')).hostname, 'drivebox');
  });

  test('another box attaches the drive: its data stays, with the new name and password', async () => {
    assert.ok(first, 'runs after the test above');
    await first.stop();
    await unmountUnder(first.root);
    second = await startTestDaemon();
    const client = second.client();
    const { drives } = (await client.call('disk.list')) as { drives: Drive[] };
    assert.equal(drives.find((x) => x.path === drive)?.hearthData, `${drive}p1`);
    const base = { hostname: 'secondbox', password: `${PASSWORD} two`, dataDrive: drive };
    assert.equal((await refusal(client.call('setup.execute', base))).code, 'drive_has_hearth_data');

    const ws = await second.ws();
    const steps: string[] = [];
    const session = (await ws.call(
      'setup.execute',
      { ...base, attach: true },
      {
        onProgress: (p) => steps.push(p.step),
      },
    )) as { token: string };
    assert.deepEqual([...new Set(steps)], ['check', 'mount', 'finish', 'switch']);
    await answersAgain(second, session.token);
    assert.equal((await second.client({ bearer: session.token }).call('server.info')).hostname, 'secondbox');
    const token = fs.readFileSync(path.join(files, 'token'), 'utf8');
    assert.equal((await second.client({ bearer: token }).call('server.info')).hostname, 'secondbox');
    const old = await refusal(second.client().call('auth.login', { password: PASSWORD }));
    assert.equal(old.code, 'wrong_password');
    await second.client().call('auth.login', { password: `${PASSWORD} two` });
  });

  test('a factory reset empties the drive, which stays the box’s data drive', async () => {
    assert.ok(second, 'runs after the test above');
    const session = (await second.client().call('auth.login', { password: `${PASSWORD} two` })).token;
    const plan = await second.client({ bearer: session }).call('server.reset', { dryRun: true });
    assert.match(plan.keeps.join('\n'), new RegExp(`data drive \\(${drive}p1\\)`));
    await second.client({ bearer: session }).call('server.reset', { dryRun: false });
    const deadline = Date.now() + 30_000;
    while (
      (
        await second
          .client()
          .call('setup.status')
          .catch(() => undefined)
      )?.setupComplete !== false
    ) {
      assert.ok(Date.now() < deadline, 'back in setup mode');
      await sleep(100);
    }
    assert.equal(mountAt(dataDir(second))?.source, `${drive}p1`);
    // What a fresh start makes, and the drive's own marker and lost+found: nothing else.
    const fresh = new Set([
      'data-drive.json',
      'lost+found',
      'rt',
      'hearth.db',
      'hearth.db-wal',
      'hearth.db-shm',
    ]);
    assert.deepEqual(
      fs.readdirSync(dataDir(second)).filter((n) => !fresh.has(n)),
      [],
    );
    const token = fs.readFileSync(path.join(files, 'token'), 'utf8');
    assert.equal((await refusal(second.client({ bearer: token }).call('server.info'))).code, 'invalid_token');
    // A reboot finds the drive, empty and in setup mode.
    await second.stop();
    await unmountUnder(second.root);
    second = await second.restart();
    assert.equal(mountAt(dataDir(second))?.source, `${drive}p1`);
    assert.equal((await second.client().call('setup.status')).setupComplete, false);
  });
});

describe('a kill -9 while the state moves', { skip }, () => {
  let d: TestDaemon | undefined;
  after(() => cleanupDaemon(d));

  test('leaves either the old state in use or the new one complete, and setup can be done again', async (t) => {
    const drive = await attachDrive();
    const outcomes: string[] = [];
    // At each step of the move, and once the call has answered (after the commit, before or
    // while the daemon starts again in place).
    for (const step of ['partition', 'format', 'copy', 'switch', 'answer']) {
      d = await startTestDaemon();
      const ws = await d.ws();
      let killed: Promise<void> | undefined;
      const call = ws
        .call(
          'setup.execute',
          { hostname: 'killed', password: PASSWORD, dataDrive: drive, erase: true },
          {
            onProgress: (p) => {
              if (p.step === step) killed ??= d!.kill();
            },
          },
        )
        .catch(() => undefined);
      if (step === 'answer') {
        assert.ok(await call, 'the call answered');
        killed = d.kill();
      }
      await call;
      assert.ok(killed, `the call reached ${step}`);
      await killed;
      d = await d.restart();
      const status = await d.client().call('setup.status');
      const onDrive = mountAt(dataDir(d))?.source === `${drive}p1`;
      // Set up exactly when the state is on the drive; never half.
      assert.equal(status.setupComplete, onDrive, `after a kill at ${step}`);
      assert.equal(mountAt(path.join(d.root, 'run/hearth-data-drive')), undefined);
      if (onDrive) {
        assert.equal(status.hostname, 'killed');
        await d.client().call('auth.login', { password: PASSWORD });
      } else {
        assert.notEqual(status.hostname, 'killed');
      }
      outcomes.push(`${step}: ${onDrive ? 'new' : 'old'}`);
      await cleanupDaemon(d);
      d = undefined;
    }
    // Where each kill landed depends on timing; what it left is checked above, each time.
    t.diagnostic(outcomes.join(', '));
    assert.equal(outcomes.at(-1), 'answer: new', 'an answered setup is never undone');

    // The drive can be chosen again, whatever the kills left on it.
    d = await startTestDaemon();
    const s = (await d.client().call('setup.execute', {
      hostname: 'again',
      password: PASSWORD,
      dataDrive: drive,
      erase: true,
    })) as { token: string };
    await answersAgain(d, s.token);
    assert.equal(mountAt(dataDir(d))?.source, `${drive}p1`);
  });
});

describe('the data-drive check', { skip }, () => {
  let d: TestDaemon | undefined;
  after(() => cleanupDaemon(d));

  test('finds the drive gone from under the data directory, and says so in server.status', async () => {
    const drive = await attachDrive();
    // A 2 GiB drive is short of space by the default threshold: that is not this test.
    d = await startTestDaemon({ args: ['--min-free-space-mib', '1'] });
    const ws = await d.ws();
    const { token } = (await ws.call('setup.execute', {
      hostname: 'checkbox',
      password: PASSWORD,
      dataDrive: drive,
    })) as { token: string };
    await ws.closed;
    await answersAgain(d, token);
    const admin = d.client({ bearer: token });
    assert.equal((await admin.call('server.check.run', { id: 'data-drive' }))[0]!.status, 'ok');

    // The drive's filesystem leaves the data directory (as when a USB drive is pulled and
    // the kernel drops its mount): the daemon's open database goes on, new files would not.
    await run(['umount', '--lazy', dataDir(d)]);
    const [check] = await admin.call('server.check.run', { id: 'data-drive' });
    assert.equal(check!.status, 'failing');
    assert.match(check!.findings[0]!.message, new RegExp(`attached but not mounted over ${dataDir(d)}`));
    const status = await admin.call('server.status', {});
    assert.equal(status.summary, 'trouble');
    assert.deepEqual(
      status.findings.map((f) => f.check),
      ['data-drive'],
    );
  });
});
