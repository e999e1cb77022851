import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RpcError } from '../src/client/client.ts';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { authenticator as appCode } from './totp-code.ts';

const codeOf = (e: unknown) => (e instanceof RpcError ? e.code : String(e));

describe('a second factor for the owner', () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  let secret: string;
  let recovery: string[];
  before(async () => {
    d = await startTestDaemon();
    admin = d.client({ bearer: await setUp(d) });
  });
  after(() => d.cleanup());

  const login = (params: { password: string; code?: string }, from = '127.0.5.1') =>
    d.client({ localAddress: from }).call('auth.login', params);

  test('enrolment: a secret and URI once, on with a first code, ten recovery codes', async () => {
    assert.deepEqual(await admin.call('auth.totp.status'), {
      enabled: false,
      pending: false,
      recoveryCodesLeft: 0,
    });
    const begun = await admin.call('auth.totp.begin');
    secret = begun.secret;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(new URL(begun.uri).searchParams.get('secret'), secret);
    assert.match(begun.uri, /^otpauth:\/\/totp\/Hearth:testbox\?/);
    assert.equal((await admin.call('auth.totp.status')).pending, true);
    // Not on until confirmed: a login needs no code yet.
    assert.ok((await login({ password: PASSWORD })).token);
    await assert.rejects(
      admin.call('auth.totp.confirm', { code: '000000' }),
      (e) => codeOf(e) === 'wrong_code',
    );
    recovery = (await admin.call('auth.totp.confirm', { code: appCode(secret) })).recoveryCodes;
    assert.equal(recovery.length, 10);
    assert.equal(new Set(recovery).size, 10);
    assert.deepEqual(await admin.call('auth.totp.status'), {
      enabled: true,
      pending: false,
      recoveryCodesLeft: 10,
    });
    await assert.rejects(admin.call('auth.totp.begin'), (e) => codeOf(e) === 'conflict');
  });

  test('login: the password alone is not enough; a wrong or replayed code is refused', async () => {
    await assert.rejects(login({ password: PASSWORD }), (e) => codeOf(e) === 'second_factor_required');
    await assert.rejects(
      login({ password: 'wrong password', code: appCode(secret) }),
      (e) => codeOf(e) === 'wrong_password',
    );
    await assert.rejects(login({ password: PASSWORD, code: '123456' }), (e) => codeOf(e) === 'wrong_code');
    // The next step's code (the app's clock a little ahead): the confirmation used this one.
    const code = appCode(secret, Date.now() + 30_000);
    const session = await login({ password: PASSWORD, code });
    assert.ok(session.token.startsWith('hts_'));
    await assert.rejects(
      login({ password: PASSWORD, code }),
      (e) => codeOf(e) === 'wrong_code',
      'a code works once',
    );
    // A code from far off (a phone whose clock is wrong) does not count.
    await assert.rejects(
      login({ password: PASSWORD, code: appCode(secret, Date.now() - 600_000) }),
      (e) => codeOf(e) === 'wrong_code',
    );
  });

  test('a recovery code logs in once, whatever the clocks say, and the owner is told', async () => {
    const [first] = recovery;
    const s = await login({ password: PASSWORD, code: first!.toUpperCase().replace(/-/g, ' ') }, '127.0.5.2');
    assert.ok(s.token);
    await assert.rejects(
      login({ password: PASSWORD, code: first! }, '127.0.5.2'),
      (e) => codeOf(e) === 'wrong_code',
    );
    assert.equal((await admin.call('auth.totp.status')).recoveryCodesLeft, 9);
    const notes = await admin.call('notification.list', { limit: 10 });
    assert.ok(
      notes.some((n) => /recovery code was used/.test(n.title) && /9 recovery codes left/.test(n.message)),
    );
  });

  test('wrong codes count against the address like wrong passwords', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        login({ password: PASSWORD, code: String(100000 + i) }, '127.0.5.3').then(() => 'ok', codeOf),
      ),
    );
    assert.equal(answers.filter((c) => c === 'rate_limited').length, 3);
  });

  test('API tokens and root’s local cookie need no code', async () => {
    const t = await admin.call('auth.token.create', { name: 'script', scope: 'read' });
    assert.ok((await d.client({ bearer: t.token }).call('server.info')).hostname);
    assert.ok((await d.client({ bearer: d.localToken }).call('server.info')).hostname);
  });

  test('new recovery codes replace the old; turning it off takes the password', async () => {
    const fresh = (await admin.call('auth.totp.recovery', { password: PASSWORD })).recoveryCodes;
    assert.equal(fresh.length, 10);
    await assert.rejects(
      login({ password: PASSWORD, code: recovery[1]! }, '127.0.5.4'),
      (e) => codeOf(e) === 'wrong_code',
    );
    assert.ok((await login({ password: PASSWORD, code: fresh[0]! }, '127.0.5.4')).token);
    await assert.rejects(
      admin.call('auth.totp.disable', { password: 'not it at all' }),
      (e) => codeOf(e) === 'wrong_password',
    );
    await admin.call('auth.totp.disable', { password: PASSWORD });
    assert.deepEqual(await admin.call('auth.totp.status'), {
      enabled: false,
      pending: false,
      recoveryCodesLeft: 0,
    });
    assert.ok((await login({ password: PASSWORD }, '127.0.5.4')).token);
  });
});
