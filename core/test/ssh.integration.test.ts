import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '../src/client/client.ts';
import { run } from '../src/host/run.ts';
import { freePort } from './acme-harness.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { required } from './required.ts';

/*
 * SSH for the owner against Debian's real sshd: the daemon (in a temp root) writes the login
 * user's authorized_keys from ssh.key.add/remove; an sshd of this test's own — on loopback,
 * with its own config, host key and pid file, taking the box's drop-in
 * (rootfs/etc/ssh/sshd_config.d/hearth.conf) — reads that file. A key added through the API
 * logs in and runs a command; a removed one does not; a password is never asked for.
 * The machine's own /etc/ssh and users are left alone: the test logs in as the user it runs as.
 */

const REPO = path.resolve(import.meta.dirname, '../..');
const SSHD = '/usr/sbin/sshd';
const skip = required(
  process.getuid?.() !== 0
    ? 'needs root (sshd checks the login user against the one it runs as)'
    : !fs.existsSync(SSHD) || !fs.existsSync('/usr/bin/ssh')
      ? 'needs openssh-server and openssh-client (make deps)'
      : false,
  'the SSH test',
);

let d: TestDaemon;
let tmp: string;
let port: number;
let sshd: ChildProcess | undefined;
const user = os.userInfo().username;

const keygen = async (name: string) => {
  const file = path.join(tmp, name);
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', `${name}@laptop`, '-f', file]);
  return { file, pub: fs.readFileSync(`${file}.pub`, 'utf8').trim() };
};

/** `ssh -i key … echo` against our sshd: the exit code and what it printed. */
const ssh = async (extra: string[], command = 'echo logged-in-as-$(id -un)') => {
  const child = spawn(
    'ssh',
    [
      ...['-p', String(port), '-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'],
      ...['-o', `UserKnownHostsFile=${path.join(tmp, 'known_hosts')}`, '-o', 'ConnectTimeout=10'],
      ...extra,
      `${user}@127.0.0.1`,
      command,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => {
    out += b;
  });
  child.stderr.on('data', (b: Buffer) => {
    err += b;
  });
  const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
  return { code, out: out.trim(), err };
};
const withKey = (file: string) =>
  ssh(['-i', file, '-o', 'IdentitiesOnly=yes', '-o', 'PasswordAuthentication=no']);

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-ssh-'));
  d = await startTestDaemon();
  await setUp(d);
  // What the .deb makes on a box: the login user's home, sshd's host keys.
  fs.mkdirSync(path.join(d.root, 'home/hearth'), { recursive: true, mode: 0o700 });
  const etc = path.join(d.root, 'etc/ssh');
  fs.mkdirSync(etc, { recursive: true });
  await run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', path.join(etc, 'ssh_host_ed25519_key')]);
  port = await freePort();
  const hostPub = fs.readFileSync(path.join(etc, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ');
  fs.writeFileSync(path.join(tmp, 'known_hosts'), `[127.0.0.1]:${port} ${hostPub[0]} ${hostPub[1]}\n`);
  const config = path.join(tmp, 'sshd_config');
  // sshd takes the first value of each setting: the test's own lines come before the box's.
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${path.join(etc, 'ssh_host_ed25519_key')}`,
      `PidFile ${path.join(tmp, 'sshd.pid')}`,
      `AuthorizedKeysFile ${path.join(d.root, 'home/hearth/.ssh/authorized_keys')}`,
      // The temp root lies under /tmp, which everyone may write to: StrictModes would refuse it.
      'StrictModes no',
      // The test logs in as the user it runs as (root), not as a user made on this machine.
      'PermitRootLogin prohibit-password',
      `AllowUsers ${user}`,
      `Include ${path.join(REPO, 'rootfs/etc/ssh/sshd_config.d/hearth.conf')}`,
      '',
    ].join('\n'),
  );
  // Privilege separation's empty directory, as ssh.service's RuntimeDirectory makes it.
  fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  await run([SSHD, '-t', '-f', config]);
  sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  sshd.stderr?.resume();
  for (;;) {
    const up = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (up) break;
    if (sshd.exitCode !== null) throw new Error('sshd exited');
    await sleep(50);
  }
});

after(async () => {
  if (sshd?.pid && sshd.exitCode === null) {
    sshd.kill('SIGTERM');
    await new Promise((r) => sshd?.once('exit', r));
  }
  await d?.cleanup();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('a key added through the API logs in; a removed one does not', { skip }, async () => {
  const admin = d.client({ bearer: d.localToken });
  const laptop = await keygen('laptop');
  const phone = await keygen('phone');
  assert.notEqual((await withKey(laptop.file)).code, 0, 'no key added yet');

  const added = await admin.call('ssh.key.add', { key: laptop.pub });
  assert.equal(added.name, 'laptop@laptop');
  const fingerprint = (await run(['ssh-keygen', '-l', '-f', `${laptop.file}.pub`])).stdout.split(' ')[1];
  assert.equal(added.fingerprint, fingerprint);
  const file = path.join(d.root, 'home/hearth/.ssh/authorized_keys');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);

  const login = await withKey(laptop.file);
  assert.equal(login.code, 0, login.err);
  assert.equal(login.out, `logged-in-as-${user}`);

  // Through the CLI, with a name of the owner's.
  const cli = await d.cli(['--json', 'ssh', 'key', 'add', phone.pub, '--name', 'my phone']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal((await withKey(phone.file)).code, 0);

  await admin.call('ssh.key.remove', { fingerprint: added.fingerprint });
  const refused = await withKey(laptop.file);
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /Permission denied/);
  assert.equal((await withKey(phone.file)).code, 0, 'the other key still logs in');

  const listed = await admin.call('ssh.key.list', {});
  assert.deepEqual(
    listed.keys.map((k) => k.name),
    ['my phone'],
  );
  // The host key's fingerprint, as ssh-keygen prints it for the file sshd serves.
  const hostFingerprint = (
    await run(['ssh-keygen', '-l', '-f', path.join(d.root, 'etc/ssh/ssh_host_ed25519_key.pub')])
  ).stdout.split(' ')[1];
  assert.deepEqual(listed.hostKeys, [{ type: 'ssh-ed25519', fingerprint: hostFingerprint }]);
  await admin.call('ssh.key.remove', { fingerprint: listed.keys[0]!.fingerprint });
  assert.notEqual((await withKey(phone.file)).code, 0);
});

test('a password is never asked for: sshd offers public keys only', { skip }, async () => {
  const r = await ssh([
    '-o',
    'PubkeyAuthentication=no',
    '-o',
    'PreferredAuthentications=password,keyboard-interactive',
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /Permission denied \(publickey\)/);
});

test(
  'options smuggled with a key are refused and never reach the file; a hand edit is undone',
  { skip },
  async () => {
    const admin = d.client({ bearer: d.localToken });
    const k = await keygen('smuggler');
    const file = path.join(d.root, 'home/hearth/.ssh/authorized_keys');
    const before = fs.readFileSync(file, 'utf8');
    for (const key of [
      `command="touch /tmp/pwned" ${k.pub}`,
      `${k.pub}\ncommand="id" ${k.pub}`,
      `${k.pub.split(' ').slice(0, 2).join(' ')} name\rno-pty`,
      'ssh-ed25519 AAAA',
      '../../etc/passwd',
      'x'.repeat(5000),
    ]) {
      await assert.rejects(
        admin.call('ssh.key.add', { key }),
        (e: unknown) => e instanceof RpcError && e.data.code === 'invalid_params',
        JSON.stringify(key.slice(0, 40)),
      );
    }
    await assert.rejects(
      admin.call('ssh.key.add', { key: k.pub, name: 'a\nb' }),
      (e: unknown) => e instanceof RpcError && e.data.code === 'invalid_params',
    );
    assert.equal(fs.readFileSync(file, 'utf8'), before);
    assert.notEqual((await withKey(k.file)).code, 0);

    // Someone with a shell adds a line by hand; the next pass writes the table's keys again.
    await admin.call('ssh.key.add', { key: k.pub });
    fs.appendFileSync(file, `${(await keygen('intruder')).pub}\n`);
    const again = await admin.call('ssh.key.add', { key: (await keygen('other')).pub });
    assert.doesNotMatch(fs.readFileSync(file, 'utf8'), /intruder/);
    await assert.rejects(
      admin.call('ssh.key.add', { key: k.pub }),
      (e: unknown) => e instanceof RpcError && e.data.code === 'conflict',
    );
    await admin.call('ssh.key.remove', { fingerprint: again.fingerprint });
    await assert.rejects(
      admin.call('ssh.key.remove', { fingerprint: again.fingerprint }),
      (e: unknown) => e instanceof RpcError && e.data.code === 'not_found',
    );
  },
);

test('a reader cannot add keys', { skip }, async () => {
  const anonymous = d.client();
  await assert.rejects(anonymous.call('ssh.key.add', { key: 'ssh-ed25519 AAAA' }), RpcError);
});
