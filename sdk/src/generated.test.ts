import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { generated } from '../scripts/generate.ts';
import { SDK_VERSION } from './version.ts';

const sdk = path.resolve(import.meta.dirname, '..');

test('generated files are current (node sdk/scripts/generate.ts rewrites them)', async () => {
  for (const [file, value] of Object.entries(await generated())) {
    const onDisk = JSON.parse(await fs.readFile(path.join(sdk, file), 'utf8'));
    assert.deepEqual(onDisk, value, `sdk/${file} is stale: run node sdk/scripts/generate.ts`);
  }
});

test('SDK_VERSION is the version in sdk/package.json', async () => {
  const pkg = JSON.parse(await fs.readFile(path.join(sdk, 'package.json'), 'utf8')) as { version: string };
  assert.equal(SDK_VERSION, pkg.version);
});
