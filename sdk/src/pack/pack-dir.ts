import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { ManifestInvalid, PackFailed } from '../errors.ts';
import { packHpk } from '../hpk/pack.ts';
import { buildImages, readImagesConfig } from '../images/build.ts';
import type { SigningKey } from '../keys.ts';
import { MANIFEST_VERSION, type Manifest, parseManifest } from '../manifest.ts';
import { manifestOf } from '../package.ts';
import { SDK_VERSION } from '../version.ts';
import { bundleCode } from './bundle.ts';

/** The files `hearth-sdk pack` reads from a package directory. */
export const ENTRY_NAMES = [
  'hearth.package.ts',
  'hearth.package.mts',
  'hearth.package.js',
  'hearth.package.mjs',
];
export const IMAGES_CONFIG = 'hearth.images.json';

/**
 * What `packDir` needs: the package directory, the key, a cache for Debian images.
 *
 * @example
 * await packDir({ dir: '.', key: await loadSigningKey('signing.key'), cacheDir: '/var/cache/hearth-sdk', progress: console.error });
 */
export interface PackDirOptions {
  /** The package directory. */
  dir: string;
  /** The `.hpk` to write; `<id>-<version>.hpk` in the current directory by default. */
  out?: string | undefined;
  /** `null` packs an unsigned package. */
  key: SigningKey | null;
  /** Where Debian images are cached between runs. */
  cacheDir: string;
  /** The SDK's own directory (for `@hearth/sdk` and `zod` when the package has none). */
  sdkDir?: string | undefined;
  progress?: (line: string) => void;
  trace?: (argv: string[]) => void;
}

/**
 * What `packDir` wrote.
 *
 * @example
 * const { file, size, manifest } = await packDir(options);
 */
export interface PackDirResult {
  file: string;
  size: number;
  manifest: Manifest;
  ms: number;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

/** Loads the bundled code the way the container runtime will, and returns its default export. */
function loadDefinition(codeFile: string, entryName: string): unknown {
  try {
    const mod = createRequire(codeFile)(codeFile) as { default?: unknown };
    return mod.default ?? mod;
  } catch (e) {
    // definePackage's own refusal, from the SDK copy inside the bundle (so not instanceof ours).
    const refusal = e as { code?: unknown; issues?: unknown; message?: string };
    if (refusal.code === 'manifest_invalid') {
      const issues = Array.isArray(refusal.issues) ? refusal.issues.map(String) : [String(refusal.message)];
      throw new ManifestInvalid(issues, { source: path.basename(entryName) });
    }
    throw new PackFailed(`loading the bundled package code failed: ${(e as Error).message}`, {
      hint: 'hearth.package.ts must not do work at import time beyond defining the package',
    });
  }
}

/**
 * Packs a package directory into a signed `.hpk`: bundles `hearth.package.ts`, derives
 * the manifest from it, builds the images `hearth.images.json` describes for every
 * architecture, and writes the archive with `LICENSE`, `instructions.md` and the icon.
 *
 * @example
 * const { file, size } = await packDir({ dir: 'my-app', key: await loadSigningKey('signing.key'), cacheDir: '/var/cache/hearth-sdk' });
 */
export async function packDir(options: PackDirOptions): Promise<PackDirResult> {
  const started = performance.now();
  const dir = path.resolve(options.dir);
  const say = options.progress ?? (() => {});
  if (
    !(await fs.stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new PackFailed(`${dir} is not a directory`);
  }
  let entry: string | undefined;
  for (const name of ENTRY_NAMES) {
    if (await exists(path.join(dir, name))) {
      entry = path.join(dir, name);
      break;
    }
  }
  if (!entry) {
    throw new PackFailed(`${dir} has no hearth.package.ts`, {
      hint: `create a package with hearth-sdk init ${options.dir}`,
    });
  }

  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'hearth-pack-'));
  try {
    let t = performance.now();
    const code = path.join(work, 'code', 'index.js');
    const { size: codeSize } = await bundleCode(entry, code, { sdkDir: options.sdkDir });
    say(
      `code: ${path.basename(entry)} → code/index.js, ${(codeSize / 1024).toFixed(0)} KiB in ${Math.round(performance.now() - t)} ms`,
    );
    const declared = manifestOf(loadDefinition(code, entry));

    const config = await readImagesConfig(path.join(dir, IMAGES_CONFIG));
    const imagesDir = path.join(work, 'images');
    await fs.mkdir(imagesDir);
    t = performance.now();
    const images = await buildImages(config, {
      dir,
      architectures: declared.architectures,
      workDir: imagesDir,
      cacheDir: options.cacheDir,
      progress: say,
      ...(options.trace ? { trace: options.trace } : {}),
    });

    const manifest = parseManifest(
      {
        manifestVersion: MANIFEST_VERSION,
        sdkVersion: SDK_VERSION,
        ...declared,
        images: Object.keys(config.images).map((name) => ({ name, architectures: declared.architectures })),
      },
      `${path.basename(entry)} with ${IMAGES_CONFIG}`,
    );
    const files = { icon: manifest.icon, license: 'LICENSE', instructions: 'instructions.md' };
    for (const [what, name] of Object.entries(files)) {
      if (!(await exists(path.join(dir, name)))) {
        throw new PackFailed(`${dir} has no ${name}`, {
          hint:
            what === 'icon'
              ? 'the manifest names the icon (icon.png or icon.svg): add that file'
              : `add ${name} to the package`,
        });
      }
    }
    const out = path.resolve(options.out ?? `${manifest.id}-${manifest.version}.hpk`);
    t = performance.now();
    const { size } = await packHpk({
      out,
      manifest,
      code,
      icon: path.join(dir, files.icon),
      license: path.join(dir, files.license),
      instructions: path.join(dir, files.instructions),
      images: images.map((i) => ({ name: i.name, arch: i.arch, file: i.file })),
      key: options.key,
    });
    say(`archive: ${path.relative(process.cwd(), out) || out} in ${Math.round(performance.now() - t)} ms`);
    return { file: out, size, manifest, ms: Math.round(performance.now() - started) };
  } finally {
    await fs.rm(work, { recursive: true, force: true });
  }
}
