import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BACKOFF,
  type Observed,
  type PackageRecord,
  type PlanInput,
  plan,
  planActionWhileStopped,
  planInstall,
  planRemove,
  planRestart,
  planRollBack,
  planUpdate,
} from './plan.ts';

const pkg = (
  id: string,
  desired: PackageRecord['desired'] = 'running',
  phase: PackageRecord['phase'] = 'installed',
) => ({
  id,
  desired,
  phase,
});

function input(
  packages: PackageRecord[],
  observed: Partial<Observed> = {},
  over: Partial<PlanInput> = {},
): PlanInput {
  return {
    packages,
    observed: { containers: [], mounts: [], ...observed },
    busy: new Set(),
    crashes: new Map(),
    now: 1_000_000,
    startUp: false,
    ...over,
  };
}

test('agreement needs no steps', () => {
  const steps = plan(
    input([pkg('a'), pkg('b', 'stopped')], {
      containers: [
        { name: 'hearth-a', state: 'running' },
        { name: 'hearth-b', state: 'stopped' },
      ],
    }),
  );
  assert.deepEqual(steps, []);
});

test('desired state wins: start, stop, and a missing container is made', () => {
  const steps = plan(
    input([pkg('a'), pkg('b', 'stopped'), pkg('c'), pkg('d', 'stopped')], {
      containers: [
        { name: 'hearth-a', state: 'stopped' },
        { name: 'hearth-b', state: 'running' },
      ],
    }),
  );
  assert.deepEqual(steps, [
    { kind: 'start', id: 'a', after: 'desired' },
    { kind: 'stop', id: 'b', why: 'desired' },
    { kind: 'create-container', id: 'c' },
    { kind: 'start', id: 'c', after: 'start-up' },
    { kind: 'create-container', id: 'd' },
  ]);
});

test('after a crash of the daemon, half-done operations are undone or finished', () => {
  const packages: PackageRecord[] = [
    { ...pkg('new', 'running', 'installing'), version: '1.0.0' },
    { ...pkg('old', 'running', 'removing'), version: '1.0.0', keepData: true },
    { ...pkg('upd', 'running', 'updating'), version: '2.0.0', previousVersion: '1.0.0' },
    { ...pkg('cut', 'running', 'updating'), version: '1.0.0', previousVersion: '1.0.0' },
  ];
  assert.deepEqual(plan(input(packages, {}, { startUp: true })), [
    { kind: 'destroy-container', id: 'new' },
    { kind: 'remove-package', id: 'new', keepData: false },
    { kind: 'destroy-container', id: 'old' },
    { kind: 'remove-package', id: 'old', keepData: true },
    ...planRollBack({ id: 'upd', version: '2.0.0', previousVersion: '1.0.0' }),
    { kind: 'sweep', id: 'upd', keep: '1.0.0' },
    // Cut short before the switch: the row still names the old version, whose files stay.
    ...planRollBack({ id: 'cut', version: '1.0.0', previousVersion: '1.0.0' }),
    { kind: 'sweep', id: 'cut', keep: '1.0.0' },
  ]);
  assert.ok(
    !planRollBack({ id: 'cut', version: '1.0.0', previousVersion: '1.0.0' }).some(
      (s) => s.kind === 'remove-version',
    ),
  );
  // While the daemon runs, those phases belong to live operations: no steps.
  assert.deepEqual(plan(input(packages)), []);
});

test('at start-up what finished updates left behind is swept, before anything starts', () => {
  const steps = plan(
    input(
      [{ ...pkg('a'), version: '1.2.0' }],
      { containers: [{ name: 'hearth-a', state: 'stopped' }] },
      { startUp: true },
    ),
  );
  assert.deepEqual(steps, [
    { kind: 'sweep', id: 'a', keep: '1.2.0' },
    { kind: 'start', id: 'a', after: 'start-up' },
  ]);
});

test('a package an operation is working on is left alone, and so is its container', () => {
  const steps = plan(
    input(
      [pkg('a')],
      { containers: [{ name: 'hearth-b', state: 'running' }], mounts: [{ packageId: 'b', path: '/m' }] },
      { busy: new Set(['a', 'b']) },
    ),
  );
  assert.deepEqual(steps, []);
});

test('orphans of ours are removed; foreign containers are never touched', () => {
  const steps = plan(
    input([], {
      containers: [
        { name: 'hearth-gone', state: 'running' },
        { name: 'my-own-container', state: 'running' },
      ],
      mounts: [{ packageId: 'gone', path: '/var/lib/hearth/packages/gone/root' }],
    }),
  );
  assert.deepEqual(steps, [
    { kind: 'remove-orphan-container', name: 'hearth-gone' },
    { kind: 'unmount-orphan', path: '/var/lib/hearth/packages/gone/root' },
  ]);
});

test('crashes back off exponentially and a crash loop is reported', () => {
  const now = 1_000_000;
  const observed = { containers: [{ name: 'hearth-a', state: 'stopped' as const }] };
  const at = (crashes: number[]) =>
    plan(input([pkg('a')], observed, { crashes: new Map([['a', crashes]]), now }));

  assert.deepEqual(at([now - 500]), [{ kind: 'wait', id: 'a', until: now + 500 }]);
  assert.deepEqual(at([now - 1500]), [{ kind: 'start', id: 'a', after: 'crash' }]);
  assert.deepEqual(at([now - 3000, now - 1000]), [{ kind: 'wait', id: 'a', until: now + 1000 }]);
  const five = [5, 4, 3, 2, 1].map((i) => now - i * 1000);
  assert.deepEqual(at(five), [
    { kind: 'crash-loop', id: 'a', crashes: 5 },
    { kind: 'wait', id: 'a', until: now - 1000 + 16_000 },
  ]);
  // Old crashes are forgotten.
  assert.deepEqual(at([now - BACKOFF.windowMs - 1]), [{ kind: 'start', id: 'a', after: 'desired' }]);
  // The delay is capped.
  const many = Array.from({ length: 20 }, (_, i) => now - 1000 - i);
  assert.deepEqual(at(many).at(-1), { kind: 'wait', id: 'a', until: now - 1000 + BACKOFF.maxMs });
});

test('at start-up a package that should run is started without waiting', () => {
  const steps = plan(
    input(
      [pkg('a')],
      { containers: [{ name: 'hearth-a', state: 'stopped' }] },
      { startUp: true, crashes: new Map([['a', [999_999]]]) },
    ),
  );
  assert.deepEqual(steps, [{ kind: 'start', id: 'a', after: 'start-up' }]);
});

test('packages start after those they need running', () => {
  const steps = plan(
    input(
      [
        { id: 'app', desired: 'running', phase: 'installed', requires: ['db'] },
        { id: 'db', desired: 'running', phase: 'installed', requires: ['app-less'] },
        { id: 'loop-a', desired: 'running', phase: 'installed', requires: ['loop-b'] },
        { id: 'loop-b', desired: 'running', phase: 'installed', requires: ['loop-a'] },
      ],
      {
        containers: ['app', 'db', 'loop-a', 'loop-b'].map((id) => ({
          name: `hearth-${id}`,
          state: 'stopped' as const,
        })),
      },
    ),
  );
  assert.deepEqual(
    steps.map((s) => ('id' in s ? s.id : '')),
    ['db', 'app', 'loop-b', 'loop-a'],
  );
});

test('after a crash, a package that should be stopped is stopped again (its mounts go with it)', () => {
  const observed = { containers: [{ name: 'hearth-a', state: 'stopped' as const }] };
  assert.deepEqual(plan(input([pkg('a', 'stopped')], observed, { startUp: true })), [
    { kind: 'stop', id: 'a', why: 'desired' },
  ]);
  assert.deepEqual(plan(input([pkg('a', 'stopped')], observed)), []);
});

// --- operations --------------------------------------------------------------

test('an install unpacks, then counts as installed; the steady state makes and starts it', () => {
  assert.deepEqual(planInstall('a', '1.0.0'), [
    { kind: 'unpack', id: 'a', version: '1.0.0' },
    { kind: 'finish-install', id: 'a' },
  ]);
});

test('an update upwards: stop, snapshot, new files, switch, start migrating, done', () => {
  const steps = planUpdate({ id: 'a', from: '1.0.0', to: '1.1.0', downgrade: false, desired: 'running' });
  assert.deepEqual(
    steps.map((s) => s.kind),
    [
      'begin-update',
      'stop',
      'destroy-container',
      'snapshot-volumes',
      'unpack',
      'switch-version',
      'create-container',
      'start',
      'finish-update',
    ],
  );
  assert.deepEqual(steps[1], { kind: 'stop', id: 'a', why: 'update' });
  assert.deepEqual(steps[3], { kind: 'snapshot-volumes', id: 'a', version: '1.0.0' });
  assert.deepEqual(steps[7], {
    kind: 'start',
    id: 'a',
    after: 'update',
    migrate: { from: '1.0.0', to: '1.1.0' },
  });
  // A package that should be stopped is stopped again once the new version has migrated.
  const stopped = planUpdate({ id: 'a', from: '1.0.0', to: '1.1.0', downgrade: false, desired: 'stopped' });
  assert.deepEqual(stopped.at(-2), { kind: 'stop', id: 'a', why: 'desired' });
});

test('an update downwards undoes the migrations in the newer runtime, after the snapshot', () => {
  const steps = planUpdate({ id: 'a', from: '1.1.0', to: '1.0.0', downgrade: true, desired: 'running' });
  assert.deepEqual(
    steps.map((s) => s.kind),
    [
      'begin-update',
      'shutdown-daemons',
      'snapshot-volumes',
      'migrate',
      'stop',
      'destroy-container',
      'unpack',
      'switch-version',
      'create-container',
      'start',
      'finish-update',
    ],
  );
  assert.deepEqual(steps[3], { kind: 'migrate', id: 'a', from: '1.1.0', to: '1.0.0' });
  assert.deepEqual(steps[9], { kind: 'start', id: 'a', after: 'update' });
});

test('a rollback: the new container goes, the old data comes back, the row says the old version', () => {
  assert.deepEqual(
    planRollBack({ id: 'a', version: '1.1.0', previousVersion: '1.0.0' }).map((s) =>
      s.kind === 'remove-version' ? `${s.kind} ${s.version}` : s.kind,
    ),
    [
      'stop',
      'destroy-container',
      'unmount-package',
      'restore-snapshot',
      'drop-writable-layer',
      'remove-version 1.1.0',
      'switch-back',
    ],
  );
});

test('a restart is a stop of ours and a start: no crash, no backoff', () => {
  assert.deepEqual(planRestart('a', true), [
    { kind: 'stop', id: 'a', why: 'restart' },
    { kind: 'start', id: 'a', after: 'restart' },
  ]);
  assert.deepEqual(planRestart('a', false), [{ kind: 'start', id: 'a', after: 'restart' }]);
});

test('an uninstall, and an action of a stopped package that stops it again whatever happens', () => {
  assert.deepEqual(planRemove('a', true), [
    { kind: 'destroy-container', id: 'a' },
    { kind: 'remove-package', id: 'a', keepData: true },
  ]);
  assert.deepEqual(planActionWhileStopped('a', 'reset', { x: 1 }), {
    steps: [{ kind: 'run-action-held', id: 'a', action: 'reset', input: { x: 1 } }],
    always: [{ kind: 'stop', id: 'a', why: 'action' }],
  });
});
