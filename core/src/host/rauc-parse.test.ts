import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseBundleInfo, parseEngineStatus, parseProgressLine } from './rauc-parse.ts';

const fixture = (name: string) =>
  fs.readFileSync(path.join(import.meta.dirname, '__fixtures__', name), 'utf8');

test('rauc info: the compatible string, the version and the images of a bundle', () => {
  const info = parseBundleInfo(fixture('rauc-1.8-info.json'));
  assert.equal(info.compatible, 'hearth-x86_64');
  assert.equal(info.version, '0.3.0');
  assert.deepEqual(
    info.images.map((i) => [i.slotClass, i.filename, i.size]),
    [['rootfs', 'root.img', 204800]],
  );
});

test('rauc status: the booted slot, the primary and each slot’s state (after mark-active other)', () => {
  const s = parseEngineStatus(fixture('rauc-1.8-status.json'));
  assert.equal(s.booted, 'A');
  assert.equal(s.primary, 'B');
  assert.deepEqual(
    s.slots.map((x) => [x.bootname, x.state, x.bootStatus]),
    [
      ['B', 'inactive', 'good'],
      ['A', 'booted', 'good'],
    ],
  );
});

test('refuses what is not RAUC’s answer, and bounds what it reads', () => {
  assert.throws(() => parseBundleInfo('{}'));
  assert.throws(() => parseBundleInfo('not json'));
  assert.throws(() =>
    parseBundleInfo(JSON.stringify({ compatible: 'x'.repeat(201), version: '1', images: [] })),
  );
  assert.throws(() =>
    parseEngineStatus(
      JSON.stringify({ compatible: 'x', booted: 'A', boot_primary: null, slots: Array(33).fill({}) }),
    ),
  );
});

test('progress lines', () => {
  assert.deepEqual(parseProgressLine(' 60% Determining target install group'), {
    percent: 60,
    what: 'Determining target install group',
  });
  assert.equal(parseProgressLine('Installing `/x` succeeded'), null);
  assert.equal(parseProgressLine('900% no'), null);
});
