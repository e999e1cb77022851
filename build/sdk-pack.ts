// `make sdk-pack`: the SDK as an npm tarball a package author installs without a Hearth
// checkout (`npm install hearth-sdk-<version>.tgz` in any directory), with the
// `hearth-sdk` command and `@hearth/sdk` for package code.
//   node build/sdk-pack.ts <out.tgz> <npm-cli.js>
// Node strips TypeScript types only outside node_modules, so the sources are bundled into
// JavaScript (ESM) here; zod (which package code imports too) and esbuild (which
// `hearth-sdk pack` runs, a native binary per platform) stay dependencies.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';

const repo = path.resolve(import.meta.dirname, '..');
const [outArg, npmCli] = process.argv.slice(2);
if (!outArg?.endsWith('.tgz') || !npmCli)
  throw new Error('usage: node build/sdk-pack.ts <out.tgz> <npm-cli.js>');
const out = path.resolve(outArg);

const sdk = JSON.parse(fs.readFileSync(path.join(repo, 'sdk/package.json'), 'utf8')) as {
  version: string;
  description: string;
  license: string;
  engines: Record<string, string>;
};
const root = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
};
/** The versions this checkout builds and tests with (package-lock.json pins them). */
const pinned = (name: string): string => {
  const v = root.dependencies?.[name] ?? root.devDependencies?.[name];
  if (!v) throw new Error(`${name} is not a dependency of the checkout`);
  return v;
};

const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-sdk-pack-'));
try {
  await esbuild.build({
    absWorkingDir: repo,
    entryPoints: { index: 'sdk/src/index.ts', tools: 'sdk/src/tools.ts', bin: 'sdk/src/bin.ts' },
    outdir: path.join(stage, 'dist'),
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: ['zod', 'esbuild'],
    // bin.ts starts with its own #! line, which esbuild keeps for that entry.
    logLevel: 'warning',
  });
  for (const f of ['manifest.schema.json', 'README.md'])
    fs.copyFileSync(path.join(repo, 'sdk', f), path.join(stage, f));
  fs.cpSync(path.join(repo, 'sdk/template'), path.join(stage, 'template'), { recursive: true });
  const manifest = {
    name: '@hearth/sdk',
    version: sdk.version,
    description: sdk.description,
    license: sdk.license,
    type: 'module',
    exports: {
      '.': './dist/index.js',
      './tools': './dist/tools.js',
      './manifest.schema.json': './manifest.schema.json',
    },
    bin: { 'hearth-sdk': './dist/bin.js' },
    engines: sdk.engines,
    dependencies: { zod: pinned('zod'), esbuild: pinned('esbuild') },
  };
  fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  fs.chmodSync(path.join(stage, 'dist/bin.js'), 0o755);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const packed = JSON.parse(
    execFileSync(process.execPath, [npmCli, 'pack', '--json', '--pack-destination', path.dirname(out)], {
      cwd: stage,
      encoding: 'utf8',
    }),
  ) as { filename: string }[];
  fs.renameSync(path.join(path.dirname(out), packed[0]!.filename), out);
  console.log(`sdk-pack: ${path.relative(repo, out)} (${Math.round(fs.statSync(out).size / 1024)} KiB)`);
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}
