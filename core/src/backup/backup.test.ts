import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hostBackupFiles } from '../host/backup-files.ts';
import type { Restic } from '../host/restic.ts';
import type { Snapshot } from '../host/restic-parse.ts';
import { silentLogger } from '../log/log.ts';
import { Notifications } from '../notifications/notifications.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import { Backup } from './backup.ts';
import { BackupRows } from './rows.ts';

/**
 * The service over a restic in memory (snapshots are copies of the directories it was
 * given) and the real backup files in a temporary directory: what a failed restore and a
 * crash leave of a package's data. Real restic and LXC: core/test/backup.integration.test.ts.
 */
function setup(o: { healthy?: () => boolean } = {}) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-backup-unit-'));
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  const notifications = new Notifications({ db, state });
  const store = new Map<string, { snap: Snapshot; dir: string }>();
  let n = 0;
  const restic: Restic = {
    probe: async (r) => (fs.existsSync(path.join(r.path, 'config')) ? undefined : 'no-repository'),
    init: async (r) => {
      fs.mkdirSync(r.path, { recursive: true });
      fs.writeFileSync(path.join(r.path, 'config'), '');
    },
    async backup(_r, b) {
      const id = (++n).toString(16).padStart(64, '0');
      const dir = path.join(root, 'store', id);
      for (const p of b.paths) fs.cpSync(p, path.join(dir, p), { recursive: true });
      const snap = {
        id,
        shortId: id.slice(0, 8),
        time: new Date(n * 1000).toISOString(),
        hostname: 'hearth',
        paths: b.paths,
        tags: b.tags,
      };
      store.set(id, { snap, dir });
      return {
        kind: 'summary',
        snapshotId: id.slice(0, 8),
        filesNew: 1,
        filesChanged: 0,
        filesUnmodified: 0,
        bytesAdded: 1,
        totalFiles: 1,
        totalBytes: 1,
        seconds: 0,
      };
    },
    snapshots: async (_r, s) =>
      [...store.values()].map((x) => x.snap).filter((x) => !s?.tag || x.tags.includes(s.tag)),
    async restore(_r, r) {
      const { dir } = store.get(r.snapshot)!;
      for (const p of r.include ?? [])
        fs.cpSync(path.join(dir, p), path.join(r.target, p), { recursive: true });
    },
    space: async () => ({ freeBytes: 1e12, writable: true }),
  };
  const packagesDir = path.join(root, 'packages');
  const volumes = path.join(packagesDir, 'cal', 'volumes');
  fs.mkdirSync(path.join(volumes, 'data'), { recursive: true });
  fs.mkdirSync(path.join(packagesDir, 'cal', 'versions', '1.0.0'), { recursive: true });
  fs.writeFileSync(path.join(volumes, 'data', 'calendar.ics'), 'old');
  const desired: string[] = [];
  const frozen = new Set<string>();
  const backup = new Backup({
    rows: new BackupRows(db),
    files: hostBackupFiles(path.join(root, 'backup')),
    restic,
    access: {
      open: async (t) => (t.location.kind === 'local' ? t.location.path : ''),
      close: async () => {},
    },
    lxc: { freeze: async (c) => void frozen.add(c), thaw: async (c) => void frozen.delete(c) },
    runtime: () => undefined,
    packageDirs: (id, v) => ({
      version: path.join(packagesDir, id, 'versions', v),
      volumes: path.join(packagesDir, id, 'volumes'),
    }),
    volumesDir: (id) => path.join(packagesDir, id, 'volumes'),
    packageSettings: (id) => ({ id }),
    setDesired: async (id, d) => void desired.push(`${id} ${d}`),
    healthySince: o.healthy ?? (() => true),
    dumpDatabase: async (file) => void (await db.backup(file)),
    packages: () => [
      { id: 'cal', version: '1.0.0', running: true, hasPre: false, hasPost: false, volumes: ['data'] },
    ],
    forbiddenRoots: [packagesDir],
    minFreeBytes: 0,
    healthTimeoutMs: 50,
    state,
    notifications,
    log: silentLogger,
    now: Date.now,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
  });
  const read = () => fs.readFileSync(path.join(volumes, 'data', 'calendar.ics'), 'utf8');
  const write = (s: string) => fs.writeFileSync(path.join(volumes, 'data', 'calendar.ics'), s);
  return {
    backup,
    root,
    db,
    notifications,
    desired,
    frozen,
    volumes,
    read,
    write,
    cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

test('back up, change, restore: the old data is back, frozen only for the copy, the aside removed', async (t) => {
  const s = setup();
  t.after(s.cleanup);
  const target = await s.backup.addTarget({ name: 'Disk', path: path.join(s.root, 'target') });
  const ran = await s.backup.run({ target: target.id, packages: ['cal'], box: true });
  assert.equal(ran.phase, 'done');
  assert.deepEqual(
    ran.snapshots.map((x) => x.of),
    ['cal', 'box'],
  );
  assert.equal(s.frozen.size, 0);
  s.write('new');
  const [snap] = await s.backup.snapshots({ target: target.id, package: 'cal' });
  const restored = await s.backup.restore({ target: target.id, package: 'cal', snapshot: snap!.shortId });
  assert.equal(restored.phase, 'done');
  assert.equal(s.read(), 'old');
  assert.ok(!fs.existsSync(`${s.volumes}.before-restore`));
  assert.deepEqual(s.desired, ['cal stopped', 'cal running']);
});

test('a restored package that does not turn healthy gets its data back, and the owner is told', async (t) => {
  const s = setup({ healthy: () => false });
  t.after(s.cleanup);
  const target = await s.backup.addTarget({ name: 'Disk', path: path.join(s.root, 'target') });
  await s.backup.run({ target: target.id, packages: ['cal'], box: false });
  s.write('current');
  const [snap] = await s.backup.snapshots({ target: target.id, package: 'cal' });
  const r = await s.backup.restore({ target: target.id, package: 'cal', snapshot: snap!.id });
  assert.equal(r.phase, 'failed');
  assert.match(r.failures[0]!.error, /did not turn healthy/);
  assert.equal(s.read(), 'current', 'the data from before the restore is back');
  assert.ok(!fs.existsSync(`${s.volumes}.before-restore`));
  assert.equal(s.desired.at(-1), 'cal running');
  assert.ok(
    s.notifications.list({ unseenOnly: false, limit: 10 }).some((n) => /Restoring cal failed/.test(n.title)),
  );
});

test('after a crash between the swap and health, the next start puts the data from before back', async (t) => {
  const s = setup();
  t.after(s.cleanup);
  const target = await s.backup.addTarget({ name: 'Disk', path: path.join(s.root, 'target') });
  // As a kill after set-aside and put-in-place leaves it: a run row under way, the old data aside.
  const rows = new BackupRows(s.db);
  rows.startRun({
    kind: 'restore',
    target: target.id,
    packages: ['cal'],
    box: false,
    snapshot: null,
    startedAt: 1,
    result: { running: ['cal'] },
  });
  fs.renameSync(s.volumes, `${s.volumes}.before-restore`);
  fs.mkdirSync(path.join(s.volumes, 'data'), { recursive: true });
  fs.writeFileSync(path.join(s.volumes, 'data', 'calendar.ics'), 'half restored');
  await s.backup.recover();
  assert.equal(s.read(), 'old');
  assert.deepEqual(rows.unfinished(), []);
  assert.equal(rows.recentRuns(1)[0]?.phase, 'interrupted');
  assert.deepEqual(s.desired, ['cal stopped', 'cal running']);
});

test('after a crash during a backup, the next start thaws the package', async (t) => {
  const s = setup();
  t.after(s.cleanup);
  const target = await s.backup.addTarget({ name: 'Disk', path: path.join(s.root, 'target') });
  new BackupRows(s.db).startRun({
    kind: 'backup',
    target: target.id,
    packages: ['cal'],
    box: true,
    snapshot: null,
    startedAt: 1,
    result: { running: ['cal'] },
  });
  s.frozen.add('hearth-cal');
  await s.backup.recover();
  assert.equal(s.frozen.size, 0);
});

test('one run at a time; a hostile or unknown choice is refused before anything runs', async (t) => {
  const s = setup();
  t.after(s.cleanup);
  const target = await s.backup.addTarget({ name: 'Disk', path: path.join(s.root, 'target') });
  const first = s.backup.run({ target: target.id, packages: ['cal'], box: true });
  await assert.rejects(s.backup.run({ target: target.id, packages: ['cal'], box: false }), {
    code: 'conflict',
  });
  await first;
  await assert.rejects(s.backup.run({ target: target.id, packages: ['nope'], box: false }), {
    code: 'not_found',
  });
  await assert.rejects(s.backup.restore({ target: target.id, package: 'cal', snapshot: 'deadbeef' }), {
    code: 'not_found',
  });
  await assert.rejects(s.backup.addTarget({ name: 'Inside', path: path.join(s.root, 'packages', 'x') }), {
    code: 'invalid_params',
  });
  await assert.rejects(s.backup.addTarget({ name: 'Twice', path: path.join(s.root, 'target') }), {
    code: 'conflict',
  });
});
