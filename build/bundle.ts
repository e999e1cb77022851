// Bundles the daemon, CLI and container runtime for the Node single-executable build, which
// only runs CommonJS and whose `require` loads nothing but Node's built-in modules: the
// dispatcher (core/src/main.ts) is the SEA's main script, each role its own CommonJS file
// beside it (roles/<role>.cjs, an asset of the SEA, build/sea.sh) that the dispatcher
// evaluates once it has chosen the role. V8 holds the source of every script it compiles,
// so each process holds its own role's source, not the whole binary's (ARCHITECTURE.md,
// "Memory").
//   node build/bundle.ts [outfile]      (default out/hearth.cjs; the roles in <its dir>/roles/)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { zodEnglishOnly } from '#sdk/pack/bundle.ts';
import { ENTRY, PARTS, ROLES, roleProblems, runtimeBytes, toAscii } from './bundle-memory.ts';

const repo = path.resolve(import.meta.dirname, '..');
const outfile = path.resolve(process.argv[2] ?? path.join(repo, 'out', 'hearth.cjs'));

const { version } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  version: string;
};

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

// Optional native helpers that their users load inside try/catch and do without: ws's
// bufferutil and utf-8-validate, dbus-next's usocket and x11. Left as plain `require`s
// they throw in the binary (not a built-in module), and the fallback runs.
const OPTIONAL_NATIVE = ['bufferutil', 'utf-8-validate', 'usocket', 'x11'];

/**
 * better-sqlite3's lib/binding.js looks for its addon on disk (build/, prebuilds/) with a
 * computed `require`. The binary has no such files: it hands the addon over as the
 * `nativeBinding` option (core/src/host/native-addon.ts), so the lookup is replaced by
 * one that takes the addon object, or an addon file path, and says so otherwise.
 */
const sqliteBindingStub: esbuild.Plugin = {
  name: 'better-sqlite3-binding',
  setup(build) {
    build.onLoad({ filter: /[\\/]better-sqlite3[\\/]lib[\\/]binding\.js$/ }, () => ({
      loader: 'js',
      contents: `
exports.getBinding = function getBinding(nativeBinding) {
  if (typeof nativeBinding === 'object' && nativeBinding !== null) return nativeBinding;
  if (typeof nativeBinding === 'string') {
    const mod = { exports: {} };
    process.dlopen(mod, require('node:path').resolve(nativeBinding));
    return mod.exports;
  }
  throw new Error('better-sqlite3 in the hearth bundle needs its addon: set HEARTH_SQLITE_ADDON to a better_sqlite3.node file');
};
exports.getPrebuildPath = function getPrebuildPath() { return null; };
`,
    }));
  },
};

/**
 * The dispatcher's dynamic imports of the roles become loads of their own bundles: from the
 * SEA's assets in the binary, else from the roles/ directory beside out/hearth.cjs. The
 * role's exports are what the import resolves to.
 */
const roleAssets: esbuild.Plugin = {
  name: 'role-assets',
  setup(build) {
    const byModule = new Map(Object.entries(ROLES).map(([role, file]) => [path.join(repo, file), role]));
    build.onResolve({ filter: /\.ts$/ }, (args) => {
      if (path.relative(repo, args.importer) !== ENTRY) return undefined;
      const role = byModule.get(path.resolve(args.resolveDir, args.path));
      return role ? { path: role, namespace: 'hearth-role' } : undefined;
    });
    build.onResolve({ filter: /^hearth-role-loader$/ }, () => ({ path: 'loader', namespace: 'hearth-role' }));
    build.onLoad({ filter: /.*/, namespace: 'hearth-role' }, (args) => ({
      loader: 'js',
      contents:
        args.path === 'loader'
          ? ROLE_LOADER
          : `module.exports = require('hearth-role-loader')(${JSON.stringify(args.path)});\n`,
    }));
  },
};

/**
 * A part of the daemon loaded at its first use (bundle-memory.ts's PARTS): the modules that
 * import the part's entry, and the libraries it holds, require `hearth-part:<name>`, which
 * the loader below answers with roles/<name>.cjs. acme-client's @peculiar/x509 is the x509
 * part too (2.x for its 1.x: the calls it makes are the same), so the library is held once.
 */
const lazyParts: esbuild.Plugin = {
  name: 'lazy-parts',
  setup(build) {
    const byModule = new Map(Object.entries(PARTS).map(([name, p]) => [path.join(repo, p.entry), name]));
    build.onResolve({ filter: /^hearth-part:/ }, (args) => ({ path: args.path, external: true }));
    build.onResolve({ filter: /^@peculiar\/x509$/ }, (args) =>
      path.relative(repo, args.importer) === PARTS['x509']!.entry
        ? undefined
        : { path: 'hearth-part:x509', external: true },
    );
    build.onResolve({ filter: /\.ts$/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      const name = byModule.get(path.resolve(args.resolveDir, args.path));
      return name ? { path: `hearth-part:${name}`, external: true } : undefined;
    });
  },
};

const ROLE_LOADER = `
const fs = require('node:fs');
const path = require('node:path');
const sea = require('node:sea');
const vm = require('node:vm');
const loaded = new Map();
function load(name) {
  const known = loaded.get(name);
  if (known) return known.exports;
  const file = 'roles/' + name + '.cjs';
  const inSea = sea.isSea();
  const source = inSea ? sea.getAsset(file, 'utf8') : fs.readFileSync(path.join(__dirname, file), 'utf8');
  const filename = inSea ? 'hearth:' + file : path.join(__dirname, file);
  const mod = { exports: {} };
  loaded.set(name, mod);
  const run = vm.compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename });
  run(mod.exports, partRequire, mod, filename, path.dirname(filename));
  return mod.exports;
}
// What a role's or a part's code requires: another part, or one of Node's modules.
function partRequire(id) {
  return id.startsWith('hearth-part:') ? load(id.slice('hearth-part:'.length)) : require(id);
}
module.exports = load;
`;

const started = performance.now();
const result = await esbuild.build({
  absWorkingDir: repo,
  entryPoints: [
    { in: ENTRY, out: path.basename(outfile, '.cjs') },
    ...Object.entries(ROLES).map(([role, file]) => ({ in: file, out: `roles/${role}` })),
    ...Object.entries(PARTS).map(([name, p]) => ({ in: p.entry, out: `roles/${name}` })),
  ],
  outdir: path.dirname(outfile),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  // Not minified: a stack trace from the field should point at readable code.
  define: {
    HEARTH_VERSION: JSON.stringify(version),
    HEARTH_COMMIT: JSON.stringify(gitCommit()),
  },
  external: OPTIONAL_NATIVE,
  plugins: [sqliteBindingStub, roleAssets, lazyParts, zodEnglishOnly],
  logLevel: 'silent',
  metafile: true,
});
// A warning here is code that would break in the binary (a computed require,
// import.meta in CommonJS), so it fails the build. (Errors make build() throw.)
const messages = [...result.errors, ...result.warnings];
if (messages.length > 0) {
  const text = await esbuild.formatMessages(messages, { kind: 'warning', color: false });
  process.stderr.write(text.join(''));
  process.exit(1);
}
const outputs = Object.keys(result.metafile.outputs).map((f) => path.resolve(repo, f));
const refuse = (message: string) => {
  for (const f of outputs) fs.rmSync(f, { force: true });
  process.stderr.write(message);
  process.exit(1);
};
// Each role loads only its part (bundle-memory.ts): a bundle that breaks that is refused.
const problems = roleProblems(result.metafile);
if (problems.length > 0) {
  refuse(`bundle: the roles' parts are mixed:\n${problems.map((p) => `  ${p}\n`).join('')}`);
}
// ASCII, or V8 holds the whole source at two bytes a character (bundle-memory.ts). The
// escapes are in comments, as the minified programs (no comments) show; else it is refused.
for (const file of outputs) {
  const source = fs.readFileSync(file, 'utf8');
  const ascii = toAscii(source);
  if (ascii === source) continue;
  const minified = async (code: string) =>
    (await esbuild.transform(code, { minify: true, format: 'cjs' })).code;
  if ((await minified(ascii)) !== (await minified(source))) {
    refuse(
      `bundle: a character above ASCII is in a template literal of ${path.relative(repo, file)}; write it as an escape\n`,
    );
  }
  fs.writeFileSync(file, ascii);
}
const kib = (file: string) => `${(fs.statSync(file).size / 1024).toFixed(0)} KiB`;
const runtime = runtimeBytes(result.metafile);
process.stderr.write(
  `bundle: ${outputs.map((f) => `${path.relative(repo, f)} ${kib(f)}`).join(', ')} in ${(performance.now() - started).toFixed(0)} ms; ` +
    `the container runtime's ${(runtime.bundle / 1024).toFixed(0)} KiB run ${runtime.modules} modules at start, ${(runtime.bytes / 1024).toFixed(0)} KiB\n`,
);
