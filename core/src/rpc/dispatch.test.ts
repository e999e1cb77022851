import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import type { AuditEntry } from '../audit/audit.ts';
import { silentLogger } from '../log/log.ts';
import type { Services } from '../services.ts';
import { Dispatcher, type Identity, type Transport } from './dispatch.ts';
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
    name: 'test.write',
    description: 'changes something',
    access: 'operate',
    params: z.object({ password: secret(z.string()) }),
    result: z.object({ ok: z.boolean(), extra: z.string().optional() }),
    handler: () => ({ ok: true, internal: 'stripped' }) as { ok: boolean },
  }),
];

function setup(identity: Identity, sameOrigin = true) {
  const audit: AuditEntry[] = [];
  const dispatcher = new Dispatcher({
    registry: new Registry(methods),
    services: {} as Services,
    isSetupMode: () => false,
    audit: (e) => audit.push(e),
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
