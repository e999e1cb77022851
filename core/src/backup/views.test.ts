import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidParams } from '../errors.ts';
import { volumePathsOf } from './executors.ts';
import { checkLocalPath } from './views.ts';

test('a local target path must be plain, not a system directory, and off the data drive', () => {
  const data = ['/var/lib/hearth'];
  assert.equal(checkLocalPath('/mnt/backups', data), '/mnt/backups');
  for (const bad of [
    'relative/path',
    '/mnt/../etc',
    '/mnt/./x',
    '/mnt//x',
    '/mnt/x/',
    '/mnt/x\n',
    '/mnt/\0x',
    '/',
    '/proc/self',
    '/etc',
    '/var/lib/hearth',
    '/var/lib/hearth/packages/x',
    '/var/lib',
    `/${'a'.repeat(2000)}`,
  ]) {
    assert.throws(() => checkLocalPath(bad, data), InvalidParams, JSON.stringify(bad));
  }
});

test("a snapshot's paths are followed only when plain and the package's own volumes", () => {
  const snap = {
    id: 'a'.repeat(64),
    shortId: 'aaaaaaaa',
    time: '2026-01-01T00:00:00Z',
    hostname: 'h',
    tags: [],
    paths: [
      '/var/lib/hearth/packages/radicale/volumes/collections',
      '/var/lib/hearth/packages/radicale/versions/3.1.8',
      '/var/lib/hearth/packages/radicale/volumes/../../../etc',
      '/var/lib/hearth/packages/other/volumes/data',
      'relative/radicale/volumes/x',
      '/x/radicale/volumes/UPPER',
      '/x/radicale/volumes/./config',
    ],
  };
  assert.deepEqual(volumePathsOf(snap, 'radicale'), [
    { volume: 'collections', path: '/var/lib/hearth/packages/radicale/volumes/collections' },
  ]);
});
