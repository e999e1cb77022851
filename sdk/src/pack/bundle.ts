import fs from 'node:fs/promises';
import path from 'node:path';
import type * as Esbuild from 'esbuild';
import { PackFailed } from '../errors.ts';

/**
 * Bundles a package's definition entry (`hearth.package.ts`) and everything it imports
 * into one CommonJS file, `code/index.js`. CommonJS because the container runtime is the
 * `hearth` binary, a Node single-executable application that loads CommonJS from disk
 * with `createRequire` (it cannot `import()` files); `platform: node`, so Node's built-in
 * modules stay `require`s and the rest is inlined.
 */

export interface BundleOptions {
  /** The SDK's own directory: `@hearth/sdk` and `zod` come from here when the package has none of its own. */
  sdkDir?: string | undefined;
}

// Kept out of the static import graph: core bundles this file into the hearth binary,
// which cannot carry esbuild's native binary; `hearth sdk pack` then finds esbuild at
// run time or says how to get it.
const ESBUILD = 'esbuild';

async function loadEsbuild(): Promise<typeof Esbuild> {
  try {
    return (await import(ESBUILD)) as typeof Esbuild;
  } catch {
    throw new PackFailed('bundling the package code needs esbuild, which cannot be loaded here', {
      hint: 'run hearth-sdk from the SDK (node sdk/src/bin.ts), or npm install esbuild in the package directory',
    });
  }
}

function sdkResolver(sdkDir: string | undefined): Esbuild.Plugin {
  return {
    name: 'hearth-sdk',
    setup(build) {
      build.onResolve({ filter: /^@hearth\/sdk\/tools$/ }, () => ({
        errors: [{ text: '@hearth/sdk/tools is for building packages; package code imports @hearth/sdk' }],
      }));
      build.onResolve({ filter: /^@hearth\/sdk$/ }, async (args) => {
        if (args.pluginData === 'fallback') return undefined;
        const found = await build.resolve(args.path, {
          kind: args.kind,
          resolveDir: args.resolveDir,
          importer: args.importer,
          pluginData: 'fallback',
        });
        if (found.errors.length === 0) return found;
        if (!sdkDir) {
          return { errors: [{ text: 'cannot find @hearth/sdk: install it in the package directory' }] };
        }
        return { path: path.join(sdkDir, 'src', 'index.ts') };
      });
    },
  };
}

/**
 * zod's `z.locales`, its messages in 50 languages, cut to English (the one zod configures
 * and the only one any of our code uses): `export * as locales` keeps every locale in a
 * bundle though nothing reads them, and a process holds the source of what it loads
 * (ARCHITECTURE.md, "Memory"). Used by core's bundle too (build/bundle.ts).
 */
export const zodEnglishOnly: Esbuild.Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";\n',
      loader: 'js',
      resolveDir: path.dirname(args.path),
    }));
  },
};

/**
 * Bundles `entry` into `outfile`; any esbuild warning fails the bundle (it is code that
 * would break at run time, such as `import.meta` in CommonJS).
 *
 * @example
 * await bundleCode('my-app/hearth.package.ts', '/tmp/work/code/index.js', { sdkDir: 'sdk' });
 */
export async function bundleCode(
  entry: string,
  outfile: string,
  options: BundleOptions = {},
): Promise<{ size: number }> {
  const esbuild = await loadEsbuild();
  const nodePaths = options.sdkDir
    ? [path.join(options.sdkDir, 'node_modules'), path.join(options.sdkDir, '..', 'node_modules')]
    : [];
  let result: Esbuild.BuildResult;
  try {
    result = await esbuild.build({
      absWorkingDir: path.dirname(path.resolve(entry)),
      entryPoints: [path.resolve(entry)],
      outfile,
      bundle: true,
      platform: 'node',
      target: 'node24',
      format: 'cjs',
      nodePaths,
      plugins: [sdkResolver(options.sdkDir), zodEnglishOnly],
      legalComments: 'inline',
      logLevel: 'silent',
    });
  } catch (e) {
    const errors = (e as { errors?: Esbuild.Message[] }).errors ?? [];
    const first = errors[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    throw new PackFailed(`the package code does not bundle: ${where}${first?.text ?? (e as Error).message}`, {
      ...(errors.length > 1 ? { data: { errors: errors.map((m) => m.text) } } : {}),
    });
  }
  if (result.warnings.length > 0) {
    const w = result.warnings[0]!;
    const where = w.location ? `${w.location.file}:${w.location.line}: ` : '';
    throw new PackFailed(`the package code would break at run time: ${where}${w.text}`);
  }
  return { size: (await fs.stat(outfile)).size };
}
