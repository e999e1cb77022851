// Bundles the daemon, CLI and container runtime (core/src/main.ts) into one CommonJS file
// for the Node single-executable build, which only runs CommonJS and whose `require`
// loads nothing but Node's built-in modules.
//   node build/bundle.ts [outfile]      (default out/hearth.cjs)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { roleProblems, runtimeBytes, toAscii } from './bundle-memory.ts';

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

const started = performance.now();
const result = await esbuild.build({
  absWorkingDir: repo,
  entryPoints: ['core/src/main.ts'],
  outfile,
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
  plugins: [sqliteBindingStub],
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
// Each role loads only its part (bundle-memory.ts): a bundle that breaks that is refused.
const problems = roleProblems(result.metafile);
if (problems.length > 0) {
  fs.rmSync(outfile, { force: true });
  process.stderr.write(`bundle: the roles' parts are mixed:\n${problems.map((p) => `  ${p}\n`).join('')}`);
  process.exit(1);
}
// ASCII, or V8 holds the whole source at two bytes a character (bundle-memory.ts). The
// escapes are in comments, as the minified programs (no comments) show; else it is refused.
const source = fs.readFileSync(outfile, 'utf8');
const ascii = toAscii(source);
if (ascii !== source) {
  const minified = async (code: string) =>
    (await esbuild.transform(code, { minify: true, format: 'cjs' })).code;
  if ((await minified(ascii)) !== (await minified(source))) {
    fs.rmSync(outfile, { force: true });
    process.stderr.write('bundle: a character above ASCII is in a template literal; write it as an escape\n');
    process.exit(1);
  }
  fs.writeFileSync(outfile, ascii);
}
const size = fs.statSync(outfile).size;
const runtime = runtimeBytes(result.metafile);
process.stderr.write(
  `bundle: ${path.relative(repo, outfile)} ${(size / 1024).toFixed(0)} KiB in ${(performance.now() - started).toFixed(0)} ms; ` +
    `the container runtime's part ${runtime.modules} modules, ${(runtime.bytes / 1024).toFixed(0)} KiB\n`,
);
