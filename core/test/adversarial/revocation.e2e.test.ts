import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StreamEndReason, WsClient } from '../../src/client/ws-client.ts';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';

/**
 * A credential that ends ends its open streams: a state subscription or a log follower
 * opened with a revoked token or a killed session must stop, saying why.
 */
describe('open streams outlive no credential', () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  before(async () => {
    d = await startTestDaemon();
    await setUp(d);
    admin = d.client({ bearer: d.localToken });
  });
  after(() => d.cleanup());

  interface Followed {
    ended: Promise<StreamEndReason | undefined>;
    received: unknown[];
  }

  /** Opens a stream with `method` on `ws`; `ended` resolves with the reason the stream ended. */
  async function follow(ws: WsClient, method: string, params: object): Promise<Followed> {
    const { stream } = (await ws.call(method, params)) as { stream: string };
    const received: unknown[] = [];
    return {
      received,
      ended: new Promise((resolve) => ws.onStream(stream, (d) => received.push(d), resolve)),
    };
  }

  /** A state stream is still open: a change made now reaches it. */
  async function stillOpen(s: Followed): Promise<void> {
    const before = s.received.length;
    await admin.call('notification.create', { title: 'a change for the streams still open' });
    const deadline = Date.now() + 10_000;
    while (s.received.length === before) {
      if (Date.now() > deadline) throw new Error('the stream got nothing more');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  const within = <T>(p: Promise<T>, what: string) =>
    Promise.race([
      p,
      new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error(`${what} did not happen`)), 10_000),
      ),
    ]);

  test('revoking a token ends its state subscription and closes the connection', async () => {
    const t = await admin.call('auth.token.create', { name: 'dashboard', scope: 'read' });
    const ws = await d.ws({ bearer: t.token });
    const { ended } = await follow(ws, 'state.subscribe', {});
    const other = await d.ws({ bearer: d.localToken });
    const untouched = await follow(other, 'state.subscribe', {});
    await admin.call('auth.token.revoke', { id: t.id });
    assert.equal((await within(ended, 'the end of the stream'))?.code, 'credential_ended');
    assert.equal((await within(ws.closed, 'the close')).code, 4401);
    // Another caller's stream goes on.
    await stillOpen(untouched);
    await other.close();
  });

  test('killing a session ends its log follower', async () => {
    const login = await d.client().call('auth.login', { password: PASSWORD });
    const ws = await d.ws({ bearer: login.token });
    const { ended } = await follow(ws, 'server.logs', { follow: true, lines: 1 });
    await admin.call('auth.session.kill', { id: login.sessionId });
    assert.equal((await within(ended, 'the end of the log stream'))?.code, 'credential_ended');
  });

  test('a password change ends the other sessions’ streams, not the one that changed it', async () => {
    const mine = await d.client().call('auth.login', { password: PASSWORD });
    const theirs = await d.client().call('auth.login', { password: PASSWORD });
    const myWs = await d.ws({ bearer: mine.token });
    const theirWs = await d.ws({ bearer: theirs.token });
    const myStream = await follow(myWs, 'state.subscribe', {});
    const theirStream = await follow(theirWs, 'state.subscribe', {});
    const next = 'a new long passphrase';
    await d.client({ bearer: mine.token }).call('auth.password.change', { current: PASSWORD, new: next });
    assert.equal((await within(theirStream.ended, 'the end of their stream'))?.code, 'credential_ended');
    await stillOpen(myStream);
    await d.client({ bearer: mine.token }).call('auth.password.change', { current: next, new: PASSWORD });
    await myWs.close();
  });

  test('revoking a token ends its MCP session and the stream the session holds open', async () => {
    const t = await admin.call('auth.token.create', { name: 'agent', scope: 'read' });
    const headers = {
      Authorization: `Bearer ${t.token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    };
    const init = await fetch(`${d.url}/mcp`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 'test', version: '1' },
        },
      }),
    });
    const session = init.headers.get('mcp-session-id')!;
    await init.body?.cancel();
    const stream = await fetch(`${d.url}/mcp`, {
      method: 'GET',
      headers: { ...headers, 'mcp-session-id': session, 'mcp-protocol-version': '2025-06-18' },
    });
    assert.equal(stream.status, 200);
    const reader = stream.body!.getReader();
    await admin.call('auth.token.revoke', { id: t.id });
    for (;;) {
      const { done } = await within(reader.read(), 'the end of the MCP stream');
      if (done) break;
    }
  });
});
