import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { METHODS } from '../src/rpc/methods.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

type Answer = {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { code: string } };
};

describe('JSON-RPC 2.0 over POST /rpc/v1', () => {
  let d: TestDaemon;
  before(async () => {
    d = await startTestDaemon({ args: ['--max-body-bytes', '4096'] });
    await setUp(d);
  });
  after(() => d.cleanup());

  const post = async (body: string, type = 'application/json') => {
    const res = await fetch(`${d.url}/rpc/v1`, { method: 'POST', headers: { 'Content-Type': type }, body });
    const text = await res.text();
    return { status: res.status, answer: text ? (JSON.parse(text) as Answer | Answer[]) : undefined };
  };
  const one = async (body: unknown) => (await post(JSON.stringify(body))).answer as Answer;

  test('a call answers with its id', async () => {
    assert.deepEqual(
      await one({ jsonrpc: '2.0', id: 'a', method: 'server.echo', params: { message: 'hi' } }),
      {
        jsonrpc: '2.0',
        id: 'a',
        result: { message: 'hi' },
      },
    );
  });

  test('errors carry the spec codes', async () => {
    assert.equal(((await post('{nope')).answer as Answer).error!.code, -32700);
    assert.equal((await one({ jsonrpc: '1.0', id: 1, method: 'server.echo' })).error!.code, -32600);
    assert.equal((await one({ jsonrpc: '2.0', id: 1, method: 'no.such' })).error!.code, -32601);
    const bad = await one({ jsonrpc: '2.0', id: 1, method: 'server.echo', params: { message: 5 } });
    assert.equal(bad.error!.code, -32602);
    assert.match(bad.error!.message, /message/);
    assert.equal(
      (await one({ jsonrpc: '2.0', id: 1, method: 'server.echo', params: ['x'] })).error!.code,
      -32602,
    );
    assert.equal(
      (await one({ jsonrpc: '2.0', id: 1, method: 'server.echo', params: { message: 'x', extra: 1 } })).error!
        .code,
      -32602,
    );
    assert.equal((await one({ jsonrpc: '2.0', id: 1, method: 'server.info' })).error!.code, -32001);
  });

  test('batches answer each request; notifications get no answer', async () => {
    const { status, answer } = await post(
      JSON.stringify([
        { jsonrpc: '2.0', id: 1, method: 'server.echo', params: { message: 'one' } },
        { jsonrpc: '2.0', method: 'server.echo', params: { message: 'notification' } },
        { jsonrpc: '2.0', id: 2, method: 'no.such' },
        'junk',
      ]),
    );
    assert.equal(status, 200);
    const list = answer as Answer[];
    assert.equal(list.length, 3);
    assert.deepEqual(list[0]!.result, { message: 'one' });
    assert.equal(list[1]!.error!.code, -32601);
    assert.equal(list[2]!.error!.code, -32600);
    assert.equal(
      (await post('[{"jsonrpc":"2.0","method":"server.echo","params":{"message":"n"}}]')).status,
      204,
    );
    assert.equal(((await post('[]')).answer as Answer).error!.code, -32600);
  });

  test('the body size is limited and the content type checked', async () => {
    const big = await post(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server.echo', params: { message: 'x'.repeat(5000) } }),
    );
    assert.equal(big.status, 413);
    assert.equal((big.answer as Answer).error!.data!.code, 'payload_too_large');
    const plain = await post('{}', 'text/plain');
    assert.equal(plain.status, 415);
    assert.equal((plain.answer as Answer).error!.data!.code, 'unsupported_media_type');
    // A large body over the limit is read to its end, so the client gets the answer, not a reset.
    for (let i = 0; i < 20; i++) {
      const larger = await post(JSON.stringify({ padding: 'x'.repeat(2 << 20) }));
      assert.equal(larger.status, 413);
    }
    assert.equal((await fetch(`${d.url}/rpc/v1`)).status, 405);
  });

  test('rpc.discover describes every method with JSON Schemas', async () => {
    const doc = (await d.client().call('rpc.discover')) as unknown as {
      openrpc: string;
      methods: {
        name: string;
        params: { name: string; schema: object }[];
        result: { schema: object };
        'x-access': string;
      }[];
    };
    assert.equal(doc.openrpc, '1.3.2');
    assert.deepEqual(
      doc.methods.map((m) => m.name),
      METHODS.map((m) => m.name).sort(),
    );
    const create = doc.methods.find((m) => m.name === 'auth.token.create')!;
    assert.equal(create['x-access'], 'admin');
    assert.deepEqual(
      create.params.map((p) => p.name),
      ['name', 'scope'],
    );
    const login = doc.methods.find((m) => m.name === 'auth.login')!;
    assert.equal((login.params[0]!.schema as { writeOnly?: boolean }).writeOnly, true);
  });
});
