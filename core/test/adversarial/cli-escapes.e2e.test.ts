import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { hearthCommand, setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';

// What a hostile string carries: window retitle, colour, screen clear, an 8-bit CSI, a
// right-to-left override.
const HOSTILE = 'x\x1b]0;pwned\x07\x1b[31mred\x1b[2J\u009b1m\u202eevil';
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/**
 * Text that reaches the CLI from the box (an operate token can write notifications, a
 * client can make error messages echo what it sent) never reaches the terminal raw, in
 * human output, in --json, in errors, in a followed stream.
 */
describe('terminal escapes in what the CLI prints', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
    await setUp(d);
    const t = await d
      .client({ bearer: d.localToken })
      .call('auth.token.create', { name: 'op', scope: 'operate' });
    await d.client({ bearer: t.token }).call('notification.create', { title: HOSTILE, message: HOSTILE });
  });
  after(() => d.cleanup());

  const clean = (what: string, r: { stdout: string; stderr: string }) => {
    assert.doesNotMatch(r.stdout, UNSAFE, `${what}: stdout`);
    assert.doesNotMatch(r.stderr, UNSAFE, `${what}: stderr`);
  };

  test('in human output, JSON output and errors', async () => {
    const human = await d.cli(['notification', 'list']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /\\u001b\]0;pwned/);
    clean('notification list', human);

    const json = await d.cli(['notification', 'list', '--json']);
    clean('notification list --json', json);
    const titles = (JSON.parse(json.stdout) as { title: string }[]).map((n) => n.title);
    assert.ok(titles.includes(HOSTILE), 'the JSON still carries the exact text');

    const state = await d.cli(['state', 'get']);
    clean('state get', state);

    const error = await d.cli(['auth', 'session', 'kill', '--id', HOSTILE.slice(0, 60)]);
    assert.notEqual(error.code, 0);
    clean('an error echoing the id', error);
  });

  test('in a followed stream', async () => {
    const [cmd, ...pre] = hearthCommand();
    const child = spawn(cmd!, [...pre, '--root', d.root, 'state', 'subscribe'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    try {
      // The stream is open once the first dump is out; then a hostile change follows.
      await until(() => stdout.length > 0, 'the first state from the stream');
      await d.client({ bearer: d.localToken }).call('notification.create', { title: `followed ${HOSTILE}` });
      await until(() => stdout.includes('followed'), 'the notification in the stream');
      clean('state subscribe', { stdout, stderr });
    } finally {
      child.kill('SIGKILL');
    }
  });
});

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
