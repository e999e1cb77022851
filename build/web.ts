// Builds the web UI (web/): the setup wizard and the admin UI, two entry points bundled by
// esbuild (the bundler the daemon already uses) with Preact's JSX. Every asset gets a
// content hash in its name (served `immutable`) and precompressed .br and .gz copies; the
// two HTML pages link them and carry no inline script (the CSP forbids any). The daemon
// serves out/web from disk when it runs from source, and the same files from the
// single executable's assets in the binary (build/sea.sh, core/src/host/web-assets.ts).
//   node build/web.ts [outdir]      (default out/web)
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as esbuild from 'esbuild';
import type { WebFile } from '../core/src/host/web-assets.ts';

const repo = path.resolve(import.meta.dirname, '..');
const outdir = path.resolve(process.argv[2] ?? path.join(repo, 'out', 'web'));

/** The pages and the entry each loads. */
export const PAGES = { wizard: 'web/src/wizard/main.tsx', admin: 'web/src/admin/main.tsx' } as const;

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};

const started = performance.now();
const staging = `${outdir}.tmp`;
fs.rmSync(staging, { recursive: true, force: true });
fs.mkdirSync(path.join(staging, 'assets'), { recursive: true });

const result = await esbuild.build({
  absWorkingDir: repo,
  entryPoints: Object.entries(PAGES).map(([out, entry]) => ({ in: entry, out })),
  outdir: path.join(staging, 'assets'),
  entryNames: '[name]-[hash]',
  chunkNames: 'chunk-[hash]',
  assetNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome111', 'firefox114', 'safari16.4'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  metafile: true,
  legalComments: 'none',
  loader: { '.svg': 'file', '.woff2': 'file' },
  logLevel: 'warning',
});

// The registry's schemas stay on the box: the UI has their types only.
const schemaInBundle = Object.keys(result.metafile.inputs).filter((i) => /node_modules\/zod\//.test(i));
if (schemaInBundle.length > 0)
  throw new Error(`web: zod reached the bundle (${schemaInBundle[0]}): import types only`);

// Which files each entry point loads, to link them from its page.
const outputs = result.metafile.outputs;
const pageFiles = Object.fromEntries(
  Object.keys(PAGES).map((page) => {
    const [js] =
      Object.entries(outputs).find(([, o]) => o.entryPoint === PAGES[page as keyof typeof PAGES]) ?? [];
    if (!js) throw new Error(`no output for the ${page} page`);
    const css = outputs[js]!.cssBundle;
    const chunks = outputs[js]!.imports.filter((i) => i.kind === 'import-statement').map((i) => i.path);
    return [page, { js, css, chunks }];
  }),
) as Record<keyof typeof PAGES, { js: string; css: string | undefined; chunks: string[] }>;

const served = (file: string) =>
  `/${path.relative(staging, path.resolve(repo, file)).split(path.sep).join('/')}`;

for (const [page, f] of Object.entries(pageFiles)) {
  const html = [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light dark">',
    '<title>Hearth</title>',
    `<link rel="icon" href="data:,">`,
    ...(f.css ? [`<link rel="stylesheet" href="${served(f.css)}">`] : []),
    ...f.chunks.map((c) => `<link rel="modulepreload" href="${served(c)}">`),
    `<script type="module" src="${served(f.js)}"></script>`,
    '</head>',
    '<body><noscript>Hearth needs JavaScript.</noscript></body>',
    '</html>',
    '',
  ].join('\n');
  fs.writeFileSync(path.join(staging, `${page}.html`), html);
}

const files: WebFile[] = [];
const walk = (dir: string): string[] =>
  fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : [p];
  });
for (const file of walk(staging).sort()) {
  const rel = path.relative(staging, file).split(path.sep).join('/');
  const type = TYPES[path.extname(file)];
  if (!type) throw new Error(`web: no content type for ${rel}`);
  const body = fs.readFileSync(file);
  const encodings: WebFile['encodings'] = [];
  // Small files are not worth a second request's worth of bytes, nor images already packed.
  if (body.length > 256 && !type.startsWith('image/png') && !type.startsWith('font/')) {
    const br = zlib.brotliCompressSync(body, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: body.length,
      },
    });
    const gz = zlib.gzipSync(body, { level: 9 });
    if (br.length < body.length) {
      fs.writeFileSync(`${file}.br`, br);
      encodings.push('br');
    }
    if (gz.length < body.length) {
      fs.writeFileSync(`${file}.gz`, gz);
      encodings.push('gzip');
    }
  }
  files.push({ path: `/${rel}`, type, immutable: rel.startsWith('assets/'), encodings, bytes: body.length });
}
const digest = createHash('sha256')
  .update(JSON.stringify(files.map((f) => [f.path, f.bytes])))
  .digest('hex')
  .slice(0, 16);
fs.writeFileSync(path.join(staging, 'manifest.json'), `${JSON.stringify({ digest, files }, null, 2)}\n`);

fs.rmSync(outdir, { recursive: true, force: true });
fs.renameSync(staging, outdir);

const gz = (f: string) => {
  const p = path.join(outdir, `${f.slice(1)}.gz`);
  return fs.existsSync(p) ? fs.statSync(p).size : fs.statSync(path.join(outdir, f.slice(1))).size;
};
const kb = (n: number) => `${(n / 1000).toFixed(1)} KB`;
const sizes = Object.entries(pageFiles).map(([page, f]) => {
  const js = [f.js, ...f.chunks].map(served).reduce((sum, p) => sum + gz(p), 0);
  return `${page} ${kb(js)} JS${f.css ? ` + ${kb(gz(served(f.css)))} CSS` : ''} gzipped`;
});
process.stdout.write(
  `web: ${sizes.join(', ')}; ${files.length} files in ${Math.round(performance.now() - started)} ms\n`,
);
