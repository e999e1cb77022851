import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import type { AuditEntry } from '../audit/audit.ts';
import { silentLogger } from '../log/log.ts';
import type { Services } from '../services.ts';
import { CallLimits } from './call-limits.ts';
import { Dispatcher, type Identity, type RpcResponse, type Transport } from './dispatch.ts';
import { defineMethod, Registry, secret } from './registry.ts';

const methods = [
  defineMethod({
    name: 'test.boom',
    description: 'throws a plain error',
    access: 'public',
    params: z.object({}),
    result: z.object({}),
    handler: () => {
      throw new Error('secret path /var/lib/hearth/keys');
    },
  }),
  defineMethod({
    name: 'test.badResult',
    description: 'returns the wrong shape',
    access: 'public',
    params: z.object({}),
    result: z.object({ n: z.number() }),
    handler: () => ({ n: 'not a number' }) as unknown as { n: number },
  }),
  defineMethod({
    name: 'test.big',
    description: 'answers 1000 bytes',
    access: 'public',
    params: z.object({}),
    result: z.object({ text: z.string() }),
    handler: () => ({ text: 'x'.repeat(1000) }),
  }),
  defineMethod({
    name: 'test.write',
    description: 'changes something',
    access: 'operate',
    params: z.object({ password: secret(z.string()) }),
    result: z.object({ ok: z.boolean(), extra: z.string().optional() }),
    handler: () => ({ ok: true, internal: 'stripped' }) as { ok: boolean },
  }),
];

function setup(
  identity: Identity,
  sameOrigin = true,
  limits = { perCredential: 1000, perAnonymousAddress: 1000 },
) {
  const audit: AuditEntry[] = [];
  const dispatcher = new Dispatcher({
    registry: new Registry(methods),
    services: {} as Services,
    isSetupMode: () => false,
    audit: (e) => audit.push(e),
    limits: new CallLimits({ ...limits, now: () => 0 }),
    maxAnswerBytes: 10_000,
    log: silentLogger,
  });
  const transport: Transport = {
    identify: () => identity,
    sameOrigin,
    address: '192.0.2.1',
    userAgent: 'test',
    surface: 'http',
    secure: false,
  };
  return { dispatcher, transport, audit };
}

const call = (method: string, params: unknown = {}) => ({ jsonrpc: '2.0', id: 1, method, params });

test('params known only at call time are redacted by the schema the method finds for them', async () => {
  const audit: AuditEntry[] = [];
  const dispatcher = new Dispatcher({
    registry: new Registry([
      defineMethod({
        name: 'test.action',
        description: 'runs a package action',
        access: 'operate',
        params: z.object({ id: z.string(), input: z.unknown() }),
        result: z.object({}),
        handler: () => ({}),
        dynamicSchemas: (p) =>
          p['id'] === 'vault'
            ? { input: { type: 'object', properties: { phrase: { type: 'string', writeOnly: true } } } }
            : undefined,
      }),
    ]),
    services: {} as Services,
    isSetupMode: () => false,
    audit: (e) => audit.push(e),
    limits: new CallLimits({ perCredential: 100, perAnonymousAddress: 100 }),
    maxAnswerBytes: 1 << 20,
    log: silentLogger,
  });
  const t: Transport = {
    identify: () => admin,
    sameOrigin: true,
    address: '192.0.2.1',
    userAgent: 'test',
    surface: 'http',
    secure: false,
  };
  await dispatcher.handle(
    call('test.action', { id: 'vault', input: { phrase: 'open sesame', label: 'x' } }),
    t,
  );
  await dispatcher.handle(
    call('test.action', { id: 'other', input: { password: 'hunter2', label: 'y' } }),
    t,
  );
  assert.deepEqual(audit[0]!.params, { id: 'vault', input: { phrase: '[redacted]', label: 'x' } });
  assert.deepEqual(audit[1]!.params, { id: 'other', input: { password: '[redacted]', label: 'y' } });
});
const admin: Identity = { caller: { kind: 'local' }, viaCookie: false };

test('an unexpected error is -32603 with nothing of our insides', async () => {
  const { dispatcher, transport, audit } = setup(admin);
  const answer = await dispatcher.handle(call('test.boom'), transport);
  assert.deepEqual(answer, {
    jsonrpc: '2.0',
    id: 1,
    error: { code: -32603, message: 'internal error', data: { code: 'internal' } },
  });
  assert.equal(audit[0]!.errorCode, 'internal');
});

test('a result that breaks its schema is an internal error; extra fields are stripped', async () => {
  const { dispatcher, transport } = setup(admin);
  const bad = (await dispatcher.handle(call('test.badResult'), transport)) as { error: { code: number } };
  assert.equal(bad.error.code, -32603);
  assert.deepEqual(await dispatcher.handle(call('test.write', { password: 'p' }), transport), {
    jsonrpc: '2.0',
    id: 1,
    result: { ok: true },
  });
});

test('a cookie session must prove its origin for a write', async () => {
  const cookie: Identity = { caller: { kind: 'session', id: 's' }, viaCookie: true };
  const { dispatcher, transport, audit } = setup(cookie, false);
  const a = (await dispatcher.handle(call('test.write', { password: 'hunter2' }), transport)) as {
    error: { data: { code: string } };
  };
  assert.equal(a.error.data.code, 'cross_origin');
  assert.deepEqual(audit[0]!.params, { password: '[redacted]' });
  assert.equal(audit[0]!.callerKind, 'session');
});

test('a presented but invalid credential is named when access is refused', async () => {
  const { InvalidToken } = await import('../auth/auth.ts');
  const { dispatcher, transport } = setup({
    caller: { kind: 'anonymous' },
    viaCookie: false,
    error: new InvalidToken('API token'),
  });
  const a = (await dispatcher.handle(call('test.write', { password: 'x' }), transport)) as {
    error: { data: { code: string } };
  };
  assert.equal(a.error.data.code, 'invalid_token');
});

const anonymous: Identity = { caller: { kind: 'anonymous' }, viaCookie: false };
const batchOf = (n: number, method: string) =>
  Array.from({ length: n }, (_, i) => ({ jsonrpc: '2.0', id: i, method, params: {} }));

test('a batch over 100 requests is refused whole, with its own code', async () => {
  const { dispatcher, transport, audit } = setup(anonymous);
  const a = (await dispatcher.handle(batchOf(101, 'test.big'), transport)) as RpcResponse;
  assert.ok('error' in a);
  assert.equal(a.error.data?.code, 'batch_too_large');
  assert.equal(a.error.code, -32014);
  assert.equal(audit.length, 0, 'nothing in it ran');
  assert.equal(((await dispatcher.handle(batchOf(100, 'test.big'), transport)) as RpcResponse[]).length, 100);
});

test('the answers to a batch are capped together', async () => {
  const { dispatcher, transport } = setup(anonymous);
  const answers = (await dispatcher.handle(batchOf(20, 'test.big'), transport)) as RpcResponse[];
  const codes = answers.map((a) => ('error' in a ? a.error.data?.code : 'ok'));
  assert.ok(codes.filter((c) => c === 'ok').length >= 8);
  assert.ok(codes.filter((c) => c === 'answer_too_large').length >= 10);
  assert.ok(JSON.stringify(answers).length < 15_000);
});

test('anonymous callers have a budget per address, credentials one each, root none', async () => {
  const limits = { perCredential: 3, perAnonymousAddress: 2 };
  const anon = setup(anonymous, true, limits);
  const codes = (await anon.dispatcher.handle(batchOf(4, 'test.big'), anon.transport)) as RpcResponse[];
  assert.deepEqual(
    codes.map((a) => ('error' in a ? a.error.data?.code : 'ok')),
    ['ok', 'ok', 'rate_limited', 'rate_limited'],
  );
  // The same token, whatever the surface, spends one budget.
  const token: Identity = {
    caller: { kind: 'token', id: 't1', name: 'agent', scope: 'admin' },
    viaCookie: false,
  };
  const t = setup(token, true, limits);
  const over = async (surface: Transport['surface']) => {
    const a = (await t.dispatcher.handle(call('test.big'), { ...t.transport, surface })) as RpcResponse;
    return 'error' in a ? a.error.data?.code : 'ok';
  };
  assert.deepEqual(
    [await over('http'), await over('ws'), await over('mcp'), await over('http')],
    ['ok', 'ok', 'ok', 'rate_limited'],
  );
  const root = setup(admin, true, limits);
  const all = (await root.dispatcher.handle(batchOf(50, 'test.big'), root.transport)) as RpcResponse[];
  assert.equal(all.filter((a) => 'error' in a && a.error.data?.code === 'rate_limited').length, 0);
});

test('input the validator cannot read is invalid input, not an internal error', async () => {
  const { dispatcher, transport } = setup(admin);
  const codes: unknown[] = [];
  for (const body of [
    '{"jsonrpc":"2.0","id":1,"method":"test.write","params":{"constructor":null}}',
    '{"jsonrpc":"2.0","id":1,"method":"test.write","constructor":null}',
    '{"jsonrpc":"2.0","id":1,"method":"test.write","params":{"password":"x","constructor":null}}',
    '[{"jsonrpc":"2.0","id":1,"method":"test.big","params":{"constructor":null}}]',
  ]) {
    const a = (await dispatcher.handle(JSON.parse(body), transport)) as RpcResponse | RpcResponse[];
    for (const r of [a].flat()) codes.push('error' in r ? r.error.code : 'ok');
  }
  assert.ok(!codes.includes(-32603), JSON.stringify(codes));
  assert.ok(
    codes.every((c) => c === -32602 || c === -32600),
    JSON.stringify(codes),
  );
});
