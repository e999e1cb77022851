import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hearthCommand, PASSWORD, runHearth, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { required } from './required.ts';
import { SERVICES } from './services.ts';

const HELLO = path.join(SERVICES, 'hello-world.hpk');

describe('the hearth CLI against a real daemon', () => {
  let d: TestDaemon;
  let home: string;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    d = await startTestDaemon();
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-home-'));
    env = { XDG_CONFIG_HOME: home, HEARTH_TOKEN: '', HEARTH_HOST: '' };
  });
  after(async () => {
    await d.cleanup();
    fs.rmSync(home, { recursive: true, force: true });
  });

  test('setup from the command line, the password read from standard input', async () => {
    const before = await d.cli(['setup', 'status'], { env });
    assert.equal(before.code, 0);
    assert.match(before.stdout, /^setupComplete\s+false$/m);
    const denied = await d.cli(['server', 'info'], { env });
    assert.equal(denied.code, 1);
    assert.equal(
      denied.stderr,
      'hearth: this box is not set up yet — hint: finish the setup wizard (hearth setup execute) first\n',
    );
    const done = await d.cli(['setup', 'execute', '--hostname', 'clibox', '--json'], {
      input: `${PASSWORD}\n`,
      env,
    });
    assert.equal(done.code, 0, done.stderr);
    assert.match(JSON.parse(done.stdout).token, /^hts_/);
  });

  test('root on the box needs no login; --json everywhere; tables otherwise', async () => {
    const info = await d.cli(['server', 'info', '--json'], { env });
    assert.equal(info.code, 0, info.stderr);
    assert.equal(JSON.parse(info.stdout).hostname, 'clibox');
    const table = await d.cli(['server', 'info'], { env });
    assert.match(table.stdout, /^hostname\s+clibox$/m);
    const tokens = await d.cli(['auth', 'token', 'list'], { env });
    assert.equal(tokens.stdout, '(none)\n');
  });

  test('a token for another host, scoped; errors are one line with a hint and a non-zero exit', async () => {
    const made = await d.cli(['auth', 'token', 'create', '--name', 'script', '--scope', 'read', '--json'], {
      env,
    });
    const token = JSON.parse(made.stdout).token as string;
    const remote = ['--host', d.url, '--token', token];
    const info = await runHearth([...remote, 'server', 'time', '--json'], { env });
    assert.equal(info.code, 0, info.stderr);
    assert.ok(JSON.parse(info.stdout).epochMs > 0);
    const refused = await runHearth([...remote, 'notification', 'create', '--title', 'x'], { env });
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /^hearth: an API token with scope 'read' cannot call a method that needs 'operate' — hint: .+\n$/,
    );
    const list = await d.cli(['auth', 'token', 'list'], { env });
    assert.match(list.stdout, /^ID\s+NAME\s+SCOPE\s+CREATEDAT\s+LASTUSEDAT$/m);
    assert.match(list.stdout, /script\s+read/);
  });

  test('login keeps a session for a host, readable only by you; logout ends it', async () => {
    const login = await runHearth(['--host', d.url, 'login'], { input: `${PASSWORD}\n`, env });
    assert.equal(login.code, 0, login.stderr);
    const file = path.join(home, 'hearth', 'sessions.json');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    const info = await runHearth(['--host', d.url, 'server', 'info', '--json'], { env });
    assert.equal(info.code, 0, info.stderr);
    assert.equal((await runHearth(['--host', d.url, 'logout'], { env })).code, 0);
    const after = await runHearth(['--host', d.url, 'server', 'info'], { env });
    assert.equal(after.code, 1);
    assert.match(after.stderr, /needs you to log in/);
    const wrong = await runHearth(['--host', d.url, 'login'], { input: 'not the password\n', env });
    assert.equal(wrong.code, 1);
    assert.equal(wrong.stderr.split('\n').length, 2, 'one line');
  });

  test('usage mistakes and an absent daemon exit with their own codes', async () => {
    const unknown = await d.cli(['servr', 'info'], { env });
    assert.equal(unknown.code, 2);
    assert.equal(
      unknown.stderr,
      "hearth: unknown command 'servr info' — did you mean 'hearth server info'? — hint: hearth --help lists the commands\n",
    );
    const flag = await d.cli(['server', 'info', '--verbose'], { env });
    assert.equal(flag.code, 2);
    const typo = await d.cli(['notification', 'list', '--unseen-onyl'], { env });
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /unknown flag --unseen-onyl — did you mean --unseen-only\?/);
    // A method's main param goes without its flag; a missing one is named by its flag.
    const positional = await d.cli(['package', 'get', 'no-such-package'], { env });
    assert.equal(positional.code, 1, positional.stderr);
    assert.match(positional.stderr, /no-such-package/);
    assert.doesNotMatch(positional.stderr, /unknown command/);
    const missing = await d.cli(['package', 'get'], { env });
    assert.equal(missing.code, 2);
    assert.equal(
      missing.stderr,
      'hearth: hearth package get needs --id — hint: for example: hearth package get <id>  (or --id <id>)\n',
    );
    const nowhere = await runHearth(['--root', path.join(home, 'no-such-root'), 'server', 'info'], { env });
    assert.equal(nowhere.code, 69);
    assert.match(nowhere.stderr, /no Hearth daemon is running here .* — hint: start it/);
  });

  test(
    'hearth sdk inspect honours --json like every other command',
    { skip: required(fs.existsSync(HELLO) ? false : 'needs `make services`', 'the sdk --json test') },
    async () => {
      const json = await runHearth(['sdk', 'inspect', HELLO, '--json'], { env });
      assert.equal(json.code, 0, json.stderr);
      assert.equal((JSON.parse(json.stdout) as { manifest: { id: string } }).manifest.id, 'hello-world');
      const text = await runHearth(['sdk', 'inspect', HELLO], { env });
      assert.throws(() => JSON.parse(text.stdout));
    },
  );

  test(
    'a package from an unknown signer: the hint is the command that trusts it',
    { skip: required(fs.existsSync(HELLO) ? false : 'needs `make services`', 'the unknown signer test') },
    async (t) => {
      const box = await startTestDaemon();
      t.after(() => box.cleanup());
      await setUp(box);
      const r = await box.cli(['package', 'install', HELLO], { env });
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /^hearth: the package is signed by (\S+), which is not a trusted signer — hint: if you trust its author: hearth package signer add --public-key \1 --name <who>, then install again .*--allow-untrusted\n$/,
      );
    },
  );

  test('help is generated from the registry', async () => {
    const top = await runHearth(['--help'], { env });
    assert.equal(top.code, 0);
    for (const group of ['auth', 'audit', 'notification', 'server', 'setup', 'state'])
      assert.match(top.stdout, new RegExp(`^  ${group} `, 'm'));
    const cmd = await runHearth(['notification', 'list', '--help'], { env });
    assert.match(cmd.stdout, /^Usage: hearth notification list \[flags\]$/m);
    assert.match(cmd.stdout, /--unseen-only\s+\(default false\)/);
    assert.match(cmd.stdout, /Access: read/);
    const settings = await runHearth(['settings'], { env });
    assert.match(settings.stdout, /\| `port` \| `--port` \| `HEARTH_PORT` \|/);
  });

  test('server logs --follow streams until interrupted', async () => {
    const [cmd, ...pre] = hearthCommand();
    const child = spawn(cmd!, [...pre, '--root', d.root, 'server', 'logs', '--lines', '1', '--follow'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exit = new Promise<number | null>((resolve) => child.once('close', resolve));
    const deadline = Date.now() + 15_000;
    while (!out.includes('\n')) {
      assert.ok(Date.now() < deadline, 'no first line');
      await new Promise((r) => setTimeout(r, 20));
    }
    await runHearth(['--host', d.url, 'login'], { input: 'wrong password here\n', env });
    while (!out.includes('failed login')) {
      assert.ok(Date.now() < deadline, `no new entry in:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(out, /^\d{4}-\d\d-\d\dT[\d:.]+Z warn auth failed login address=127\.0\.0\.1$/m);
    child.kill('SIGINT');
    assert.equal(await exit, 0);
  });
});

test('a destructive command asks on a terminal, and does nothing unless told yes', async (t) => {
  const d = await startTestDaemon();
  t.after(() => d.cleanup());
  await setUp(d);
  const admin = d.client({ bearer: d.localToken });
  const key = Buffer.alloc(32, 7).toString('base64');
  await admin.call('package.signer.add', { publicKey: key, name: 'someone' });
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  // script(1) gives the command a terminal; what it reads comes from here.
  const onTerminal = (args: string[], answer: string) =>
    new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(
        'script',
        ['-qec', [...hearthCommand(), '--root', d.root, ...args].map(quote).join(' '), '/dev/null'],
        { stdio: ['pipe', 'pipe', 'pipe'] },
      );
      let output = '';
      child.stdout.on('data', (b: Buffer) => {
        output += b.toString();
        if (/\[y\/N\]/.test(output) && !child.stdin.writableEnded) child.stdin.end(`${answer}\n`);
      });
      child.once('close', (code) => resolve({ code, output }));
    });
  const no = await onTerminal(['package', 'signer', 'remove', key], 'n');
  assert.notEqual(no.code, 0, no.output);
  assert.match(
    no.output,
    /hearth package signer remove .*: Stop trusting a package signer .* Go ahead\? \[y\/N\]/,
  );
  assert.match(no.output, /nothing was done/);
  assert.equal((await admin.call('package.signer.list')).length, 1);
  const yes = await onTerminal(['package', 'signer', 'remove', key], 'y');
  assert.equal(yes.code, 0, yes.output);
  assert.equal((await admin.call('package.signer.list')).length, 0);
  // Without a terminal (a script) or with --yes nothing is asked.
  await admin.call('package.signer.add', { publicKey: key, name: 'someone' });
  const piped = await runHearth(['--root', d.root, 'package', 'signer', 'remove', key]);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal((await admin.call('package.signer.list')).length, 0);
});
