import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Events } from '../events/events.ts';
import { silentLogger } from '../log/log.ts';
import { Notifications } from '../notifications/notifications.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import { CLOCK_FLOOR, clockCheck, crashLoopCheck, freeSpaceCheck } from './builtin.ts';
import { type Check, Checks, type Draft } from './checks.ts';
import { expiryCheck, overdueCheck } from './hooks.ts';

function setup(o: { timeoutMs?: number } = {}) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  let now = 1_800_000_000_000;
  const events = new Events({ db, retentionDays: 30, now: () => now });
  const notifications = new Notifications({ db, state, now: () => now });
  const checks = new Checks({ events, notifications, state, log: silentLogger, now: () => now, ...o });
  return {
    checks,
    events,
    notifications,
    state,
    tick: (ms: number) => {
      now += ms;
    },
  };
}

/** A check that finds what the test says, and counts its runs. */
function scripted(id: string, answers: (Draft[] | { unknown: string } | Error)[]) {
  let i = 0;
  const fixed: (string | null)[] = [];
  const check: Check = {
    id,
    title: `The ${id}`,
    async run() {
      const a = answers[Math.min(i++, answers.length - 1)]!;
      if (a instanceof Error) throw a;
      return a;
    },
    fixups: [
      {
        id: `${id}.fix`,
        title: 'Fix it',
        async run(subject) {
          fixed.push(subject);
          return 'fixed';
        },
      },
    ],
  };
  return { check, fixed, runs: () => i };
}

const full: Draft = {
  subject: null,
  severity: 'error',
  message: 'Full',
  hint: 'Free some',
  fixup: 'disk.fix',
};

test('a finding is an event and a notification once; its going away an event; the state follows', async () => {
  const s = setup();
  const disk = scripted('disk', [[], [full], [full], []]);
  s.checks.register(disk.check);
  assert.equal(s.checks.list()[0]!.status, 'not-run');

  assert.equal((await s.checks.run())[0]!.status, 'ok');
  s.tick(1000);
  const [failing] = await s.checks.run('disk');
  assert.equal(failing!.status, 'failing');
  assert.deepEqual(failing!.findings, [{ ...full, check: 'disk', since: 1_800_000_001_000 }]);
  s.tick(1000);
  // Still failing: the same finding, since kept, no second notification.
  assert.equal((await s.checks.run())[0]!.findings[0]!.since, 1_800_000_001_000);
  assert.equal(s.notifications.list({ unseenOnly: false, limit: 10 }).length, 1);
  const [n] = s.notifications.list({ unseenOnly: false, limit: 10 });
  assert.equal(n!.level, 'error');
  assert.equal(n!.source, 'check:disk');
  assert.equal(n!.message, 'Full. Free some.');
  assert.deepEqual(
    s.checks.findings().map((f) => f.message),
    ['Full'],
  );
  assert.equal((s.state.get('checks', 'disk') as { status: string }).status, 'failing');

  await s.checks.run();
  assert.deepEqual(s.checks.findings(), []);
  assert.deepEqual(
    s.events.list({ limit: 10 }).map((e) => [e.kind, e.detail.check]),
    [
      ['check-resolved', 'disk'],
      ['check-failing', 'disk'],
    ],
  );
  assert.equal((s.state.get('checks', 'disk') as { status: string }).status, 'ok');
});

test('a check that cannot tell, throws or hangs is unknown, and keeps what it found before', async () => {
  const s = setup({ timeoutMs: 50 });
  const flaky = scripted('flaky', [[full], { unknown: 'no bus' }, new Error('boom')]);
  s.checks.register(flaky.check);
  s.checks.register({ id: 'slow', title: 'Slow', run: () => new Promise(() => {}) });
  await s.checks.run();
  const unknown = await s.checks.run('flaky');
  assert.deepEqual([unknown[0]!.status, unknown[0]!.reason], ['unknown', 'no bus']);
  assert.equal(unknown[0]!.findings.length, 1, 'not knowing is no reason to call it fixed');
  const thrown = await s.checks.run('flaky');
  assert.deepEqual([thrown[0]!.status, thrown[0]!.reason], ['unknown', 'boom']);
  const slow = s.checks.list().find((c) => c.id === 'slow')!;
  assert.equal(slow.status, 'unknown');
  assert.match(slow.reason!, /no answer in 0.05 s/);
  assert.equal(s.checks.findings().length, 1);
  assert.equal(s.events.list({ kinds: ['check-resolved'], limit: 10 }).length, 0);
});

test('runs asked for while one runs join it', async () => {
  const s = setup();
  let release = () => {};
  let runs = 0;
  s.checks.register({
    id: 'once',
    title: 'Once',
    run: () =>
      new Promise((resolve) => {
        runs++;
        release = () => resolve([]);
      }),
  });
  const a = s.checks.run();
  const b = s.checks.run('once');
  await new Promise((r) => setImmediate(r));
  release();
  await Promise.all([a, b]);
  assert.equal(runs, 1);
  await s.checks.idle();
});

test('fixups: run for an open finding of theirs, then the check again; anything else is refused', async () => {
  const s = setup();
  const disk = scripted('disk', [[full], []]);
  s.checks.register(disk.check);
  await assert.rejects(s.checks.fix('disk.fix', null), { code: 'nothing_to_fix' });
  await s.checks.run();
  await assert.rejects(s.checks.fix('nope', null), { code: 'not_found' });
  await assert.rejects(s.checks.fix('disk.fix', 'other-subject'), { code: 'nothing_to_fix' });
  const { did, check } = await s.checks.fix('disk.fix', null);
  assert.equal(did, 'fixed');
  assert.deepEqual(disk.fixed, [null]);
  assert.equal(check.status, 'ok');
  await assert.rejects(s.checks.run('nope'), { code: 'not_found' });
  assert.throws(() => s.checks.register(disk.check), /registered twice/);
});

test('free space: an error below the threshold, a warning below twice it, nothing above or when off', async () => {
  const MiB = 1048576;
  const at = (availableBytes: number, minFreeBytes = 100 * MiB) =>
    freeSpaceCheck({
      dir: '/data',
      statfs: async () => ({ totalBytes: 1000 * MiB, availableBytes }),
      minFreeBytes,
    }).run() as Promise<Draft[]>;
  const [error] = await at(50 * MiB);
  assert.equal(error!.severity, 'error');
  assert.match(error!.message, /50 MiB free of 1000 MiB, less than the 100 MiB it keeps free/);
  assert.equal((await at(150 * MiB))[0]!.severity, 'warning');
  assert.deepEqual(await at(250 * MiB), []);
  assert.deepEqual(await at(0, 0), []);
});

test('a crash loop names the package and offers to stop it', async () => {
  const stopped: string[] = [];
  const check = crashLoopCheck({
    loops: () => [{ id: 'web', title: 'Web', crashes: 6 }],
    stop: async (id) => {
      stopped.push(id);
    },
  });
  const [f] = (await check.run()) as Draft[];
  assert.deepEqual(
    [f!.subject, f!.package, f!.fixup, f!.severity],
    ['web', 'web', 'crash-loop.stop', 'error'],
  );
  assert.match(f!.message, /Web stopped 6 times in ten minutes/);
  assert.match(await check.fixups![0]!.run('web'), /web is stopped/);
  assert.deepEqual(stopped, ['web']);
});

test('the clock: impossible times, unsynchronised with NTP on or off, and not knowing', async () => {
  let enabled = 0;
  const run = (clock: { synchronized: boolean; ntp: boolean } | undefined, now = CLOCK_FLOOR + 1) =>
    clockCheck({ clock: async () => clock, enableNtp: async () => void enabled++, now: () => now });
  const [past] = (await run({ synchronized: true, ntp: true }, 0).run()) as Draft[];
  assert.match(past!.message, /1970-01-01T00:00:00.000Z, which cannot be right/);
  assert.deepEqual(await run({ synchronized: true, ntp: true }).run(), []);
  assert.deepEqual(await run(undefined).run(), {
    unknown: 'systemd-timedated does not answer on the system bus',
  });
  const [on] = (await run({ synchronized: false, ntp: true }).run()) as Draft[];
  assert.equal(on!.fixup, undefined);
  const off = run({ synchronized: false, ntp: false });
  assert.equal(((await off.run()) as Draft[])[0]!.fixup, 'clock.enable-ntp');
  await off.fixups![0]!.run(null);
  assert.equal(enabled, 1);
});

test('hooks for later domains: things that expire, jobs that are overdue', async () => {
  const DAY = 86_400_000;
  const now = CLOCK_FLOOR + 100 * DAY;
  const certs = expiryCheck({
    id: 'box-certificates',
    title: 'Certificates',
    renewHint: 'Renew it',
    now: () => now,
    items: async () => [
      { subject: 'a', name: 'a.example', notAfter: now + 30 * DAY },
      { subject: 'b', name: 'b.example', notAfter: now + 10 * DAY },
      { subject: 'c', name: 'c.example', notAfter: now + 1 * DAY, package: 'web' },
      { subject: 'd', name: 'd.example', notAfter: now - 2 * DAY },
    ],
  });
  assert.deepEqual(
    ((await certs.run()) as Draft[]).map((f) => [f.subject, f.severity, f.message, f.package]),
    [
      ['b', 'warning', 'b.example expires in 10 days', undefined],
      ['c', 'error', 'c.example expires in 1 day', 'web'],
      ['d', 'error', `d.example expired on ${new Date(now - 2 * DAY).toISOString().slice(0, 10)}`, undefined],
    ],
  );
  const backups = overdueCheck({
    id: 'backups',
    title: 'Backups',
    hint: 'Look at the backup log',
    now: () => now,
    items: async () => [
      { subject: 'fresh', name: 'Nightly', lastSuccess: now - 0.5 * DAY, everyMs: DAY, since: 0 },
      { subject: 'late', name: 'Nightly', lastSuccess: now - 1.5 * DAY, everyMs: DAY, since: 0 },
      { subject: 'dead', name: 'Nightly', lastSuccess: now - 4 * DAY, everyMs: DAY, since: 0 },
      { subject: 'never', name: 'Weekly', lastSuccess: null, everyMs: 7 * DAY, since: now - 10 * DAY },
      { subject: 'new', name: 'Weekly', lastSuccess: null, everyMs: 7 * DAY, since: now - DAY },
    ],
  });
  assert.deepEqual(
    ((await backups.run()) as Draft[]).map((f) => [f.subject, f.severity, f.message]),
    [
      ['late', 'warning', 'Nightly last succeeded 1 day ago'],
      ['dead', 'error', 'Nightly last succeeded 4 days ago'],
      ['never', 'warning', 'Weekly has not succeeded once in 10 days'],
    ],
  );
});
