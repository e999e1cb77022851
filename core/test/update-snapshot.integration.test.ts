import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hostBootSlots } from '../src/host/boot-slots.ts';
import { silentLogger } from '../src/log/log.ts';
import { openDatabase } from '../src/state/db.ts';
import { prepareBoot } from '../src/update/early.ts';

/*
 * The database across a trial: snapshotted on the trial boot before hearthd opens it (and
 * only once, though x86_64 gives the trial two boots), put back when the box is on the old
 * slot again — once — so an older hearthd never meets a database a newer one migrated.
 * A real SQLite file in WAL mode, the real host adapter, a /proc of our own.
 */

function box(t: test.TestContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-update-snapshot-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const database = path.join(dir, 'hearth.db');
  fs.mkdirSync(path.join(dir, 'proc'));
  const boot = (slot: 'A' | 'B') =>
    fs.writeFileSync(path.join(dir, 'proc/cmdline'), `ro rauc.slot=${slot}\n`);
  const slots = hostBootSlots({
    dir: path.join(dir, 'os-update'),
    database,
    runtimeDir: dir,
    proc: path.join(dir, 'proc'),
  });
  const vacuumInto = (file: string) => {
    const db = openDatabase(database);
    try {
      db.prepare('VACUUM INTO ?').run(file);
    } finally {
      db.close();
    }
  };
  const start = () => prepareBoot({ slots, vacuumInto, log: silentLogger });
  /** What hearthd would do with the database on this boot: write a row (left in the WAL). */
  const write = (what: string) => {
    const db = openDatabase(database);
    db.exec('CREATE TABLE IF NOT EXISTS t (v TEXT)');
    db.prepare('INSERT INTO t VALUES (?)').run(what);
    // Killed, not closed: the rows stay in the WAL, as after a crash or a power cut.
    return db;
  };
  const rows = () => {
    const db = openDatabase(database);
    try {
      return (db.prepare('SELECT v FROM t').all() as { v: string }[]).map((r) => r.v);
    } finally {
      db.close();
    }
  };
  return { slots, boot, start, write, rows };
}

test('a failed trial: the database is as it was before the trial boot, and that only once', (t) => {
  const b = box(t);
  b.boot('A');
  b.write('before').close();
  b.write('after the apply, before the restart').close();
  b.slots.writePending({ from: 'A', to: 'B', fromVersion: '0.2.0', toVersion: '0.3.0' });

  b.boot('B');
  b.start();
  assert.ok(b.slots.hasSnapshot());
  b.write('during the trial (migrated by the new hearthd)').close();
  // The trial's second try (x86_64): the snapshot is the first's, not the migrated database.
  b.start();
  b.write('second try').close();

  b.boot('A');
  b.start();
  assert.deepEqual(b.rows(), ['before', 'after the apply, before the restart']);
  assert.equal(b.slots.readPending()?.restored, true);
  // Back on A the owner goes on; another start must not put the snapshot back again.
  b.write('on the old slot again').close();
  b.start();
  assert.deepEqual(b.rows(), ['before', 'after the apply, before the restart', 'on the old slot again']);
});

test('a good trial keeps what it did; without a pending trial nothing happens', (t) => {
  const b = box(t);
  b.boot('A');
  b.write('before').close();
  b.start();
  assert.equal(b.slots.hasSnapshot(), false);
  b.slots.writePending({ from: 'A', to: 'B', fromVersion: '0.2.0', toVersion: '0.3.0' });
  b.boot('B');
  b.start();
  b.write('on the new version').close();
  b.start();
  assert.deepEqual(b.rows(), ['before', 'on the new version']);
  // A trial that never reached hearthd (no snapshot) leaves the database alone on the way back.
  b.slots.removeSnapshot();
  b.boot('A');
  b.start();
  assert.deepEqual(b.rows(), ['before', 'on the new version']);
});
