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

/**
 * The SDK's types for package code and editors: tsc's declarations of the two entry points,
 * their `./x.ts` specifiers written as `./x.js` (which resolve to the `.d.ts` beside them).
 */
function declarations(outDir: string): void {
  const tsc = path.join(repo, 'node_modules/typescript/bin/tsc');
  // biome-ignore format: one flag per line reads better than a wrapped list
  execFileSync(process.execPath, [tsc,
    '--declaration', '--emitDeclarationOnly', '--outDir', outDir, '--rootDir', 'sdk/src',
    '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--lib', 'es2023',
    '--types', 'node', '--strict', '--skipLibCheck', '--resolveJsonModule', '--verbatimModuleSyntax',
    '--allowImportingTsExtensions',
    'sdk/src/index.ts', 'sdk/src/tools.ts',
  ], { cwd: repo, stdio: 'inherit' });
  for (const f of fs.readdirSync(outDir, { recursive: true, encoding: 'utf8' })) {
    if (!f.endsWith('.d.ts')) continue;
    const file = path.join(outDir, f);
    const text = fs.readFileSync(file, 'utf8');
    fs.writeFileSync(file, text.replace(/((?:from|import\()\s*['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2'));
  }
}

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
  declarations(path.join(stage, 'types'));
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
      '.': { types: './types/index.d.ts', default: './dist/index.js' },
      './tools': { types: './types/tools.d.ts', default: './dist/tools.js' },
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
