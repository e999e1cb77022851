import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatResult, humanBytes } from './format.ts';

test('an object prints as aligned lines, nested keys dotted, sizes and times readable', () => {
  assert.equal(
    formatResult({
      hostname: 'box',
      disk: { totalBytes: 2048, usedPercent: 12.345 },
      createdAt: 1795256538733,
    }),
    'hostname          box\ndisk.totalBytes   2.0 KiB\ndisk.usedPercent  12.35\ncreatedAt         2026-11-21T10:22:18.733Z\n',
  );
});

test('a list of records prints as a table; an empty one says so', () => {
  assert.equal(
    formatResult([
      { id: 'a', scope: 'read' },
      { id: 'bb', scope: null },
    ]),
    'ID  SCOPE\na   read\nbb  -\n',
  );
  assert.equal(formatResult([]), '(none)\n');
});

test('lists of records inside an object come as their own table', () => {
  assert.equal(
    formatResult({ source: 'file', entries: [{ level: 'info' }] }),
    'source  file\n\nentries:\nLEVEL\ninfo\n',
  );
});

test('humanBytes', () => {
  assert.equal(humanBytes(512), '512 B');
  assert.equal(humanBytes(5 * 1024 ** 3), '5.0 GiB');
});

test('log lines print as they were written, one a line', () => {
  assert.equal(formatResult({ lines: ['hearth: starting', '[web] up'] }), 'hearth: starting\n[web] up\n');
  assert.equal(formatResult({ lines: [] }), '');
  // Not log lines: other keys beside them.
  assert.match(formatResult({ lines: ['a'], other: 1 }), /^other/m);
});
