import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ImageInvalid, ManifestInvalid } from '../errors.ts';
import { type Architecture, formatIssues, idSchema } from '../manifest.ts';
import { squashfsFromDebian } from './debian.ts';
import { squashfsFromOci } from './oci.ts';
import { type Compression, squashfsFromDir } from './squashfs.ts';

/**
 * `hearth.images.json`: how to build each image of a package, for every architecture the
 * package supports. Paths are relative to the package directory; `{arch}` in a path
 * becomes `x86_64` or `arm64`.
 */
const pathField = z.string().min(1, 'must not be empty');

export const imageSourceSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('dir'),
      path: pathField.meta({ description: 'A root directory, e.g. "rootfs" or "rootfs-{arch}".' }),
      allRoot: z.boolean().default(false).meta({ description: 'Make every file owned by root.' }),
    }),
    z.strictObject({
      type: z.literal('oci'),
      path: pathField.meta({ description: 'A docker save tarball or an OCI layout directory.' }),
      tag: z.string().optional().meta({ description: 'Which image, when the source holds several.' }),
    }),
    z.strictObject({
      type: z.literal('debian'),
      suite: z.string().regex(/^[a-z0-9.-]+$/, 'must be a Debian suite such as bookworm'),
      variant: z
        .enum(['extract', 'custom', 'essential', 'apt', 'required', 'minbase', 'important', 'standard'])
        .default('minbase'),
      packages: z
        .array(z.string().regex(/^[a-z0-9][a-z0-9+.-]+(?::[a-z0-9]+)?$/, 'must be a Debian package name'))
        .default([]),
      components: z.array(z.string().regex(/^[a-z-]+$/)).default(['main']),
      mirror: z.url().optional(),
    }),
  ],
  { error: 'type must be one of dir, oci, debian' },
);
/**
 * How one image is built: from a root directory, an OCI image or a Debian package list.
 *
 * @example
 * const source: ImageSource = { type: 'oci', path: 'image-{arch}.tar' };
 */
export type ImageSource = z.output<typeof imageSourceSchema>;

export const imagesConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  compression: z.enum(['zstd', 'xz']).default('zstd'),
  images: z
    .record(idSchema, imageSourceSchema)
    .refine((r) => Object.keys(r).length > 0, 'must define at least one image'),
});
/**
 * A parsed `hearth.images.json`.
 *
 * @example
 * const config: ImagesConfig = await readImagesConfig('hearth.images.json');
 */
export type ImagesConfig = z.output<typeof imagesConfigSchema>;

/**
 * Reads and checks `hearth.images.json`.
 *
 * @example
 * const config = await readImagesConfig('my-app/hearth.images.json');
 */
export async function readImagesConfig(file: string): Promise<ImagesConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ManifestInvalid([code === 'ENOENT' ? 'file not found' : `not JSON: ${(e as Error).message}`], {
      source: file,
      hint: 'hearth.images.json says how to build each image; see docs/package-format.md',
    });
  }
  const r = imagesConfigSchema.safeParse(json);
  if (!r.success) throw new ManifestInvalid(formatIssues(r.error), { source: file });
  return r.data;
}

/**
 * One built squashfs image.
 *
 * @example
 * for (const { name, arch, file } of await buildImages(config, options)) console.log(name, arch, file);
 */
export interface BuiltImage {
  name: string;
  arch: Architecture;
  file: string;
  /** Taken from the cache (Debian images). */
  cached: boolean;
  ms: number;
}

export interface BuildImagesOptions {
  /** The package directory: relative paths start here. */
  dir: string;
  architectures: readonly Architecture[];
  /** Where images built for this run go (the caller removes it). */
  workDir: string;
  /** Where Debian images are cached between runs. */
  cacheDir: string;
  trace?: (argv: string[]) => void;
  progress?: (line: string) => void;
}

/**
 * Builds every image of `config` for every architecture.
 *
 * @example
 * const images = await buildImages(config, { dir: '.', architectures: ['x86_64'], workDir: tmp, cacheDir });
 */
export async function buildImages(config: ImagesConfig, options: BuildImagesOptions): Promise<BuiltImage[]> {
  const built: BuiltImage[] = [];
  const compression: Compression = config.compression;
  const common = { compression, ...(options.trace ? { trace: options.trace } : {}) };
  for (const [name, source] of Object.entries(config.images)) {
    for (const arch of options.architectures) {
      const started = performance.now();
      const out = path.join(options.workDir, `${name}-${arch}.squashfs`);
      const at = (p: string) => path.resolve(options.dir, p.replaceAll('{arch}', arch));
      let cached = false;
      let file = out;
      switch (source.type) {
        case 'dir':
          await squashfsFromDir(at(source.path), out, { ...common, allRoot: source.allRoot });
          break;
        case 'oci':
          await squashfsFromOci(at(source.path), arch, out, {
            ...common,
            ...(source.tag ? { tag: source.tag } : {}),
          });
          break;
        case 'debian':
          ({ file, cached } = await squashfsFromDebian(source, arch, {
            ...common,
            cacheDir: options.cacheDir,
          }));
          break;
      }
      const ms = Math.round(performance.now() - started);
      const { size } = await fs.stat(file).catch(() => {
        throw new ImageInvalid(`building image ${name} for ${arch} produced no file`);
      });
      options.progress?.(
        `image ${name} (${arch}, ${source.type}): ${(size / 1024 / 1024).toFixed(1)} MiB${cached ? ' (cached)' : ''} in ${ms} ms`,
      );
      built.push({ name, arch, file, cached, ms });
    }
  }
  return built;
}
