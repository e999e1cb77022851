import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Architecture } from '../manifest.ts';
import { run, runPipe } from '../run.ts';
import { type Compression, tar2sqfsArgv } from './squashfs.ts';

/**
 * A Debian root filesystem built by mmdebstrap from a package list.
 *
 * @example
 * const source: DebianSource = { suite: 'bookworm', variant: 'minbase', packages: ['nginx-light'], components: ['main'] };
 */
export interface DebianSource {
  suite: string;
  /** mmdebstrap's variant: `extract`, `custom`, `essential`, `apt`, `required`, `minbase`, `important`, `standard`. */
  variant: string;
  packages: string[];
  components: string[];
  /** A mirror URL; mmdebstrap's default (deb.debian.org) when left out. */
  mirror?: string | undefined;
}

const DEB_ARCH: Record<Architecture, string> = { x86_64: 'amd64', arm64: 'arm64' };

/** The mmdebstrap argv that writes the root as a tar to stdout. */
export function mmdebstrapArgv(source: DebianSource, arch: Architecture): string[] {
  return [
    'mmdebstrap',
    '--quiet',
    `--variant=${source.variant}`,
    `--architectures=${DEB_ARCH[arch]}`,
    `--components=${source.components.join(',')}`,
    ...(source.packages.length ? [`--include=${[...source.packages].sort().join(',')}`] : []),
    '--format=tar',
    source.suite,
    '-',
    ...(source.mirror ? [source.mirror] : []),
  ];
}

/**
 * The cache key of a Debian image: a hash of everything that decides its content that
 * we can know (the recipe, the architecture, the compression, mmdebstrap's version). The
 * mirror moves on, so a cached image is as old as its first build: clear the cache (or
 * change the recipe) to pick up new package versions.
 *
 * @example
 * debianCacheKey(source, 'arm64', 'zstd', 'mmdebstrap 1.3.5'); // '3f1c…'
 */
export function debianCacheKey(
  source: DebianSource,
  arch: Architecture,
  compression: Compression,
  tool: string,
): string {
  const recipe = {
    v: 1,
    suite: source.suite,
    variant: source.variant,
    packages: [...new Set(source.packages)].sort(),
    components: source.components,
    mirror: source.mirror ?? null,
    arch,
    compression,
    tool,
  };
  return crypto.createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 32);
}

/**
 * Builds (or takes from `cacheDir`) a squashfs root from a Debian package list:
 * `mmdebstrap … -` writes a tar to stdout and `tar2sqfs` reads it, so the root never
 * lands on disk. `SOURCE_DATE_EPOCH` (0 unless set) makes mmdebstrap's output
 * reproducible for the same mirror state.
 *
 * @example
 * const { file, cached } = await squashfsFromDebian(
 *   { suite: 'bookworm', variant: 'minbase', packages: ['nginx-light'], components: ['main'] },
 *   'x86_64', { cacheDir: '/var/cache/hearth-sdk' },
 * );
 */
export async function squashfsFromDebian(
  source: DebianSource,
  arch: Architecture,
  options: { cacheDir: string; compression?: Compression; trace?: (argv: string[]) => void },
): Promise<{ file: string; cached: boolean }> {
  const compression = options.compression ?? 'zstd';
  const version = (await run(['mmdebstrap', '--version'], { debianPackage: 'mmdebstrap' })).stdout.trim();
  const key = debianCacheKey(source, arch, compression, version);
  const file = path.join(options.cacheDir, `debian-${source.suite}-${arch}-${key}.squashfs`);
  if (
    await fs.stat(file).then(
      (s) => s.isFile(),
      () => false,
    )
  )
    return { file, cached: true };
  await fs.mkdir(options.cacheDir, { recursive: true });
  const partial = `${file}.partial-${process.pid}`;
  try {
    await runPipe(mmdebstrapArgv(source, arch), tar2sqfsArgv(partial, compression), {
      producer: {
        debianPackage: 'mmdebstrap',
        env: { ...process.env, SOURCE_DATE_EPOCH: process.env['SOURCE_DATE_EPOCH'] ?? '0' },
        ...(options.trace ? { trace: options.trace } : {}),
      },
      consumer: { debianPackage: 'squashfs-tools-ng', ...(options.trace ? { trace: options.trace } : {}) },
    });
    await fs.rename(partial, file);
  } catch (e) {
    await fs.rm(partial, { force: true });
    throw e;
  }
  return { file, cached: false };
}
