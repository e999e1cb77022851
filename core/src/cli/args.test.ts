import assert from 'node:assert/strict';
import { test } from 'node:test';
import { z } from 'zod';
import { jsonSchemaOf } from '../rpc/discover.ts';
import { METHODS } from '../rpc/methods.ts';
import { secret } from '../rpc/registry.ts';
import { checkRequired, closest, flagOf, mainParam, paramsOf, parseParams, UsageError } from './args.ts';
import { splitGlobals } from './cli.ts';

const schema = z
  .object({
    name: z.string(),
    limit: z.number().int().default(10),
    unseenOnly: z.boolean().optional(),
    scope: z.enum(['read', 'admin']),
    ids: z.array(z.number()).optional(),
    password: secret(z.string()),
  })
  .strict();
const info = paramsOf(jsonSchemaOf(schema, 'input'));

test('params come from the schema with flags, types and marks', () => {
  const byKey = Object.fromEntries(info.map((p) => [p.key, p]));
  assert.equal(flagOf('unseenOnly'), '--unseen-only');
  assert.equal(byKey['limit']!.type, 'integer');
  assert.equal(byKey['limit']!.required, false);
  assert.equal(byKey['name']!.required, true);
  assert.equal(byKey['scope']!.type, 'enum');
  assert.equal(byKey['password']!.secret, true);
});

test('flags convert by type', () => {
  assert.deepEqual(
    parseParams(
      ['--name', 'x', '--limit=5', '--unseen-only', '--scope', 'read', '--ids', '1,2', '--ids', '3'],
      info,
    ),
    { name: 'x', limit: 5, unseenOnly: true, scope: 'read', ids: [1, 2, 3] },
  );
  assert.deepEqual(parseParams(['--no-unseen-only'], info), { unseenOnly: false });
  assert.deepEqual(parseParams(['--params', '{"name":"y"}', '--limit', '2'], info), { name: 'y', limit: 2 });
});

test('mistakes are usage errors that say what to do', () => {
  assert.throws(
    () => parseParams(['--bogus'], info),
    (e: unknown) => e instanceof UsageError && /--name/.test(e.hint!),
  );
  assert.throws(() => parseParams(['--limit', 'many'], info), /takes a number/);
  assert.throws(() => parseParams(['--name'], info), /needs a value/);
  assert.throws(() => parseParams(['stray'], info), /unexpected argument/);
  assert.throws(() => parseParams(['--params', '{bad'], info), /needs JSON/);
});

test("no method's param takes a flag the CLI keeps for itself (--host, --token, …)", () => {
  for (const m of METHODS) {
    for (const p of paramsOf(jsonSchemaOf(m.params, 'input'))) {
      const { rest } = splitGlobals([p.flag, 'value']);
      assert.deepEqual(rest.slice(0, 1), [p.flag], `${m.name} --${p.key} would be taken by the CLI`);
    }
  }
});

test('a method’s main param goes without its flag: id, else path, else the only required one', () => {
  const of = (shape: z.ZodRawShape) => paramsOf(jsonSchemaOf(z.object(shape).strict(), 'input'));
  const get = of({ id: z.string(), lines: z.number().optional() });
  assert.equal(mainParam(get)?.key, 'id');
  assert.deepEqual(parseParams(['hello-world', '--lines', '5'], get), { id: 'hello-world', lines: 5 });
  assert.deepEqual(parseParams(['--lines', '5', 'hello-world'], get), { id: 'hello-world', lines: 5 });
  assert.throws(() => parseParams(['a', 'b'], get), /unexpected argument 'b'/);
  assert.equal(mainParam(of({ path: z.string().optional(), start: z.boolean().optional() }))?.key, 'path');
  assert.equal(mainParam(of({ name: z.string(), note: z.string().optional() }))?.key, 'name');
  assert.equal(mainParam(of({ a: z.string(), b: z.string() })), undefined);
  assert.equal(mainParam(info), undefined, 'several required: none is main');
});

test('did you mean: a near command or flag, nothing for a word far from all', () => {
  assert.equal(closest('pakage', ['package', 'server', 'setup']), 'package');
  assert.equal(closest('--unseen-onyl', ['--unseen-only', '--limit']), '--unseen-only');
  assert.equal(closest('backup', ['package', 'server', 'setup']), undefined);
});

test('a missing required param is named by its flag, with the form that needs none', () => {
  const get = paramsOf(jsonSchemaOf(z.object({ id: z.string() }).strict(), 'input'));
  assert.throws(
    () => checkRequired({}, get, 'hearth package get'),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message === 'hearth package get needs --id' &&
      /hearth package get <id>/.test(e.hint!),
  );
  assert.doesNotThrow(() => checkRequired({ id: 'x' }, get, 'hearth package get'));
  // Secrets are asked for on the terminal, not demanded.
  assert.doesNotThrow(() => checkRequired({ name: 'n', scope: 'read' }, info, 'hearth x'));
});
