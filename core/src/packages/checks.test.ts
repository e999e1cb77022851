import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addressForSlot,
  dependentsOf,
  describeUnmet,
  freeSlot,
  hearthTooOld,
  type InstalledSummary,
  SOURCE_VERSION,
  unmetDependencies,
} from './checks.ts';

const pkg = (id: string, version: string, running: boolean, deps: InstalledSummary['dependencies'] = []) => ({
  id,
  version,
  running,
  dependencies: deps,
});

test('unmet dependencies are named with what is wrong', () => {
  const installed = [pkg('postgres', '15.2.0', false), pkg('redis', '7.0.0', true)];
  const unmet = unmetDependencies(
    [
      { id: 'postgres', versionRange: '^15', requireRunning: true },
      { id: 'redis', versionRange: '^6', requireRunning: false },
      { id: 'minio', versionRange: '*', requireRunning: false },
      { id: 'redis', versionRange: '>=7.0.0', requireRunning: true },
    ],
    installed,
  );
  assert.deepEqual(
    unmet.map((u) => u.problem),
    ['stopped', 'version', 'missing'],
  );
  assert.equal(
    describeUnmet(unmet),
    'postgres must be running; redis ^6 is needed but 7.0.0 is installed; minio * is not installed',
  );
});

test('dependents are the packages that declare the dependency', () => {
  const installed = [
    pkg('app', '1.0.0', true, [{ id: 'db', versionRange: '*', requireRunning: true }]),
    pkg('db', '1.0.0', true),
    pkg('tool', '1.0.0', true, [{ id: 'db', versionRange: '*', requireRunning: false }]),
  ];
  assert.deepEqual(dependentsOf('db', installed), ['app', 'tool']);
});

test('slots and addresses', () => {
  assert.equal(freeSlot([0, 1, 3]), 2);
  assert.equal(addressForSlot('10.73.0.0/24', 0), '10.73.0.2');
  assert.throws(() => addressForSlot('10.73.0.0/24', 253));
});

test('a Hearth older than a package needs is too old; one run from source never is', () => {
  assert.equal(hearthTooOld('0.1.0', '0.2.0'), true);
  assert.equal(hearthTooOld('0.2.0', '0.2.0'), false);
  assert.equal(hearthTooOld('1.0.0', '0.2.0'), false);
  assert.equal(hearthTooOld('0.1.0', undefined), false);
  assert.equal(hearthTooOld(SOURCE_VERSION, '9.0.0'), false);
});
