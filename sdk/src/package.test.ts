import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { z } from 'zod';
import type { Effects } from './effects.ts';
import { ManifestInvalid, PackFailed } from './errors.ts';
import { defineAction, definePackage, manifestOf, type PackageInput, planMigrations } from './package.ts';

const effects = {} as Effects;

function input(overrides: Partial<PackageInput> = {}): PackageInput {
  return {
    id: 'hello-world',
    version: '1.2.0',
    title: 'Hello World',
    description: { short: 'Says hello', long: 'A page that says hello.' },
    license: 'MIT',
    upstreamRepo: 'https://example.org/hello',
    packageRepo: 'https://example.org/hello-package',
    icon: 'icon.svg',
    architectures: ['x86_64'],
    volumes: [{ id: 'data', name: 'Data', description: 'The greeting' }],
    resources: { memoryMiB: 32, cpus: 0.5 },
    daemons: [{ id: 'web', command: ['/bin/busybox', 'httpd', '-f'], ready: { kind: 'tcp', port: 8080 } }],
    healthChecks: [{ id: 'web', name: 'Web', kind: 'tcp', port: 8080, intervals: { healthySeconds: 60 } }],
    ...overrides,
  };
}

describe('definePackage', () => {
  test('derives the declared manifest: actions as JSON Schema, hooks as flags', () => {
    const def = definePackage(
      input({
        actions: [
          defineAction({
            id: 'greet',
            name: 'Greet',
            description: 'Says hello to someone',
            input: z.object({ name: z.string().min(1).describe('Who to greet') }),
            allowedStatuses: ['running'],
            handler: ({ name }) => ({ message: `Hello, ${name}` }),
          }),
        ],
        backup: { volumes: ['data'], pre: { command: ['sh', '-c', 'sync'] } },
        migrations: [{ version: '1.1.0', up: async () => {} }],
        init: async () => {},
      }),
    );
    const m = manifestOf(def);
    assert.deepEqual(m.actions[0]!.input, {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { name: { type: 'string', minLength: 1, description: 'Who to greet' } },
      required: ['name'],
    });
    assert.deepEqual(m.backup, { volumes: ['data'], hasPre: true, hasPost: false });
    assert.deepEqual(m.migrations, [{ version: '1.1.0', down: false }]);
    assert.equal(m.hasInit, true);
    assert.equal(m.hasUninit, false);
    assert.deepEqual(m.healthChecks[0]!.intervals, { startingSeconds: 2, healthySeconds: 60 });
    assert.deepEqual(def.backup.pre, { command: ['sh', '-c', 'sync'] });
  });

  test('runs actions with validated input', async () => {
    const def = definePackage(
      input({
        actions: [
          defineAction({
            id: 'add',
            name: 'Add',
            description: 'Adds one',
            input: z.object({ n: z.number().int() }),
            allowedStatuses: ['running', 'stopped'],
            handler: async ({ n }) => ({ message: String(n + 1) }),
          }),
        ],
      }),
    );
    assert.deepEqual(await def.runAction('add', { n: 41 }, effects), { message: '42' });
    await assert.rejects(def.runAction('add', { n: 'x' }, effects), { code: 'action_input_invalid' });
    await assert.rejects(def.runAction('nope', {}, effects), { code: 'action_not_found' });
  });

  test('runs migrations and hooks', async () => {
    const ran: string[] = [];
    const def = definePackage(
      input({
        migrations: [{ version: '1.1.0', up: () => void ran.push('up'), down: () => void ran.push('down') }],
        uninit: () => void ran.push('uninit'),
      }),
    );
    await def.runMigration('1.1.0', 'up', effects);
    await def.runMigration('1.1.0', 'down', effects);
    await def.runInit(effects);
    await def.runUninit(effects);
    assert.deepEqual(ran, ['up', 'down', 'uninit']);
    await assert.rejects(def.runMigration('1.0.0', 'up', effects), { code: 'migration_not_found' });
  });

  test('refuses bad definitions, naming the field', () => {
    assert.throws(
      () => definePackage(input({ description: { short: 'x'.repeat(81), long: 'y' } })),
      (e: unknown) =>
        e instanceof ManifestInvalid &&
        e.message.includes('description.short: must be at most 80 characters'),
    );
    assert.throws(
      () =>
        definePackage(
          input({
            actions: [
              {
                id: 'a',
                name: 'A',
                description: 'a',
                input: z.string() as unknown as z.ZodObject,
                allowedStatuses: ['running'],
                handler: () => ({}),
              },
            ],
          }),
        ),
      /actions\[0\]\.input: must be a zod object schema/,
    );
    assert.throws(
      () => definePackage(input({ backup: { volumes: ['data'], pre: { command: [] } } })),
      /backup\.pre\.command: must be a non-empty argv array/,
    );
  });

  test('manifestOf refuses what is not a definition', () => {
    assert.throws(() => manifestOf({}), PackFailed);
    assert.throws(() => manifestOf(null), PackFailed);
    assert.throws(() => manifestOf({ kind: 'hearth-package', definitionVersion: 9 }), /definition format/);
  });

  test('manifestOf works on a plain copy (another SDK copy)', () => {
    const def = definePackage(input());
    const copy = JSON.parse(JSON.stringify(def));
    assert.deepEqual(manifestOf(copy), def.manifest);
  });
});

describe('planMigrations', () => {
  const migrations = [
    { version: '1.1.0', down: true },
    { version: '1.3.0', down: false },
    { version: '2.0.0', down: true },
  ];
  test('update: up, oldest first, only those crossed', () => {
    assert.deepEqual(planMigrations(migrations, '1.0.0', '1.3.0'), [
      { version: '1.1.0', direction: 'up' },
      { version: '1.3.0', direction: 'up' },
    ]);
    assert.deepEqual(planMigrations(migrations, '1.3.0', '2.1.0'), [{ version: '2.0.0', direction: 'up' }]);
    assert.deepEqual(planMigrations(migrations, '1.3.0', '1.3.0'), []);
  });
  test('downgrade: down, newest first; refused across an irreversible one', () => {
    assert.deepEqual(planMigrations(migrations, '2.0.0', '1.3.0'), [{ version: '2.0.0', direction: 'down' }]);
    assert.throws(() => planMigrations(migrations, '2.0.0', '1.0.0'), { code: 'migration_irreversible' });
  });
});
