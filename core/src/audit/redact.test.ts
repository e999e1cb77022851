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
    ['__proto__']: { password: 'p' },
  });
});
