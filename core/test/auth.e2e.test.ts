import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RpcError } from '../src/client/client.ts';
import { PASSWORD, startTestDaemon, type TestDaemon } from './daemon.ts';

const rejectsWith = (p: Promise<unknown>, code: string) =>
  assert.rejects(p, (e: unknown) => e instanceof RpcError && e.code === code);

async function post(d: TestDaemon, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${d.url}/rpc/v1`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return {
    res,
    json: text
      ? (JSON.parse(text) as Record<string, unknown> & { error?: { code: number; data: { code: string } } })
      : undefined,
  };
}

describe('setup, login, sessions and tokens on a real daemon', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon();
  });
  after(() => d.cleanup());

  test('setup mode answers only public and setup methods, then setup runs once', async () => {
    const anon = d.client();
    assert.deepEqual((await anon.call('setup.status')).setupComplete, false);
    await rejectsWith(anon.call('server.info'), 'setup_required');
    await rejectsWith(d.client({ bearer: d.localToken }).call('server.info'), 'setup_required');
    await rejectsWith(anon.call('setup.execute', { hostname: 'box', password: 'short' }), 'invalid_params');
    await assert.rejects(
      anon.call('setup.execute', { hostname: 'box', password: 'x' }),
      /at least 12 characters/,
    );
    // The length is in the published schemas, for every client to see before it calls.
    const discover = (await anon.call('rpc.discover')) as unknown as {
      methods: { name: string; params: { name: string; schema: { minLength?: number } }[] }[];
    };
    const param = (method: string, name: string) =>
      discover.methods.find((m) => m.name === method)?.params.find((p) => p.name === name)?.schema;
    assert.equal(param('setup.execute', 'password')?.minLength, 12);
    assert.equal(param('auth.password.change', 'new')?.minLength, 12);
    await rejectsWith(
      anon.call('setup.execute', { hostname: 'not a name!', password: PASSWORD }),
      'invalid_params',
    );

    const { res, json } = await post(d, {
      jsonrpc: '2.0',
      id: 1,
      method: 'setup.execute',
      params: { hostname: 'TestBox', password: PASSWORD },
    });
    const cookie = res.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^hearth_session=hts_[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.doesNotMatch(cookie, /Secure/, 'plain HTTP: no Secure flag');
    assert.ok((json!['result'] as { token: string }).token.startsWith('hts_'));

    assert.equal((await anon.call('setup.status')).setupComplete, true);
    await rejectsWith(
      anon.call('setup.execute', { hostname: 'again', password: PASSWORD }),
      'already_set_up',
    );
    const info = await d.client({ bearer: d.localToken }).call('server.info');
    assert.equal(info.hostname, 'testbox');
    assert.equal(info.arch, process.arch === 'x64' ? 'x86_64' : process.arch);
  });

  test('a browser session: cookie works for reads; writes need our origin', async () => {
    const login = await post(d, {
      jsonrpc: '2.0',
      id: 1,
      method: 'auth.login',
      params: { password: PASSWORD },
    });
    const cookie = login.res.headers.get('set-cookie')!.split(';')[0]!;
    const read = await post(d, { jsonrpc: '2.0', id: 2, method: 'server.info' }, { Cookie: cookie });
    assert.ok(read.json!['result']);

    const write = { jsonrpc: '2.0', id: 3, method: 'notification.create', params: { title: 'hi' } };
    const foreign = await post(d, write, { Cookie: cookie, Origin: 'http://evil.example' });
    assert.equal(foreign.json!.error!.data.code, 'cross_origin');
    const none = await post(d, write, { Cookie: cookie });
    assert.equal(none.json!.error!.data.code, 'cross_origin');
    const ours = await post(d, write, { Cookie: cookie, Origin: d.url });
    assert.ok(ours.json!['result']);
    const header = await post(d, write, { Cookie: cookie, 'X-Hearth-Request': '1' });
    assert.ok(header.json!['result']);

    // No CORS at all: nothing invites another origin in.
    const pre = await fetch(`${d.url}/rpc/v1`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example' },
    });
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    assert.equal(pre.headers.get('access-control-allow-credentials'), null);

    const out = await post(
      d,
      { jsonrpc: '2.0', id: 4, method: 'auth.logout' },
      { Cookie: cookie, Origin: d.url },
    );
    assert.match(out.res.headers.get('set-cookie')!, /hearth_session=; .*Max-Age=0/);
    const gone = await post(d, { jsonrpc: '2.0', id: 5, method: 'server.info' }, { Cookie: cookie });
    assert.equal(gone.json!.error!.data.code, 'unauthorized');
  });

  test('API tokens: shown once, scoped, listed without secrets, revocable', async () => {
    const admin = d.client({ bearer: d.localToken });
    const read = await admin.call('auth.token.create', { name: 'dashboard', scope: 'read' });
    const operate = await admin.call('auth.token.create', { name: 'automation', scope: 'operate' });
    assert.match(read.token, /^hth_/);
    const list = await admin.call('auth.token.list');
    assert.ok(list.some((t) => t.id === read.id && t.scope === 'read'));
    assert.ok(!JSON.stringify(list).includes(read.token));

    const asRead = d.client({ bearer: read.token });
    await asRead.call('server.info');
    await rejectsWith(asRead.call('notification.create', { title: 'x' }), 'forbidden');
    const asOperate = d.client({ bearer: operate.token });
    await asOperate.call('notification.create', { title: 'from automation' });
    await rejectsWith(asOperate.call('auth.token.list'), 'forbidden');

    await admin.call('auth.token.revoke', { id: read.id });
    await rejectsWith(asRead.call('server.info'), 'invalid_token');
    await rejectsWith(admin.call('auth.token.revoke', { id: read.id }), 'not_found');
    await rejectsWith(d.client({ bearer: 'hth_made-up' }).call('server.info'), 'invalid_token');
    // A bad credential does not block public methods.
    assert.equal(
      (await d.client({ bearer: 'hth_made-up' }).call('server.echo', { message: 'x' })).message,
      'x',
    );

    const audit = await admin.call('audit.list', { method: 'notification.create', callerKind: 'token' });
    assert.equal(audit[0]!.callerName, 'automation');
    assert.equal(audit[0]!.outcome, 'ok');
  });

  test('sessions: listed with the current one marked; a password change ends the others', async () => {
    const a = await d.client().call('auth.login', { password: PASSWORD });
    const b = await d.client().call('auth.login', { password: PASSWORD });
    const asA = d.client({ bearer: a.token });
    const sessions = await asA.call('auth.session.list');
    assert.equal(sessions.find((s) => s.current)!.id, a.sessionId);
    assert.ok(sessions.some((s) => s.id === b.sessionId));

    await rejectsWith(
      asA.call('auth.password.change', { current: 'wrong password!', new: 'another fine password' }),
      'wrong_password',
    );
    await rejectsWith(
      asA.call('auth.password.change', { current: PASSWORD, new: 'short' }),
      'invalid_params',
    );
    await asA.call('auth.password.change', { current: PASSWORD, new: 'another fine password' });
    await asA.call('server.info');
    await rejectsWith(d.client({ bearer: b.token }).call('server.info'), 'invalid_token');
    await rejectsWith(d.client().call('auth.login', { password: PASSWORD }), 'wrong_password');
    await asA.call('auth.password.change', { current: 'another fine password', new: PASSWORD });

    const c = await d.client().call('auth.login', { password: PASSWORD });
    await asA.call('auth.session.kill', { id: c.sessionId });
    await rejectsWith(d.client({ bearer: c.token }).call('server.info'), 'invalid_token');
  });

  test('the audit log has every call, with secrets redacted', async () => {
    const entries = await d.client({ bearer: d.localToken }).call('audit.list', { limit: 1000 });
    const setup = entries.find((e) => e.method === 'setup.execute' && e.outcome === 'ok')!;
    assert.deepEqual(setup.params, { hostname: 'TestBox', password: '[redacted]' });
    const login = entries.find((e) => e.method === 'auth.login')!;
    assert.deepEqual(login.params, { password: '[redacted]' });
    assert.ok(!JSON.stringify(entries).includes(PASSWORD));
    assert.ok(entries.some((e) => e.errorCode === 'setup_required' && e.callerKind === 'anonymous'));
    assert.ok(entries.every((e) => e.address === '127.0.0.1' || e.address === 'local'));
    const failed = await d
      .client({ bearer: d.localToken })
      .call('audit.list', { outcome: 'error', limit: 5 });
    assert.ok(failed.length > 0 && failed.every((e) => e.outcome === 'error'));
  });

  test('login is rate limited per address, with a clear wait', async () => {
    for (let i = 0; i < 5; i++) {
      await rejectsWith(d.client().call('auth.login', { password: `wrong guess ${i}` }), 'wrong_password');
    }
    await assert.rejects(d.client().call('auth.login', { password: PASSWORD }), (e: unknown) => {
      assert.ok(e instanceof RpcError && e.code === 'rate_limited');
      assert.match(e.message, /try again in \d+ s/);
      assert.ok((e.data['retryAfterSeconds'] as number) > 0);
      return true;
    });
  });
});
