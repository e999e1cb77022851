import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CommandFailed, CommandNotFound, run, runStreaming } from './run.ts';

test('a failing command: its name and exit code for callers, what it printed kept aside for the log', async () => {
  await assert.rejects(run(['/bin/sh', '-c', 'echo /var/lib/hearth/keys/secret.key >&2; exit 3']), (e) => {
    assert.ok(e instanceof CommandFailed);
    assert.equal(e.message, 'sh exited with 3');
    assert.equal(e.exitCode, 3);
    assert.match(e.stderr, /secret\.key/);
    assert.doesNotMatch(JSON.stringify({ m: e.message, d: e.data, h: e.hint }), /secret/);
    return true;
  });
  await assert.rejects(run(['no-such-program-here'], { debianPackage: 'nothing' }), CommandNotFound);
  assert.equal((await run(['/bin/sh', '-c', 'echo hi'])).stdout, 'hi\n');
});

describe('runStreaming', () => {
  test('a flood of output costs bounded memory: overlong lines are dropped, stderr keeps its end', async () => {
    const lines: string[] = [];
    // 64 MiB on one line, then a short line; 1 MiB of stderr.
    const script =
      'head -c 67108864 /dev/zero | tr "\\0" x; echo; echo short; head -c 1048576 /dev/zero | tr "\\0" e >&2; exit 3';
    const failed = await runStreaming(['sh', '-c', script], {
      onLine: (l) => lines.push(l),
      maxLineBytes: 4096,
      stderrTailBytes: 1024,
    }).catch((e: unknown) => e);
    assert.ok(failed instanceof CommandFailed);
    assert.equal(failed.exitCode, 3);
    assert.equal(failed.stderr.length, 1024);
    assert.deepEqual(lines, ['short']);
  });

  test('lines come one by one, also the last one without a newline', async () => {
    const lines: string[] = [];
    const { droppedLines } = await runStreaming(['printf', 'a\\nb\\nc'], { onLine: (l) => lines.push(l) });
    assert.deepEqual(lines, ['a', 'b', 'c']);
    assert.equal(droppedLines, 0);
  });
});
