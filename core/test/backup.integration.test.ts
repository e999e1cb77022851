import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RpcError } from '../src/client/client.ts';
import { hostLxc } from '../src/host/lxc.ts';
import { hostMounts } from '../src/host/mounts.ts';
import { type TestDaemon, untilHealthy } from './daemon.ts';
import { leaseNetwork, log, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { required } from './required.ts';
import { SERVICES } from './services.ts';

/**
 * Backups end to end: the built daemon, Radicale in real LXC with calendar data written over
 * CalDAV, Debian's restic to a local directory and to a loop-device "USB disk" found by its
 * filesystem UUID; a restore brings the old calendar back. A full target fails cleanly.
 */
const NETWORK = leaseNetwork();
const hasRestic = ['/usr/bin/restic', '/bin/restic'].some((p) => fs.existsSync(p));

const skip = required(
  lxcSkipReason() ||
    (hasRestic ? false : 'needs restic (apt-get install restic)') ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'radicale.hpk')) ? false : 'needs `make services`'),
  'the backup tests with real restic and LXC',
);

/** A loop device over a fresh ext4 image of `mib` MiB with this UUID; undone by the returned function. */
function loopDisk(dir: string, uuid: string, mib: number): { device: string; detach: () => void } {
  const image = path.join(dir, `${uuid}.img`);
  fs.writeFileSync(image, '');
  fs.truncateSync(image, mib * 1048576);
  execFileSync('mkfs.ext4', ['-q', '-F', '-U', uuid, image]);
  const device = execFileSync('losetup', ['--find', '--show', image], { encoding: 'utf8' }).trim();
  let attached = true;
  return {
    device,
    detach: () => {
      if (!attached) return;
      attached = false;
      // Mounted by the daemon only while used; a kill could leave it.
      for (const line of fs.readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
        const [dev, at] = line.split(' ');
        if (dev === device && at) execFileSync('umount', [at]);
      }
      execFileSync('losetup', ['-d', device]);
    },
  };
}

const mountedFrom = (device: string) =>
  fs
    .readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[0] === device);

describe('backups of Radicale with real restic', { skip }, () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  let address: string;
  const undo: (() => unknown)[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-backup-test-'));
  undo.push(() => fs.rmSync(work, { recursive: true, force: true }));
  const auth = `Basic ${Buffer.from('alice:correct horse').toString('base64')}`;
  const event = (summary: string) =>
    [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//Hearth test//EN',
      'BEGIN:VEVENT',
      'UID:hearth-backup-test-1',
      'DTSTAMP:20260101T000000Z',
      'DTSTART:20260102T100000Z',
      'DTEND:20260102T110000Z',
      `SUMMARY:${summary}`,
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
  const caldav = (method: string, p: string, body?: string) =>
    fetch(`http://${address}:5232${p}`, {
      method,
      headers: { Authorization: auth, 'Content-Type': 'text/calendar; charset=utf-8' },
      ...(body === undefined ? {} : { body }),
    });
  /** What Radicale said last, for a failure's message. */
  const said = async () =>
    (await admin.call('package.logs', { id: 'radicale', lines: 40 }).catch(() => ({ lines: [] }))).lines.join(
      '\n',
    );
  const putEvent = async (summary: string) => {
    const res = await caldav('PUT', '/alice/cal/event.ics', event(summary));
    assert.ok(res.status === 201 || res.status === 204, `PUT answered ${res.status}:\n${await said()}`);
  };
  const readEvent = async () => {
    const res = await caldav('GET', '/alice/cal/event.ics');
    assert.equal(res.status, 200, `GET answered ${res.status}:\n${await said()}`);
    return (await res.text()).match(/SUMMARY:(.*)\r?\n/)?.[1];
  };
  const volumes = () => path.join(d.root, 'var/lib/hearth/packages/radicale/volumes');

  before(async () => {
    const daemon = await packagesDaemon(NETWORK);
    d = daemon.d;
    undo.push(daemon.done);
    admin = d.client({ bearer: d.localToken });
    const since = Date.now();
    const pkg = await admin.call('package.install', { path: path.join(SERVICES, 'radicale.hpk') });
    address = pkg.address;
    await untilHealthy(admin, 'radicale', { since, timeoutMs: 90_000, pollMs: 200 });
    await admin.call('package.action.run', {
      id: 'radicale',
      action: 'set-password',
      input: { user: 'alice', password: 'correct horse' },
    });
    const made = await caldav('MKCALENDAR', '/alice/cal/');
    assert.equal(made.status, 201);
  });
  after(async () => {
    for (const u of undo.reverse())
      await Promise.resolve()
        .then(u)
        .catch(() => {});
  });

  /** Back up, change the calendar, restore, read the old one back over CalDAV. */
  async function roundTrip(target: string) {
    await putEvent('Before the backup');
    const ran = await admin.call('backup.run', { target, packages: ['radicale'], box: true });
    assert.equal(ran.phase, 'done', JSON.stringify(ran.failures));
    assert.deepEqual(ran.snapshots.map((s) => s.of).sort(), ['box', 'radicale']);
    // Frozen for the copy only: it answers at once after.
    await putEvent('Changed after the backup');
    assert.equal(await readEvent(), 'Changed after the backup');

    const snaps = await admin.call('backup.snapshot.list', { target, package: 'radicale' });
    const snap = snaps.find((s) => s.id.startsWith(ran.snapshots.find((x) => x.of === 'radicale')!.snapshot));
    assert.ok(snap, 'the snapshot made is listed');
    assert.equal(snap.package, 'radicale');
    const restored = await admin.call('backup.restore', {
      target,
      package: 'radicale',
      snapshot: snap.shortId,
    });
    assert.equal(restored.phase, 'done', JSON.stringify(restored.failures));
    assert.equal(await readEvent(), 'Before the backup');
    assert.ok(!fs.existsSync(`${volumes()}.before-restore`), 'the old data is removed once healthy');
    const pkg = (await admin.call('package.get', { id: 'radicale' })) as { status: string };
    assert.equal(pkg.status, 'running');
  }

  test('to a local directory: add, test, back up, change, restore, read the old calendar back', async () => {
    const dir = path.join(work, 'local-target');
    const t = await admin.call('backup.target.add', { name: 'Local', path: dir });
    assert.equal(t.kind, 'local');
    const tested = await admin.call('backup.target.test', { id: t.id });
    assert.ok(tested.ok && tested.freeBytes > 0, JSON.stringify(tested));
    assert.ok(fs.existsSync(path.join(dir, 'config')), 'a restic repository was made');
    await roundTrip(t.id);

    // The key: made by the box, 0600 on the data drive, in the kit; plain restic opens the repository with it.
    const keyFile = path.join(d.root, 'var/lib/hearth/backup/key');
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
    const kit = await admin.call('backup.kit');
    assert.equal(kit.key, fs.readFileSync(keyFile, 'utf8'));
    assert.deepEqual(kit.targets, [{ name: 'Local', repository: dir }]);
    const listed = execFileSync(
      'restic',
      ['-r', dir, 'snapshots', '--json', '--password-file', keyFile, '--no-cache'],
      {
        encoding: 'utf8',
      },
    );
    assert.ok(JSON.parse(listed).length >= 2);
    // The key never reaches the audit log.
    assert.doesNotMatch(JSON.stringify(await admin.call('audit.list', { limit: 50 })), new RegExp(kit.key));

    // The box's state doc tells the last run.
    const state = (await admin.call('state.get')) as { state: { backup?: { last?: { phase: string } } } };
    assert.equal(state.state.backup?.last?.phase, 'done');

    // A wrong key: the repository answers "wrong password" in plain words.
    const other = path.join(work, 'other-repo');
    const otherKey = path.join(work, 'other.key');
    fs.writeFileSync(otherKey, 'someone else');
    execFileSync('restic', ['-r', other, 'init', '--password-file', otherKey, '--no-cache'], {
      stdio: 'ignore',
    });
    await assert.rejects(
      admin.call('backup.target.add', { name: 'Foreign', path: other }),
      (e: unknown) => e instanceof RpcError && e.code === 'target_wrong_password',
    );
    await admin.call('backup.target.remove', { id: t.id });
  });

  test('to a loop-device "USB disk" found by UUID: mounted while used only; absent says so', async () => {
    const uuid = 'b4c4a000-1111-4222-8333-444455556666';
    const disk = loopDisk(work, uuid, 160);
    undo.push(disk.detach);
    const t = await admin.call('backup.target.add', { name: 'USB disk', usb: { uuid } });
    assert.equal(t.uuid, uuid);
    assert.ok(!mountedFrom(disk.device), 'let go after adding');
    await roundTrip(t.id);
    assert.ok(!mountedFrom(disk.device), 'let go after the restore');
    disk.detach();
    const absent = await admin.call('backup.target.test', { id: t.id });
    assert.equal(absent.ok, false);
    assert.ok(!absent.ok && absent.code === 'target_absent', JSON.stringify(absent));
    const ran = await admin.call('backup.run', { target: t.id, packages: ['radicale'] });
    assert.equal(ran.phase, 'failed');
    assert.match(ran.failures[0]?.error ?? '', /not plugged in/);
    await admin.call('backup.target.remove', { id: t.id });
  });

  test('a full target fails the backup cleanly, with a notification; Radicale keeps working', async () => {
    const uuid = 'f0110000-1111-4222-8333-444455556666';
    const disk = loopDisk(work, uuid, 20);
    undo.push(disk.detach);
    const t = await admin.call('backup.target.add', { name: 'Small disk', usb: { uuid } });
    const ran = await admin.call('backup.run', { target: t.id, packages: ['radicale'] });
    assert.equal(ran.phase, 'failed');
    assert.match(ran.failures[0]?.error ?? '', /no space left/);
    const notes = (await admin.call('notification.list', {})) as { title: string; source: string }[];
    assert.ok(notes.some((n) => n.source === 'backup' && /Small disk failed/.test(n.title)));
    // Thawed, serving, and the disk let go.
    await putEvent('After a failed backup');
    assert.equal(await readEvent(), 'After a failed backup');
    const lxc = hostLxc({ lxcPath: path.join(d.root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
    assert.equal((await lxc.info('hearth-radicale')).state, 'RUNNING');
    assert.ok(!mountedFrom(disk.device));
    await admin.call('backup.target.remove', { id: t.id });
    disk.detach();
  });

  test('killed with SIGKILL while Radicale is frozen for the copy: the next start thaws it, the next backup completes', async () => {
    const lxc = hostLxc({ lxcPath: path.join(d.root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
    const t = await admin.call('backup.target.add', {
      name: 'Killed',
      path: path.join(work, 'killed-target'),
    });
    const pending = admin
      .call('backup.run', { target: t.id, packages: ['radicale'] })
      .catch((e: unknown) => e);
    // The first copy writes the whole package (its image too): seconds, frozen throughout.
    const deadline = Date.now() + 60_000;
    while ((await lxc.info('hearth-radicale')).state !== 'FROZEN') {
      assert.ok(Date.now() < deadline, 'radicale was never frozen');
      await new Promise((r) => setTimeout(r, 20));
    }
    // restic is the daemon's child: killed by its PID too, as it would die with the box.
    const children = fs
      .readdirSync(`/proc/${d.pid}/task`)
      .flatMap((task) => fs.readFileSync(`/proc/${d.pid}/task/${task}/children`, 'utf8').trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
    await d.kill();
    for (const pid of children) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await pending;
    assert.equal((await lxc.info('hearth-radicale')).state, 'FROZEN', 'the kill left it frozen');
    const again = await d.restart();
    undo.push(() => again.kill());
    d = again;
    admin = d.client({ bearer: d.localToken });
    const until = Date.now() + 60_000;
    while ((await lxc.info('hearth-radicale')).state !== 'RUNNING') {
      assert.ok(Date.now() < until, 'radicale was not thawed after the restart');
      await new Promise((r) => setTimeout(r, 100));
    }
    // The run is recorded as interrupted once the rest of the recovery is done.
    const last = async () =>
      ((await admin.call('state.get')) as { state: { backup?: { last?: { phase: string } } } }).state.backup
        ?.last?.phase;
    while ((await last()) !== 'interrupted') {
      assert.ok(Date.now() < until, 'the interrupted run was not recorded');
      await new Promise((r) => setTimeout(r, 100));
    }
    const ran = await admin.call('backup.run', { target: t.id, packages: ['radicale'] });
    assert.equal(ran.phase, 'done', JSON.stringify(ran.failures));
    await putEvent('After the kill');
    assert.equal(await readEvent(), 'After the kill');
    await admin.call('backup.target.remove', { id: t.id });
  });

  test('adversarial: traversal in a target path, hostile snapshot ids, unknown packages', async () => {
    for (const p of ['/tmp/../etc', 'relative', '/proc/self', `${d.root}/var/lib/hearth/x`, '/tmp/x\n']) {
      await assert.rejects(
        admin.call('backup.target.add', { name: 'Bad', path: p }),
        (e: unknown) => e instanceof RpcError && e.code === 'invalid_params',
        p,
      );
    }
    const dir = path.join(work, 'adversarial-target');
    const t = await admin.call('backup.target.add', { name: 'Adversarial', path: dir });
    for (const snapshot of ['--help', '../../etc', 'latest', 'abc', `${'a'.repeat(8)};rm`, 'f'.repeat(65)]) {
      await assert.rejects(
        admin.call('backup.restore', { target: t.id, package: 'radicale', snapshot }),
        (e: unknown) => e instanceof RpcError && e.code === 'invalid_params',
        snapshot,
      );
    }
    await assert.rejects(
      admin.call('backup.restore', { target: t.id, package: 'radicale', snapshot: 'deadbeef' }),
      (e: unknown) => e instanceof RpcError && e.code === 'not_found',
    );
    await assert.rejects(
      admin.call('backup.run', { target: t.id, packages: ['no-such-package'] }),
      (e: unknown) => e instanceof RpcError && e.code === 'not_found',
    );
    await admin.call('backup.target.remove', { id: t.id });
  });
});
