import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';
import { call, codesOf, type RpcAnswer, request, rpc } from './http.ts';

/**
 * What anyone on the network can make the daemon do before logging in: bounded in
 * requests per batch, bytes per answer, calls per address and audit entries.
 * Asserts structure (codes, counts, sizes, the daemon alive), never timings.
 */
describe('floods before authentication', () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  before(async () => {
    d = await startTestDaemon({ args: ['--max-answer-bytes', '200000'] });
    await setUp(d);
    admin = d.client({ bearer: d.localToken });
  });
  after(() => d.cleanup());

  test('a batch of 10,000 calls is refused whole, at once', async () => {
    const batch = Array.from({ length: 10_000 }, (_, i) => call(i, 'rpc.discover'));
    const res = await request(d.port, { from: '127.0.3.1', body: JSON.stringify(batch) });
    assert.equal(res.status, 200);
    const answer = JSON.parse(res.body) as RpcAnswer;
    assert.equal(answer.error?.data?.code, 'batch_too_large');
    assert.equal(answer.error?.code, -32014);
    assert.ok(res.body.length < 1000);
  });

  test('the answers to one batch are capped together', async () => {
    const batch = Array.from({ length: 100 }, (_, i) => call(i, 'rpc.discover'));
    const res = await request(d.port, { from: '127.0.3.2', body: JSON.stringify(batch) });
    const answers = JSON.parse(res.body) as RpcAnswer[];
    assert.equal(answers.length, 100);
    const codes = codesOf(answers);
    assert.ok((codes['answer_too_large'] ?? 0) > 0, JSON.stringify(codes));
    assert.ok(res.body.length < 200_000 + 100 * 300, `${res.body.length} bytes`);
  });

  test('one address without a credential gets its budget, then rate_limited; others are not affected', async () => {
    const batch = Array.from({ length: 100 }, (_, i) => call(i, 'setup.status'));
    const first = (await rpc(d.port, batch, { from: '127.0.3.3' })) as RpcAnswer[];
    const second = (await rpc(d.port, batch, { from: '127.0.3.3' })) as RpcAnswer[];
    const codes = codesOf([...first, ...second]);
    assert.ok((codes['rate_limited'] ?? 0) >= 70, JSON.stringify(codes));
    assert.ok((codes['ok'] ?? 0) <= 130, JSON.stringify(codes));
    const other = (await rpc(d.port, call(1, 'setup.status'), { from: '127.0.3.4' })) as RpcAnswer;
    assert.ok(other.result);
  });

  test('a flood is refused unread once its budget is spent, and leaves a few counted audit entries', async () => {
    const since = Date.now();
    const batch = Array.from({ length: 100 }, () => ({
      jsonrpc: '2.0',
      method: 'server.echo',
      params: { message: 'x' },
    }));
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) {
      statuses.push((await request(d.port, { from: '127.0.3.5', body: JSON.stringify(batch) })).status);
    }
    // Notifications get no answer (204) while the budget lasts, then a 429 before the body is read.
    assert.deepEqual(statuses.slice(0, 2), [204, 204]);
    assert.ok(
      statuses.slice(2).every((s) => s === 429),
      String(statuses),
    );
    const refused = await request(d.port, { from: '127.0.3.5', body: JSON.stringify(batch) });
    assert.ok(Number(refused.headers['retry-after']) >= 1);
    assert.equal((JSON.parse(refused.body) as RpcAnswer).error?.data?.code, 'rate_limited');
    const entries = await admin.call('audit.list', { since, limit: 1000 });
    const mine = entries.filter((e) => e.address === '127.0.3.5');
    assert.ok(mine.length <= 6, `${mine.length} entries`);
    const count = (method: string) =>
      mine.filter((e) => e.method === method).reduce((n, e) => n + e.count, 0);
    assert.equal(count('server.echo'), 200);
    assert.equal(count('(refused unread)'), 29);
  });

  test('while anonymous clients flood at full speed, the owner is answered and the daemon stays up', async () => {
    let flooding = true;
    const batch = JSON.stringify(Array.from({ length: 100 }, (_, i) => call(i, 'rpc.discover')));
    const flooders = Array.from({ length: 4 }, async (_, n) => {
      let sent = 0;
      while (flooding) {
        await request(d.port, { from: `127.0.4.${n + 1}`, body: batch }).catch(() => {});
        sent++;
      }
      return sent;
    });
    try {
      for (let i = 0; i < 20; i++) {
        const answer = await withDeadline(admin.call('server.echo', { message: `owner ${i}` }), 10_000);
        assert.equal(answer.message, `owner ${i}`);
      }
    } finally {
      flooding = false;
    }
    const sent = await Promise.all(flooders);
    assert.ok(sent.every((n) => n > 0));
    assert.equal((await admin.call('server.echo', { message: 'after' })).message, 'after');
  });
});

async function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
