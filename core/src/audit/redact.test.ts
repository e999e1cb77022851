import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { secret } from '../rpc/registry.ts';
import { redactParams } from './redact.ts';

const schema = z.object({
  hostname: z.string(),
  password: secret(z.string()),
  nested: z.object({ token: secret(z.string()).optional() }).optional(),
});

test('secret fields are redacted, others kept', () => {
  assert.deepEqual(
    redactParams(schema, { hostname: 'box', password: 'hunter2hunter2', nested: { token: 'x' } }),
    {
      hostname: 'box',
      password: '[redacted]',
      nested: { token: '[redacted]' },
    },
  );
});

test('params that fail validation are redacted too, and long strings are cut', () => {
  const out = redactParams(schema, { password: 42, extra: 'y'.repeat(2000) }) as Record<string, string>;
  assert.equal(out['password'], '[redacted]');
  assert.equal(out['extra']!.length, 513);
});

test('param names like Object.prototype members are plain keys', () => {
  assert.deepEqual(redactParams(schema, { toString: 1, constructor: 'x', __proto__: 2 }), {
    toString: 1,
    constructor: 'x',
  });
  assert.deepEqual(redactParams(schema, JSON.parse('{"__proto__": {"password": "p"}}')), {
    ['__proto__']: { password: '[redacted]' },
  });
});

test('fields no schema describes are redacted by their names', () => {
  const open = z.object({ id: z.string(), input: z.unknown().optional() });
  assert.deepEqual(
    redactParams(open, {
      id: 'radicale',
      input: {
        user: 'anna',
        password: 'p1',
        newPassphrase: 'p2',
        apiKey: 'k',
        nested: [{ client_secret: 's', note: 'kept' }],
        keyboard: 'de',
        pin: '1234',
        author: 'kept too',
      },
      stray_token: 't',
    }),
    {
      id: 'radicale',
      input: {
        user: 'anna',
        password: '[redacted]',
        newPassphrase: '[redacted]',
        apiKey: '[redacted]',
        nested: [{ client_secret: '[redacted]', note: 'kept' }],
        keyboard: 'de',
        pin: '[redacted]',
        author: 'kept too',
      },
      stray_token: '[redacted]',
    },
  );
});

test('a package action’s input is redacted by the JSON Schema the package declared', () => {
  const open = z.object({ id: z.string(), input: z.unknown().optional() });
  // What the SDK's secret() puts in the manifest: writeOnly and x-secret.
  const input = {
    type: 'object',
    properties: {
      phrase: { type: 'string', writeOnly: true, 'x-secret': true },
      label: { type: 'string' },
      accounts: {
        type: 'array',
        items: { type: 'object', properties: { word: { type: 'string', writeOnly: true } } },
      },
    },
  };
  assert.deepEqual(
    redactParams(
      open,
      {
        id: 'x',
        input: { phrase: 'open sesame', label: 'l', accounts: [{ word: 'w', other: 'o' }], token: 't' },
      },
      { input },
    ),
    {
      id: 'x',
      input: {
        phrase: '[redacted]',
        label: 'l',
        accounts: [{ word: '[redacted]', other: 'o' }],
        token: '[redacted]',
      },
    },
  );
});

test('deep nesting is cut, not followed', () => {
  let deep: unknown = 'bottom';
  for (let i = 0; i < 100; i++) deep = { a: deep };
  assert.match(JSON.stringify(redactParams(z.object({ x: z.unknown() }), { x: deep })), /too deep/);
});
