import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { DiskHost } from '../host/disks.ts';
import type { Probe } from '../host/disks-parse.ts';
import { type MountInfo, parseMountInfo } from '../host/lxc-parse.ts';
import { silentLogger } from '../log/log.ts';
import type { Progress } from '../rpc/registry.ts';
import { type Db, migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { LOOPS } from './__fixtures__/scenarios.ts';
import { Disks, MARKER_FILE, type MovingPlan } from './disks.ts';

/**
 * Block devices in memory over the LOOPS machine. A filesystem is a directory; mounting
 * one moves the directory underneath aside and puts a symlink in its place, so that what
 * is written "to the mount" lands on the filesystem, and unmounting brings the old back.
 */
class FakeDisks implements DiskHost {
  readonly probes = new Map<string, Probe>(LOOPS.probes);
  readonly contents = new Map<string, string>();
  readonly mounts: MountInfo[] = [];
  readonly calls: string[] = [];
  failOn: string | undefined;
  readonly #dir: string;
  readonly #numbers = new Map<string, string>();

  constructor(dir: string) {
    this.#dir = dir;
  }

  /** A filesystem with these files on `device`. */
  filesystem(device: string, probe: Probe, files: Record<string, string | Buffer> = {}): string {
    const dir = path.join(this.#dir, `fs${this.contents.size}`);
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
    this.contents.set(device, dir);
    this.probes.set(device, probe);
    this.#numbers.set(device, `259:${50 + this.#numbers.size}`);
    return dir;
  }

  #step(name: string) {
    this.calls.push(name);
    if (this.failOn === name) throw new Error(`${name} failed (injected)`);
  }

  lsblk = async () => LOOPS.lsblk;
  probe = async (device: string) => this.probes.get(device) ?? {};
  hasFile = async (device: string, file: string) => {
    this.#step(`hasFile ${device}`);
    const dir = this.contents.get(device);
    return dir !== undefined && fs.existsSync(path.join(dir, file));
  };
  mountInfo = async () => [...parseMountInfo(LOOPS.mountinfo), ...this.mounts];
  partition = async (drive: string, name: string) => {
    this.#step(`partition ${drive} ${name}`);
    return `${drive}p1`;
  };
  format = async (partition: string, o: { label: string; uuid: string }) => {
    this.#step(`format ${partition} ${o.label}`);
    this.filesystem(partition, { fsType: 'ext4', label: o.label, uuid: o.uuid }, { 'lost+found': '' });
  };
  check = async (device: string) => this.#step(`check ${device}`);
  findFilesystem = async (uuid: string) =>
    [...this.probes].find(([d, p]) => p.uuid === uuid && this.contents.has(d))?.[0];
  deviceNumber = async (device: string) => this.#numbers.get(device) ?? '0:0';
  mount = async (device: string, target: string) => {
    this.#step(`mount ${device} ${target}`);
    const dir = this.contents.get(device);
    if (!dir) throw new Error(`no filesystem on ${device}`);
    fs.mkdirSync(target, { recursive: true });
    fs.renameSync(target, `${target}.under${this.mounts.length}`);
    fs.symlinkSync(dir, target);
    this.mounts.push({
      id: 1000 + this.mounts.length,
      parentId: 1,
      device: this.#numbers.get(device)!,
      root: '/',
      mountPoint: target,
      options: ['rw'],
      fsType: 'ext4',
      source: device,
      superOptions: [],
    });
  };
  unmount = async (target: string) => {
    const i = this.mounts.findLastIndex((m) => m.mountPoint === target);
    if (i < 0) return;
    this.calls.push(`unmount ${target}`);
    this.mounts.splice(i, 1);
    fs.unlinkSync(target);
    fs.renameSync(`${target}.under${i}`, target);
  };
}

let tmp: string;
let host: FakeDisks;
let dataDir: string;
let db: Db;

const disks = (o: { dev?: boolean } = {}) =>
  new Disks({
    host,
    dataDir,
    stagingDir: path.join(tmp, 'run/hearth-data-drive'),
    dev: o.dev ?? true,
    copyTree: async (src, dest) =>
      fs.cpSync(src, dest, { recursive: true, errorOnExist: true, force: false }),
    log: silentLogger,
    waitForDriveMs: 0,
  });

const hostnameIn = (file: string) => {
  const d = openDatabase(file);
  try {
    const row = d.prepare("SELECT value FROM settings WHERE key = 'hostname'").get() as
      | { value: string }
      | undefined;
    return row ? JSON.parse(row.value) : undefined;
  } finally {
    d.close();
  }
};

const setHostname = (target: Db, name: string) =>
  target
    .prepare(
      "INSERT INTO settings (key, value) VALUES ('hostname', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .run(JSON.stringify(name));

beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-disks-'));
  host = new FakeDisks(path.join(tmp, 'devices'));
  dataDir = path.join(tmp, 'var/lib/hearth');
  db = openDatabase(path.join(dataDir, 'hearth.db'));
  migrate(db, MIGRATIONS);
  setHostname(db, 'before');
  fs.mkdirSync(path.join(dataDir, 'uploads'));
  fs.writeFileSync(path.join(dataDir, 'uploads/u1'), 'an upload');
});
afterEach(() => {
  db.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const formatLoop3 = async (d: Disks): Promise<MovingPlan> => {
  const plan = await d.plan({ dataDrive: '/dev/loop3' });
  assert.equal(plan.kind, 'format');
  return plan as MovingPlan;
};

test('list: a hearth-data filesystem is read for a database only when it is not mounted', async () => {
  host.filesystem('/dev/loop0p1', LOOPS.probes.get('/dev/loop0p1')!, { 'hearth.db': 'x' });
  const drives = await disks().list();
  assert.equal(drives.find((d) => d.path === '/dev/loop0')!.hearthData, '/dev/loop0p1');
  assert.deepEqual(host.calls, ['hasFile /dev/loop0p1']);
  // In production mode loop devices are no drives at all.
  assert.deepEqual(
    (await disks({ dev: false }).list()).map((d) => d.path),
    ['/dev/vda'],
  );
});

test('moving the state: partition, format, copy, finish on the copy, then commit', async () => {
  const d = disks();
  const steps: Progress[] = [];
  const result = await d.moveState(await formatLoop3(d), {
    db,
    progress: (p) => steps.push(p),
    finish: (target) => {
      setHostname(target, 'after');
      return 'the session';
    },
  });
  assert.equal(result, 'the session');
  assert.deepEqual(
    [...new Set(steps.map((s) => s.step))],
    ['partition', 'format', 'mount', 'copy', 'finish', 'switch'],
  );
  assert.deepEqual(steps.at(-3), { step: 'copy', done: 2, total: 2 });
  const drive = host.contents.get('/dev/loop3p1')!;
  assert.deepEqual(fs.readdirSync(drive).sort(), ['data-drive.json', 'hearth.db', 'lost+found', 'uploads']);
  assert.equal(fs.readFileSync(path.join(drive, 'uploads/u1'), 'utf8'), 'an upload');
  assert.equal(hostnameIn(path.join(drive, 'hearth.db')), 'after');
  // The box's own database is as it was; the marker in the data directory commits the move.
  assert.equal(hostnameIn(path.join(dataDir, 'hearth.db')), 'before');
  const marker = JSON.parse(fs.readFileSync(path.join(dataDir, MARKER_FILE), 'utf8'));
  assert.equal(marker.uuid, host.probes.get('/dev/loop3p1')!.uuid);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(drive, MARKER_FILE), 'utf8')), marker);
  assert.deepEqual(host.mounts, []);
});

test('a failure before the commit leaves the old state in use and nothing mounted', async () => {
  for (const failOn of ['partition /dev/loop3 hearth-data', 'format /dev/loop3p1 hearth-data', 'finish']) {
    host.failOn = failOn;
    const d = disks();
    await assert.rejects(
      d.moveState(await formatLoop3(d), {
        db,
        progress: () => {},
        finish: (target) => {
          setHostname(target, 'after');
          if (failOn === 'finish') throw new Error('finish failed');
        },
      }),
      /failed/,
    );
    assert.equal(fs.existsSync(path.join(dataDir, MARKER_FILE)), false, failOn);
    assert.deepEqual(host.mounts, [], failOn);
    await d.mountAtStart();
    assert.deepEqual(host.mounts, []);
    assert.equal(hostnameIn(path.join(dataDir, 'hearth.db')), 'before');
  }
  // The finish ran in a transaction on the copy, which never took the database's name.
  const drive = host.contents.get('/dev/loop3p1')!;
  assert.equal(fs.existsSync(path.join(drive, 'hearth.db')), false);
});

test('attaching: the drive keeps its database, finish runs on it, nothing is copied', async () => {
  const other = openDatabase(path.join(tmp, 'other.db'));
  migrate(other, MIGRATIONS);
  setHostname(other, 'old-box');
  other.close();
  host.filesystem(
    '/dev/loop3',
    { fsType: 'ext4', label: 'hearth-data', uuid: 'a-uuid' },
    {
      'hearth.db': fs.readFileSync(path.join(tmp, 'other.db')),
    },
  );
  const d = disks();
  const plan = await d.plan({ dataDrive: '/dev/loop3', attach: true });
  assert.equal(plan.kind, 'attach');
  const steps: string[] = [];
  await d.moveState(plan as MovingPlan, {
    db,
    progress: (p) => steps.push(p.step),
    finish: (target) => {
      assert.equal(hostnameIn(path.join(dataDir, 'hearth.db')), 'before');
      setHostname(target, 'new-name');
    },
  });
  assert.deepEqual(steps, ['check', 'mount', 'finish', 'switch']);
  const drive = host.contents.get('/dev/loop3')!;
  assert.equal(hostnameIn(path.join(drive, 'hearth.db')), 'new-name');
  assert.equal(fs.existsSync(path.join(drive, 'uploads')), false);
  assert.equal(JSON.parse(fs.readFileSync(path.join(dataDir, MARKER_FILE), 'utf8')).uuid, 'a-uuid');
});

test('attaching refuses a database that is no Hearth database, or one from a newer Hearth', async () => {
  const tooNew = openDatabase(path.join(tmp, 'new.db'));
  tooNew.pragma('user_version = 9999');
  tooNew.close();
  for (const [content, code] of [
    ['not a database at all, just bytes that go on and on for a while', 'not_hearth_data'],
    [fs.readFileSync(path.join(tmp, 'new.db')), 'database_too_new'],
  ] as const) {
    host.filesystem(
      '/dev/loop3',
      { fsType: 'ext4', label: 'hearth-data', uuid: 'u' },
      { 'hearth.db': content },
    );
    const d = disks();
    const plan = (await d.plan({ dataDrive: '/dev/loop3', attach: true })) as MovingPlan;
    await assert.rejects(d.moveState(plan, { db, progress: () => {}, finish: () => {} }), { code });
    assert.equal(fs.existsSync(path.join(dataDir, MARKER_FILE)), false);
    assert.deepEqual(host.mounts, []);
  }
});

test('at start: the chosen drive is mounted over the data directory, once', async () => {
  const d = disks();
  await d.moveState(await formatLoop3(d), { db, progress: () => {}, finish: (t) => setHostname(t, 'after') });
  await d.mountAtStart();
  assert.deepEqual(
    host.mounts.map((m) => [m.source, m.mountPoint]),
    [['/dev/loop3p1', dataDir]],
  );
  assert.equal(hostnameIn(path.join(dataDir, 'hearth.db')), 'after');
  // A restart of the daemon finds it there already.
  await disks().mountAtStart();
  assert.equal(host.mounts.length, 1);
});

test('at start: a chosen drive that is missing or not ours stops the daemon', async () => {
  const marker = { uuid: 'gone', chosenAt: '2025-01-01T00:00:00.000Z' };
  fs.writeFileSync(path.join(dataDir, MARKER_FILE), JSON.stringify(marker));
  await assert.rejects(disks().mountAtStart(), { code: 'data_drive_missing' });
  host.filesystem('/dev/loop2', { fsType: 'ext4', uuid: 'gone' }, { 'hearth.db': '' });
  await assert.rejects(disks().mountAtStart(), { code: 'data_drive_invalid' });
  assert.deepEqual(host.mounts, []);
  fs.writeFileSync(path.join(dataDir, MARKER_FILE), '{}');
  await assert.rejects(disks().mountAtStart(), { code: 'data_drive_invalid' });
});

test('at start: a staging mount left by a crash is let go', async () => {
  host.filesystem('/dev/loop3p1', { fsType: 'ext4', uuid: 'half-done' });
  await host.mount('/dev/loop3p1', path.join(tmp, 'run/hearth-data-drive'));
  await disks().mountAtStart();
  assert.deepEqual(host.mounts, []);
});
