import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKOFF, type Observed, type PackageRecord, type PlanInput, plan } from './plan.ts';

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
    { kind: 'stop', id: 'b' },
    { kind: 'create-container', id: 'c' },
    { kind: 'start', id: 'c', after: 'start-up' },
    { kind: 'create-container', id: 'd' },
  ]);
});

test('after a crash of the daemon, half-done operations are undone or finished', () => {
  const packages = [
    pkg('new', 'running', 'installing'),
    pkg('old', 'running', 'removing'),
    pkg('upd', 'running', 'updating'),
  ];
  assert.deepEqual(plan(input(packages, {}, { startUp: true })), [
    { kind: 'abort-install', id: 'new' },
    { kind: 'finish-remove', id: 'old' },
    { kind: 'roll-back-update', id: 'upd' },
  ]);
  // While the daemon runs, those phases belong to live operations: no steps.
  assert.deepEqual(plan(input(packages)), []);
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
    { kind: 'stop', id: 'a' },
  ]);
  assert.deepEqual(plan(input([pkg('a', 'stopped')], observed)), []);
});
