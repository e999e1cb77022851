import assert from 'node:assert/strict';
import fs from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { DEFAULT_PATH, forwardLines, processOptions } from './daemons.ts';

const etc = {
  passwd: fs.readFileSync(new URL('__fixtures__/passwd', import.meta.url), 'utf8'),
  group: fs.readFileSync(new URL('__fixtures__/group', import.meta.url), 'utf8'),
};

function sink() {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { out, text: () => chunks.join('') };
}

test('forwardLines: whole lines with the prefix, CRLF trimmed, the last partial line at the end', async () => {
  const input = new PassThrough();
  const { out, text } = sink();
  const seen: string[] = [];
  forwardLines(input, '[web] ', out, (l) => seen.push(l));
  input.write('hel');
  input.write('lo\r\nwor');
  input.write(Buffer.from([0xe2, 0x82])); // a euro sign cut in two
  input.write(Buffer.from([0xac, 0x0a]));
  input.end('tail');
  await new Promise((r) => input.on('end', r));
  await new Promise((r) => setImmediate(r));
  assert.equal(text(), '[web] hello\n[web] wor€\n[web] tail\n');
  assert.deepEqual(seen, ['hello', 'wor€', 'tail']);
});

test('forwardLines: a line without end is cut into 16 KiB pieces', async () => {
  const input = new PassThrough();
  const { out, text } = sink();
  forwardLines(input, '> ', out);
  input.end('x'.repeat(40 * 1024));
  await new Promise((r) => input.on('end', r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(
    text()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.length),
    [16386, 16386, 8194],
  );
});

test('processOptions: user, group, clean environment, workdir', () => {
  const www = processOptions({ user: 'www-data', env: { PORT: '80' }, workdir: '/srv' }, etc);
  assert.deepEqual(www, {
    cwd: '/srv',
    env: { PATH: DEFAULT_PATH, HOME: '/var/www', USER: 'www-data', LOGNAME: 'www-data', PORT: '80' },
    uid: 33,
    gid: 33,
  });
  // Without a workdir: home if it exists, else /.
  assert.equal(processOptions({ user: 'nobody' }, etc).cwd, '/');
  assert.equal(processOptions({ user: 'root' }, etc).cwd, fs.existsSync('/root') ? '/root' : '/');
  // The manifest's env wins over the base.
  assert.equal(processOptions({ user: 'nobody', env: { PATH: '/opt/bin' } }, etc).env['PATH'], '/opt/bin');
  // No user: the runtime's own, no uid/gid switch.
  const own = processOptions({}, etc);
  assert.equal(own.uid, undefined);
  assert.equal(own.gid, undefined);
  assert.throws(() => processOptions({ user: 'ghost' }, etc), { code: 'runtime_unknown_user' });
});
