import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '../src/client/client.ts';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { authenticator } from './totp-code.ts';

const NEW_PASSWORD = 'a brand new long passphrase';
const codeOf = (e: unknown) => (e instanceof RpcError ? e.code : String(e));

/** Writes the owner's request on the boot partition (`<root>/efi` for a test daemon). */
function leaveOnBootPartition(d: TestDaemon, text: string): string {
  const dir = path.join(d.root, 'efi');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'hearth-recovery.txt'), text);
  return dir;
}

/** Waits until the daemon (started again in place, same PID) answers in setup mode. */
async function untilSetupMode(d: TestDaemon): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const status = await d
      .client()
      .call('setup.status')
      .catch(() => undefined);
    if (status && !status.setupComplete) return;
    if (Date.now() > deadline) throw new Error(`not back in setup mode:\n${d.output()}`);
    await sleep(100);
  }
}

describe('recovery by someone with the box in hand', () => {
  test('a new password left on the boot partition: set once, second factor off, sessions ended', async () => {
    let d = await startTestDaemon();
    try {
      const session = await setUp(d);
      const admin = d.client({ bearer: session });
      const begun = await admin.call('auth.totp.begin');
      // Turned on with a first code computed from the shared secret.
      await admin.call('auth.totp.confirm', { code: authenticator(begun.secret) });
      const token = (await admin.call('auth.token.create', { name: 'script', scope: 'read' })).token;
      await d.stop();
      const boot = leaveOnBootPartition(d, '# forgot it\nnew-password = a brand new long passphrase\n');
      d = await d.restart();
      assert.equal(fs.existsSync(path.join(boot, 'hearth-recovery.txt')), false, 'read once, then deleted');
      assert.match(
        fs.readFileSync(path.join(boot, 'hearth-recovery-result.txt'), 'utf8'),
        /password was reset/,
      );
      const fresh = await d.client().call('auth.login', { password: NEW_PASSWORD });
      assert.ok(fresh.token, 'no code asked: the second factor is off');
      await assert.rejects(
        d.client().call('auth.login', { password: PASSWORD }),
        (e) => codeOf(e) === 'wrong_password',
      );
      await assert.rejects(
        d.client({ bearer: session }).call('server.info'),
        (e) => codeOf(e) === 'invalid_token',
      );
      assert.ok((await d.client({ bearer: token }).call('server.info')).hostname, 'API tokens keep working');
      const notes = await d.client({ bearer: fresh.token }).call('notification.list', { limit: 5 });
      assert.ok(notes.some((n) => /reset from the boot partition/.test(n.title)));
      // A second start does nothing more.
      await d.stop();
      d = await d.restart();
      assert.ok((await d.client().call('auth.login', { password: NEW_PASSWORD })).token);
    } finally {
      await d.cleanup();
    }
  });

  test('a request that cannot be used changes nothing and says why', async () => {
    let d = await startTestDaemon();
    try {
      await setUp(d);
      await d.stop();
      const boot = leaveOnBootPartition(d, 'new-password = short\n');
      d = await d.restart();
      assert.match(
        fs.readFileSync(path.join(boot, 'hearth-recovery-result.txt'), 'utf8'),
        /not changed: .*12 characters/,
      );
      assert.ok((await d.client().call('auth.login', { password: PASSWORD })).token);
    } finally {
      await d.cleanup();
    }
  });

  test('root on the box resets the password from its console; no one else can', async () => {
    const d = await startTestDaemon();
    try {
      const admin = d.client({ bearer: await setUp(d) });
      const token = (await admin.call('auth.token.create', { name: 'admin', scope: 'admin' })).token;
      await assert.rejects(
        d.client({ bearer: token }).call('auth.password.reset', { new: NEW_PASSWORD }),
        (e) => codeOf(e) === 'forbidden',
      );
      await assert.rejects(
        admin.call('auth.password.reset', { new: NEW_PASSWORD }),
        (e) => codeOf(e) === 'forbidden',
      );
      const cli = await d.cli(['auth', 'password', 'reset'], { input: `${NEW_PASSWORD}\n` });
      assert.equal(cli.code, 0, cli.stderr);
      assert.ok((await d.client().call('auth.login', { password: NEW_PASSWORD })).token);
    } finally {
      await d.cleanup();
    }
  });
});

describe('factory reset', () => {
  test('says what it erases, then erases it and starts again in setup mode', async () => {
    const d = await startTestDaemon();
    try {
      const admin = d.client({ bearer: await setUp(d) });
      const token = (await admin.call('auth.token.create', { name: 'old', scope: 'admin' })).token;
      await admin.call('notification.create', { title: 'from before' });
      const plan = await admin.call('server.reset', { dryRun: true });
      assert.equal(plan.done, false);
      assert.match(plan.erases.join('\n'), /password/);
      assert.match(plan.erases.join('\n'), /1 login session and 1 API token/);
      assert.match(plan.keeps.join('\n'), /operating system/);
      assert.ok((await admin.call('server.info')).hostname, 'a dry run changes nothing');
      // As the README has it.
      const cli = await d.cli(['server', 'reset', '--dry-run']);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /erases/);
      assert.match(cli.stdout, /operating system/);
      await assert.rejects(admin.callRaw('server.reset', {}), (e) => codeOf(e) === 'invalid_params');

      const done = await admin.call('server.reset', { dryRun: false });
      assert.equal(done.done, true);
      await untilSetupMode(d);
      assert.equal((await d.client().call('setup.status')).hostname !== 'testbox', true);
      await assert.rejects(d.client({ bearer: token }).call('server.info'), (e) =>
        ['invalid_token', 'setup_required'].includes(codeOf(e)),
      );
      // Set up anew: nothing of before is there.
      const again = d.client({ bearer: await setUp(d) });
      assert.deepEqual(
        (await again.call('notification.list', { limit: 10 })).filter((n) => n.title === 'from before'),
        [],
      );
      assert.deepEqual(await again.call('auth.token.list'), []);
      assert.equal(fs.existsSync(path.join(d.root, 'var/lib/hearth/factory-reset.json')), false);
    } finally {
      await d.cleanup();
    }
  });

  test('asked for on the boot partition; a reset cut short by a crash is finished at the next start', async () => {
    let d = await startTestDaemon();
    try {
      await setUp(d);
      await d.stop();
      const boot = leaveOnBootPartition(d, 'factory-reset = yes\n');
      d = await d.restart();
      assert.equal((await d.client().call('setup.status')).setupComplete, false);
      assert.match(
        fs.readFileSync(path.join(boot, 'hearth-recovery-result.txt'), 'utf8'),
        /factory settings/,
      );

      // Set up again, then a reset that a crash interrupted: its request is on disk.
      await setUp(d);
      await d.kill();
      fs.writeFileSync(path.join(d.root, 'var/lib/hearth/factory-reset.json'), '{"by":"a test"}\n');
      fs.mkdirSync(path.join(d.root, 'var/lib/hearth/packages/half-gone'), { recursive: true });
      d = await d.restart();
      assert.equal((await d.client().call('setup.status')).setupComplete, false);
      assert.equal(fs.existsSync(path.join(d.root, 'var/lib/hearth/packages')), false);
    } finally {
      await d.cleanup();
    }
  });
});
