import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandFailed, CommandNotFound, run } from './run.ts';

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
