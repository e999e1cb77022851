import fs from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { ImageInvalid } from '../errors.ts';
import { run } from '../run.ts';

/**
 * Compressors every Debian kernel (and Raspberry Pi's) mounts.
 *
 * @example
 * await squashfsFromDir('rootfs', 'main.squashfs', { compression: 'xz' });
 */
export type Compression = 'zstd' | 'xz';

export interface SquashfsOptions {
  compression?: Compression;
  trace?: (argv: string[]) => void;
}

/**
 * Builds a squashfs image from a directory with `mksquashfs`, reproducibly: every
 * timestamp and the creation time are 0, the tree is read in sorted order. With
 * `allRoot`, every file is owned by root (for a tree built as an ordinary user).
 *
 * @example
 * await squashfsFromDir('rootfs', 'out/main.squashfs', { compression: 'zstd' });
 */
export async function squashfsFromDir(
  dir: string,
  out: string,
  options: SquashfsOptions & { allRoot?: boolean } = {},
): Promise<void> {
  const stat = await fs.stat(dir).catch(() => null);
  if (!stat?.isDirectory()) throw new ImageInvalid(`${dir} is not a directory`);
  await run(
    [
      'mksquashfs',
      dir,
      out,
      '-noappend',
      '-quiet',
      '-no-progress',
      '-comp',
      options.compression ?? 'zstd',
      '-all-time',
      '0',
      '-mkfs-time',
      '0',
      ...(options.allRoot ? ['-all-root'] : []),
    ],
    { debianPackage: 'squashfs-tools', ...(options.trace ? { trace: options.trace } : {}) },
  );
}

/** The `tar2sqfs` argv that turns a tar on stdin into `out`. */
export function tar2sqfsArgv(out: string, compression: Compression = 'zstd'): string[] {
  // --no-skip: an entry tar2sqfs cannot represent fails the build instead of vanishing.
  return ['tar2sqfs', '--quiet', '--no-skip', '--force', '--compressor', compression, out];
}

/**
 * Builds a squashfs image from a tar stream with `tar2sqfs` (squashfs-tools-ng): no
 * extraction, no root needed, ownership and modes as the tar says. Timestamps are the
 * tar's, so the same stream gives the same image.
 *
 * @example
 * await squashfsFromTar(fs.createReadStream('root.tar'), 'out/main.squashfs');
 */
export async function squashfsFromTar(
  input: Readable | AsyncIterable<Uint8Array>,
  out: string,
  options: SquashfsOptions = {},
): Promise<void> {
  await run(tar2sqfsArgv(out, options.compression), {
    input,
    debianPackage: 'squashfs-tools-ng',
    ...(options.trace ? { trace: options.trace } : {}),
  });
}
