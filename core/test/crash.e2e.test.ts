import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { migrate, openDatabase } from '../src/state/db.ts';
import { MIGRATIONS } from '../src/state/migrations.ts';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

const daemons: TestDaemon[] = [];
after(async () => {
  for (const d of daemons.reverse()) await d.cleanup();
});

test('kill -9 during a burst of writes: the database is intact, nothing acknowledged is lost, the revision continues', async () => {
  const first = await startTestDaemon();
  daemons.push(first);
  await setUp(first);
  const client = first.client({ bearer: first.localToken });

  const acknowledged: number[] = [];
  let lastRevision = 0;
  const writers = Array.from({ length: 8 }, async (_, w) => {
    for (let i = 0; ; i++) {
      try {
        const n = await client.call('notification.create', {
          title: `writer ${w} #${i}`,
          message: 'x'.repeat(200),
        });
        acknowledged.push(n.id);
        if (i % 10 === 0) lastRevision = Math.max(lastRevision, (await client.call('state.get')).revision);
      } catch {
        return; // the daemon is gone
      }
    }
  });
  // Writers that all stop early (the daemon failed) end the wait too; the deadline is a guard.
  let writing = writers.length;
  for (const w of writers) void w.finally(() => writing--);
  const deadline = Date.now() + 60_000;
  while (acknowledged.length < 300) {
    assert.ok(writing > 0, `the writers stopped after ${acknowledged.length} writes:\n${first.output()}`);
    assert.ok(Date.now() < deadline, `only ${acknowledged.length} writes acknowledged in 60 s`);
    await sleep(5);
  }
  await first.kill();
  await Promise.all(writers);

  // The database on its own: consistent, and at the current schema.
  const db = openDatabase(path.join(first.root, 'var/lib/hearth/hearth.db'));
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  assert.deepEqual(migrate(db, MIGRATIONS), { from: MIGRATIONS.length, to: MIGRATIONS.length });
  const ids = new Set(
    (db.prepare('SELECT id FROM notifications').all() as { id: number }[]).map((r) => r.id),
  );
  db.close();
  const lost = acknowledged.filter((id) => !ids.has(id));
  assert.deepEqual(lost, [], 'every acknowledged write survived');

  const second = await first.restart();
  daemons.push(second);
  const after = await second.client({ bearer: second.localToken }).call('state.get');
  assert.ok(after.revision > lastRevision, `revision went on: ${after.revision} > ${lastRevision}`);
  const unseen = (after.state as { notifications: { unseen: number } }).notifications.unseen;
  assert.ok(unseen >= acknowledged.length);
  assert.equal((await second.client().call('setup.status')).setupComplete, true);
});

test('a database from a newer Hearth stops the daemon with a clear message', async () => {
  const d = await startTestDaemon();
  daemons.push(d);
  await d.stop();
  const db = openDatabase(path.join(d.root, 'var/lib/hearth/hearth.db'));
  db.pragma('user_version = 999');
  db.close();
  await assert.rejects(d.restart(), (e: Error) => {
    assert.match(e.message, /schema version 999, but this Hearth knows only up to \d+/);
    assert.match(e.message, /hint: a newer Hearth wrote it/);
    return true;
  });
});

test('SIGTERM lets the calls under way finish, then closes the database and exits 0', async () => {
  const d = await startTestDaemon();
  daemons.push(d);
  const admin = d.client({ bearer: await setUp(d) });
  // Setup's own aftermath first (the box's CA and first certificate are made right after
  // it): a request that is still unread in the socket when the stop begins is not a call
  // under way, and is cut.
  for (const deadline = Date.now() + 30_000; ; await sleep(50)) {
    const { certificates } = await admin.call('tls.status');
    if (certificates.some((c) => c.id === 'box')) break;
    assert.ok(Date.now() < deadline, 'the box never got its certificate');
  }
  // A login spends ~100 ms in argon2id: long enough to stop the daemon in the middle.
  const login = d.client().call('auth.login', { password: PASSWORD });
  await sleep(20);
  const stopped = d.stop();
  const session = await login;
  assert.match(session.token, /^hts_/);
  assert.equal(await stopped, 0);
  assert.match(d.output(), /stopping[\s\S]*stopped/);
  // Stopped cleanly: the WAL was checkpointed into the database and removed.
  assert.equal(fs.existsSync(path.join(d.root, 'var/lib/hearth/hearth.db-wal')), false);
});

test('a port already in use stops the daemon with a message that says what to do', async () => {
  const d = await startTestDaemon();
  daemons.push(d);
  await setUp(d);
  await assert.rejects(
    startTestDaemon({ args: ['--port', String(d.port)] }).then((x) => daemons.push(x)),
    (e: Error) => {
      assert.match(
        e.message,
        /hearth: something else already listens on 127\.0\.0\.1 port \d+ — hint: stop the other program/,
      );
      return true;
    },
  );
});
