import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Group,
  packageOf,
  planBackup,
  planPutBack,
  planRecovery,
  planRestore,
  type Step,
  shouldRun,
  tagsFor,
} from './plan.ts';

const pkg = (id: string, o: Partial<{ running: boolean; hasPre: boolean; hasPost: boolean }> = {}) => ({
  id,
  version: '1.0.0',
  running: true,
  hasPre: false,
  hasPost: false,
  volumes: ['data'],
  ...o,
});
const kinds = (steps: Step[]) => steps.map((s) => ('id' in s ? `${s.kind} ${s.id}` : s.kind));

/** What runs when the steps in `failing` fail (by "kind id"). */
function simulate(steps: Step[], failing: string[]): string[] {
  const failed = new Set<Group>();
  const ran: string[] = [];
  for (const s of steps) {
    if (!shouldRun(s, failed)) continue;
    const name = 'id' in s ? `${s.kind} ${s.id}` : s.kind;
    ran.push(name);
    if (failing.includes(name)) failed.add(s.group);
  }
  return ran;
}

describe('planBackup', () => {
  test('a running package without hooks is frozen for the copy and thawed after', () => {
    assert.deepEqual(kinds(planBackup({ target: 't', packages: [pkg('a')], box: false })), [
      'open-target',
      'check-target',
      'write-package-settings a',
      'freeze a',
      'back-up-package a',
      'thaw a',
      'drop-staging',
      'close-target',
    ]);
  });

  test('a package with hooks runs them around the copy instead of freezing; a stopped one is copied as it is', () => {
    const steps = planBackup({
      target: 't',
      packages: [pkg('a', { hasPre: true, hasPost: true }), pkg('b', { running: false })],
      box: true,
    });
    assert.deepEqual(kinds(steps), [
      'open-target',
      'check-target',
      'write-package-settings a',
      'backup-pre a',
      'back-up-package a',
      'backup-post a',
      'write-package-settings b',
      'back-up-package b',
      'dump-box',
      'back-up-box',
      'drop-staging',
      'close-target',
    ]);
  });

  test('a failed copy still thaws its package, and the other packages and the box go on', () => {
    const steps = planBackup({ target: 't', packages: [pkg('a'), pkg('b')], box: true });
    assert.deepEqual(simulate(steps, ['back-up-package a']), [
      'open-target',
      'check-target',
      'write-package-settings a',
      'freeze a',
      'back-up-package a',
      'thaw a',
      'write-package-settings b',
      'freeze b',
      'back-up-package b',
      'thaw b',
      'dump-box',
      'back-up-box',
      'drop-staging',
      'close-target',
    ]);
  });

  test('a target that fails its check skips everything but the always steps: nothing is frozen', () => {
    const steps = planBackup({ target: 't', packages: [pkg('a', { hasPost: true })], box: true });
    assert.deepEqual(simulate(steps, ['check-target']), [
      'open-target',
      'check-target',
      'backup-post a',
      'drop-staging',
      'close-target',
    ]);
  });

  test('a freeze that fails copies nothing but still thaws', () => {
    const steps = planBackup({ target: 't', packages: [pkg('a')], box: false });
    assert.deepEqual(simulate(steps, ['freeze a']), [
      'open-target',
      'check-target',
      'write-package-settings a',
      'freeze a',
      'thaw a',
      'drop-staging',
      'close-target',
    ]);
  });
});

describe('planRestore', () => {
  test('restores beside the package first, swaps, waits for health, then drops the old data', () => {
    assert.deepEqual(kinds(planRestore({ target: 't', id: 'a', snapshot: 'ab'.repeat(32), running: true })), [
      'open-target',
      'restore-to-staging a',
      'stop-package a',
      'set-aside a',
      'put-in-place a',
      'start-package a',
      'wait-healthy a',
      'drop-aside a',
      'drop-staging',
      'close-target',
    ]);
  });

  test('a failed restic restore changes nothing of the package', () => {
    const steps = planRestore({ target: 't', id: 'a', snapshot: 'ab'.repeat(32), running: true });
    assert.deepEqual(simulate(steps, ['restore-to-staging a']), [
      'open-target',
      'restore-to-staging a',
      'drop-staging',
      'close-target',
    ]);
  });

  test('a package that does not turn healthy keeps its old data aside (put back after)', () => {
    const steps = planRestore({ target: 't', id: 'a', snapshot: 'ab'.repeat(32), running: true });
    assert.ok(!simulate(steps, ['wait-healthy a']).includes('drop-aside a'));
    assert.deepEqual(kinds(planPutBack({ id: 'a', running: true })), [
      'stop-package a',
      'put-back a',
      'start-package a',
    ]);
    assert.ok(planPutBack({ id: 'a', running: true }).every((s) => s.always));
  });

  test('a package that should not run is restored without being started', () => {
    const k = kinds(planRestore({ target: 't', id: 'a', snapshot: 'ab'.repeat(32), running: false }));
    assert.ok(!k.includes('start-package a') && !k.includes('wait-healthy a'));
    // Stopped all the same before the swap: one starting by itself would hold the old volumes.
    assert.ok(k.indexOf('stop-package a') < k.indexOf('set-aside a'));
  });
});

describe('planRecovery', () => {
  test('after a crash in a backup: every package thawed, post hooks run for running ones', () => {
    const steps = planRecovery({
      kind: 'backup',
      target: 't',
      packages: [
        { id: 'a', running: true, hasPost: true },
        { id: 'b', running: false, hasPost: true },
      ],
      aside: [],
    });
    assert.deepEqual(kinds(steps), ['thaw a', 'backup-post a', 'thaw b', 'drop-staging', 'close-target']);
    assert.ok(steps.every((s) => s.always));
  });

  test('after a crash in a restore: the set-aside data goes back; without any aside nothing is touched', () => {
    const back = planRecovery({
      kind: 'restore',
      target: 't',
      packages: [{ id: 'a', running: true, hasPost: false }],
      aside: ['a'],
    });
    assert.deepEqual(kinds(back), [
      'stop-package a',
      'put-back a',
      'start-package a',
      'drop-staging',
      'close-target',
    ]);
    const none = planRecovery({
      kind: 'restore',
      target: 't',
      packages: [{ id: 'a', running: true, hasPost: false }],
      aside: [],
    });
    assert.deepEqual(kinds(none), ['drop-staging', 'close-target']);
  });
});

test('tags name the package, its version and the run; packageOf reads them back', () => {
  const tags = tagsFor({ id: 'radicale', version: '3.1.8' }, 7);
  assert.deepEqual(tags, ['hearth', 'package:radicale', 'version:3.1.8', 'run:7']);
  assert.deepEqual(packageOf(tags), { id: 'radicale', version: '3.1.8' });
  assert.equal(packageOf(tagsFor('box', 7)), undefined);
});
