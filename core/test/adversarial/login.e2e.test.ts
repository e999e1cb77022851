import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';
import { call, codesOf, type RpcAnswer, rpc } from './http.ts';

/**
 * Password guessing: the limit must hold for attempts made in parallel, in one batch,
 * and across surfaces, because an attempt counts when it begins, not when it fails.
 * Each test uses its own loopback addresses (127.0.x.y stand for machines on the LAN).
 */
describe('password guessing', () => {
  let d: TestDaemon;
  before(async () => {
    // The account-wide slow-down has its own test below.
    d = await startTestDaemon({ args: ['--login-account-burst', '1000'] });
    await setUp(d);
  });
  after(() => d.cleanup());

  const login = (from: string, password: string) =>
    rpc(d.port, call(1, 'auth.login', { password }), { from }) as Promise<RpcAnswer>;

  test('40 parallel logins from one address: five are checked, the rest refused unchecked', async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => login('127.0.1.1', `guess ${i}`)));
    assert.deepEqual(codesOf(answers), { wrong_password: 5, rate_limited: 35 });
  });

  test('a batch of 100 logins tries five passwords, and the right one among the rest gets no session', async () => {
    const batch = Array.from({ length: 100 }, (_, i) =>
      call(i, 'auth.login', { password: i === 99 ? PASSWORD : `guess ${i}` }),
    );
    const answers = (await rpc(d.port, batch, { from: '127.0.1.2' })) as RpcAnswer[];
    assert.deepEqual(codesOf(answers), { wrong_password: 5, rate_limited: 95 });
    assert.equal(answers.find((a) => a.id === 99)?.error?.data?.code, 'rate_limited');
    // The right password from there still waits its turn.
    assert.equal((await login('127.0.1.2', PASSWORD)).error?.data?.code, 'rate_limited');
  });

  test('attempts over HTTP and the WebSocket share one budget', async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await login('127.0.1.3', 'nope')).error?.data?.code, 'wrong_password');
    }
    const ws = await d.ws({ localAddress: '127.0.1.3' });
    try {
      const codes: string[] = [];
      for (let i = 0; i < 3; i++) {
        codes.push(
          await ws.call('auth.login', { password: 'nope' }).then(
            () => 'ok',
            (e: { code: string }) => e.code,
          ),
        );
      }
      assert.deepEqual(codes, ['wrong_password', 'wrong_password', 'rate_limited']);
    } finally {
      await ws.close();
    }
  });

  test('changing the password with a wrong current one is limited like a login', async () => {
    const token = ((await login('127.0.1.4', PASSWORD)).result as { token: string }).token;
    const change = (current: string) =>
      rpc(d.port, call(1, 'auth.password.change', { current, new: 'another long passphrase' }), {
        from: '127.0.1.4',
        headers: { Authorization: `Bearer ${token}` },
      }) as Promise<RpcAnswer>;
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => change(`guess ${i}`)));
    assert.deepEqual(codesOf(answers), { wrong_password: 5, rate_limited: 3 });
  });

  test('a success gives the address its attempts back', async () => {
    for (let i = 0; i < 4; i++) await login('127.0.1.5', 'nope');
    assert.ok((await login('127.0.1.5', PASSWORD)).result);
    const answers = await Promise.all(Array.from({ length: 6 }, () => login('127.0.1.5', 'nope')));
    assert.deepEqual(codesOf(answers), { wrong_password: 5, rate_limited: 1 });
  });
});

describe('password guessing from many addresses', () => {
  let d: TestDaemon;
  before(async () => {
    // A slow-down that cannot refill while the test runs, however loaded the machine: the
    // counts below are then the limiter's, not the clock's.
    d = await startTestDaemon({
      args: ['--login-account-burst', '10', '--login-account-interval-seconds', '600'],
    });
    await setUp(d);
  });
  after(() => d.cleanup());

  test('slows the whole account down, except for addresses that hold a session', async () => {
    const login = (from: string, password: string) =>
      rpc(d.port, call(1, 'auth.login', { password }), { from }) as Promise<RpcAnswer>;
    // The owner's phone logged in earlier.
    assert.ok((await login('127.0.2.200', PASSWORD)).result);
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login(`127.0.2.${i + 1}`, `guess ${i}`)),
    );
    assert.deepEqual(codesOf(answers), { wrong_password: 10, rate_limited: 20 });
    // A new address, even with the right password, waits for the slow-down…
    const fresh = await login('127.0.2.100', PASSWORD);
    assert.equal(fresh.error?.data?.code, 'rate_limited');
    assert.ok((fresh.error?.data?.['retryAfterSeconds'] as number) <= 600);
    // …the owner's phone does not, and root's local cookie never logs in at all.
    assert.ok((await login('127.0.2.200', PASSWORD)).result);
    const local = d.client({ bearer: d.localToken });
    assert.equal((await local.call('server.echo', { message: 'root' })).message, 'root');
  });
});
