import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { classifyFailure, parseBackupLine, parseSnapshots } from './restic-parse.ts';

// Captured from Debian's restic 0.14 on this machine (see core/src/host/__fixtures__/restic/).
const fixture = (name: string) =>
  fs.readFileSync(path.join(import.meta.dirname, '__fixtures__/restic', name), 'utf8');

describe('parseBackupLine', () => {
  test('reads the status lines and the summary of a real backup', () => {
    const events = fixture('backup.jsonl').split('\n').filter(Boolean).map(parseBackupLine);
    const summary = events.at(-1);
    assert.equal(summary?.kind, 'summary');
    assert.ok(summary?.kind === 'summary' && /^[0-9a-f]{8}$/.test(summary.snapshotId));
    assert.ok(summary?.kind === 'summary' && summary.totalBytes === 300006 && summary.filesNew === 2);
    const status = events.find((e) => e?.kind === 'status');
    assert.ok(status?.kind === 'status' && status.fraction >= 0 && status.fraction <= 1);
  });

  test('a backup that ran out of space has no summary', () => {
    const events = fixture('backup-no-space.jsonl').split('\n').filter(Boolean).map(parseBackupLine);
    assert.ok(events.every((e) => e?.kind !== 'summary'));
  });

  test('hostile lines: not JSON, wrong types, huge numbers, odd ids, overlong — nothing breaks', () => {
    for (const line of [
      '',
      'not json',
      '[1,2]',
      'null',
      '{"message_type":"summary","snapshot_id":"../../etc"}',
      '{"message_type":"summary","snapshot_id":12}',
      `{"message_type":"status","percent_done":"x"}`,
      `{"message_type":"status"${' '.repeat(70_000)}}`,
      '{"message_type":"__proto__"}',
    ]) {
      const e = parseBackupLine(line);
      assert.ok(e === undefined || e.kind === 'status', line.slice(0, 60));
    }
    const s = parseBackupLine(
      '{"message_type":"status","percent_done":7,"bytes_done":-5,"total_bytes":1e400}',
    );
    assert.deepEqual(s?.kind === 'status' && [s.fraction, s.bytesDone, s.totalBytes], [1, 0, 0]);
  });
});

describe('parseSnapshots', () => {
  test('reads a real listing', () => {
    const [s] = parseSnapshots(fixture('snapshots.json'));
    assert.equal(s?.id.length, 64);
    assert.equal(s?.shortId, s?.id.slice(0, 8));
    assert.deepEqual(s?.tags, ['hearth', 'package:radicale']);
  });

  test('leaves out entries that are not snapshots, refuses what is not a list', () => {
    const good = JSON.parse(fixture('snapshots.json'))[0];
    const list = parseSnapshots(
      JSON.stringify([
        good,
        { ...good, id: 'zz' },
        { ...good, time: 'never' },
        5,
        null,
        { ...good, tags: [1, 'x'] },
      ]),
    );
    assert.equal(list.length, 2);
    assert.deepEqual(list[1]?.tags, ['x']);
    assert.throws(() => parseSnapshots('{}'));
    assert.throws(() => parseSnapshots('nope'));
  });
});

test('classifyFailure reads what restic says', () => {
  assert.equal(classifyFailure(fixture('wrong-password.stderr')), 'wrong-password');
  assert.equal(classifyFailure(fixture('no-repository.stderr')), 'no-repository');
  assert.equal(classifyFailure(fixture('backup-no-space.stderr')), 'no-space');
  assert.equal(classifyFailure(fixture('backup-read-only.stderr')), 'read-only');
  assert.equal(classifyFailure('something else'), 'unknown');
});
