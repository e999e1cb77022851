// core/ imports the SDK's TypeScript through the root package.json's subpath import
// (`#sdk/*` → ./sdk/src/*), not through node_modules, where Node strips no types; and
// build/bundle.ts bundles core into CommonJS, failing on any esbuild warning. This test
// does both from a mirror of the repository root (its package.json, sdk/ linked) so
// that nothing is written into core/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import * as esbuild from 'esbuild';
import { tempDir } from './testing/fixtures.ts';

const repo = path.resolve(import.meta.dirname, '..', '..');
let root: string;

before(async () => {
  root = await tempDir('sdk-core-import-');
  const pkg = JSON.parse(await fs.readFile(path.join(repo, 'package.json'), 'utf8')) as { imports?: unknown };
  await fs.writeFile(
    path.join(root, 'package.json'),
    JSON.stringify({ type: 'module', imports: pkg.imports }),
  );
  await fs.symlink(path.join(repo, 'sdk'), path.join(root, 'sdk'));
  await fs.mkdir(path.join(root, 'core', 'src'), { recursive: true });
  await fs.writeFile(
    path.join(root, 'core', 'src', 'probe.ts'),
    [
      "import { runSdkCli } from '#sdk/cli.ts';",
      "import { readHpk } from '#sdk/hpk/read.ts';",
      "import { parseManifest } from '#sdk/manifest.ts';",
      "if (typeof readHpk !== 'function' || typeof parseManifest !== 'function') throw new Error('missing exports');",
      "runSdkCli(['version']).then((code) => { process.exitCode = code; });",
    ].join('\n'),
  );
});
after(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

test('node runs a core file that imports #sdk/…', () => {
  const out = execFileSync(process.execPath, [path.join(root, 'core', 'src', 'probe.ts')], {
    encoding: 'utf8',
  });
  assert.match(out, /^\d+\.\d+\.\d+\n$/);
});

test('esbuild bundles it into CommonJS without a warning, and the bundle runs', async () => {
  const outfile = path.join(root, 'probe.cjs');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['core/src/probe.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'cjs',
    logLevel: 'silent',
  });
  assert.deepEqual(
    result.warnings.map((w) => w.text),
    [],
  );
  const bundle = await fs.readFile(outfile, 'utf8');
  assert.ok(!bundle.includes('esbuild/lib/main.js'), 'esbuild itself must stay out of the core bundle');
  assert.match(execFileSync(process.execPath, [outfile], { encoding: 'utf8' }), /^\d+\.\d+\.\d+\n$/);
});
