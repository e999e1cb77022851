import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket } from 'ws';
import { RpcError } from '../src/client/client.ts';
import { applyPatch, type Json } from '../src/state/json-patch.ts';
import type { StateMessage } from '../src/state/state-doc.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

/** Follows the state document the way the web UI does, and checks the order on the way. */
class Follower {
  state: Json = null;
  revision = -1;
  readonly seen: StateMessage[] = [];

  apply = (m: unknown) => {
    const msg = m as StateMessage;
    this.seen.push(msg);
    if (msg.kind === 'dump') {
      this.state = msg.state;
    } else {
      assert.equal(msg.revision, this.revision + 1, 'patches arrive in revision order without gaps');
      this.state = applyPatch(this.state, msg.patch);
    }
    this.revision = msg.revision;
  };
}

async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe('the WebSocket /ws', () => {
  let d: TestDaemon;
  let token: string;
  before(async () => {
    d = await startTestDaemon({ args: ['--state-history', '5'] });
    await setUp(d);
    token = (
      await d.client({ bearer: d.localToken }).call('auth.token.create', { name: 'ws', scope: 'operate' })
    ).token;
  });
  after(() => d.cleanup());

  test('a subscription gets a dump, then patches in order that rebuild the document', async () => {
    const ws = await d.ws({ bearer: token });
    const f = new Follower();
    const sub = (await ws.call('state.subscribe', {})) as { stream: string; revision: number };
    ws.onStream(sub.stream, f.apply);
    await until(() => f.revision === sub.revision, 'the dump');
    assert.equal(f.seen[0]!.kind, 'dump');

    const writer = d.client({ bearer: token });
    for (let i = 0; i < 20; i++) await writer.call('notification.create', { title: `n${i}` });
    const expected = await writer.call('state.get');
    await until(() => f.revision === expected.revision, 'the last patch');
    assert.deepEqual(f.state, expected.state);
    assert.equal((f.state as { notifications: { unseen: number } }).notifications.unseen, 20);
    await ws.close();
  });

  test('a reconnect resumes from its revision: missed patches only, or a dump when too far behind', async () => {
    const writer = d.client({ bearer: token });
    const f = new Follower();
    /** Connects, subscribes from where `f` is, and returns the kinds of message that came. */
    const reconnect = async (): Promise<string[]> => {
      const mark = f.seen.length;
      const ws = await d.ws({ bearer: token });
      const since = f.revision < 0 ? {} : { since: f.revision };
      const sub = (await ws.call('state.subscribe', since)) as { stream: string; revision: number };
      ws.onStream(sub.stream, f.apply);
      await until(() => f.revision === sub.revision, 'catching up');
      await ws.close();
      assert.deepEqual(f.state, (await writer.call('state.get')).state);
      return f.seen.slice(mark).map((m) => m.kind);
    };
    assert.deepEqual(await reconnect(), ['dump']);
    // Three changes while away: within the kept history of five.
    for (let i = 0; i < 3; i++) await writer.call('notification.create', { title: `away ${i}` });
    assert.deepEqual(await reconnect(), ['patch', 'patch', 'patch']);
    // Ten changes: more than the history keeps.
    for (let i = 0; i < 10; i++) await writer.call('notification.create', { title: `long away ${i}` });
    assert.deepEqual(await reconnect(), ['dump']);
  });

  test('following the daemon log streams new entries until cancelled', async () => {
    const ws = await d.ws({ bearer: token });
    const r = (await ws.call('server.logs', { lines: 5, follow: true })) as {
      stream: string;
      entries: unknown[];
    };
    assert.ok(r.entries.length > 0);
    const got: { message: string }[] = [];
    let ended = false;
    ws.onStream(
      r.stream,
      (e) => got.push(e as { message: string }),
      () => {
        ended = true;
      },
    );
    // A failed login is logged by the daemon.
    await assert.rejects(d.client().call('auth.login', { password: 'definitely wrong' }));
    await until(() => got.some((e) => e.message.includes('failed login')), 'the failed login in the log');
    await ws.call('stream.cancel', { stream: r.stream });
    await until(() => ended, 'the stream end');
    await ws.close();
  });

  test('follow and subscribe need /ws; over HTTP they say so', async () => {
    const c = d.client({ bearer: token });
    await assert.rejects(
      c.call('server.logs', { follow: true }),
      (e: unknown) => e instanceof RpcError && /\/ws/.test(e.message),
    );
    await assert.rejects(
      c.call('state.subscribe', {}),
      (e: unknown) => e instanceof RpcError && e.code === 'invalid_params',
    );
  });

  test('access rules hold on /ws too, and junk gets JSON-RPC errors', async () => {
    const ws = await d.ws();
    await assert.rejects(
      ws.call('state.subscribe', {}),
      (e: unknown) => e instanceof RpcError && e.code === 'unauthorized',
    );
    const other: unknown[] = [];
    ws.onOther = (m) => other.push(m);
    ws.sendRaw('{not json');
    await until(() => other.length === 1, 'the parse error');
    assert.equal((other[0] as { error: { code: number } }).error.code, -32700);
    await ws.close();
  });

  test('another site cannot open a WebSocket with our cookie', async () => {
    const ws = new WebSocket(`${d.url.replace('http', 'ws')}/ws`, {
      headers: { Origin: 'http://evil.example' },
    });
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    assert.equal(status, 403);
  });
});
