import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { PackFailed } from '../errors.ts';
import type { SigningKey } from '../keys.ts';
import { type Architecture, type Manifest, type ManifestInput, parseManifest } from '../manifest.ts';
import { END_OF_ARCHIVE, encodeHeader, padding } from '../tar/tar.ts';
import { imageMember, type MemberDigest, requiredMembers, signatureFile } from './format.ts';

/**
 * One member to write: its path in the archive and its bytes (in memory or a file).
 *
 * @example
 * const members: ArchiveMember[] = [{ path: 'manifest.json', data: JSON.stringify(manifest) }, { path: 'LICENSE', file: 'LICENSE' }];
 */
export interface ArchiveMember {
  path: string;
  data?: Buffer | string;
  file?: string;
}

/**
 * Writes members and then a `SIGNATURE` over them into a tar at `out`, with no checks of
 * which members these are: the building block of {@link packHpk}, and the way tests make
 * packages that break the format on purpose. The archive is written beside `out` and
 * renamed into place when complete. Deterministic: the same members and key give the
 * same bytes (ed25519 signatures are deterministic).
 *
 * @example
 * await writeSignedArchive('odd.hpk', [{ path: 'manifest.json', data: '{}' }], key);
 */
export async function writeSignedArchive(
  out: string,
  members: readonly ArchiveMember[],
  key: SigningKey | null,
): Promise<{ size: number; members: MemberDigest[] }> {
  const partial = `${out}.partial-${crypto.randomBytes(4).toString('hex')}`;
  const handle = await fs.open(partial, 'wx', 0o644);
  const digests: MemberDigest[] = [];
  let size = 0;
  const write = async (buf: Buffer) => {
    await handle.write(buf);
    size += buf.length;
  };
  try {
    for (const m of members) digests.push(await writeMember(write, m));
    const signature = signatureFile(digests, key);
    await writeMember(write, { path: 'SIGNATURE', data: signature });
    await write(END_OF_ARCHIVE);
    await handle.sync();
    await handle.close();
    await fs.rename(partial, out);
  } catch (e) {
    await handle.close().catch(() => {});
    await fs.rm(partial, { force: true });
    throw e;
  }
  return { size, members: digests };
}

async function writeMember(write: (b: Buffer) => Promise<void>, m: ArchiveMember): Promise<MemberDigest> {
  const hash = crypto.createHash('sha256');
  let size: number;
  if (m.file !== undefined) {
    const fh = await fs.open(m.file, 'r');
    try {
      size = (await fh.stat()).size;
      await write(encodeHeader({ path: m.path, type: 'file', size }));
      let done = 0;
      for await (const chunk of fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false })) {
        const buf = chunk as Buffer;
        done += buf.length;
        if (done > size) break;
        hash.update(buf);
        await write(buf);
      }
      // The header already promised `size` bytes: a file that changed under us fails the pack.
      if (done !== size) throw new PackFailed(`${m.file} changed while it was being packed`);
    } finally {
      await fh.close();
    }
  } else {
    const data = typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : (m.data ?? Buffer.alloc(0));
    size = data.length;
    hash.update(data);
    await write(encodeHeader({ path: m.path, type: 'file', size }));
    await write(data);
  }
  await write(Buffer.alloc(padding(size)));
  return { path: m.path, size, sha256: hash.digest('hex') };
}

/**
 * The files of a package, as `hearth-sdk pack` gathered them.
 *
 * @example
 * const options: PackHpkOptions = { out: 'app.hpk', manifest, code, icon: 'icon.svg', license: 'LICENSE', instructions: 'instructions.md', images, key };
 */
export interface PackHpkOptions {
  out: string;
  manifest: Manifest | ManifestInput;
  /** The bundled package code (`code/index.js`). */
  code: string;
  /** `icon.png` or `icon.svg`: its name must match `manifest.icon`. */
  icon: string;
  license: string;
  instructions: string;
  images: readonly { name: string; arch: Architecture; file: string }[];
  /** `null` packs an unsigned package (boxes accept it only with an explicit override). */
  key: SigningKey | null;
}

const SQUASHFS_MAGIC = Buffer.from('hsqs');

/**
 * Writes a signed `.hpk` after checking that the manifest is valid and that the files
 * are exactly the members it calls for (one squashfs per image and architecture).
 *
 * @example
 * await packHpk({
 *   out: 'hello-world-1.0.0.hpk', manifest, code: 'out/index.js', icon: 'icon.svg', license: 'LICENSE',
 *   instructions: 'instructions.md', images: [{ name: 'main', arch: 'x86_64', file: 'out/main.squashfs' }],
 *   key: await loadSigningKey('signing.key'),
 * });
 */
export async function packHpk(
  options: PackHpkOptions,
): Promise<{ file: string; size: number; members: MemberDigest[] }> {
  const manifest = parseManifest(options.manifest, 'manifest');
  if (path.basename(options.icon) !== manifest.icon) {
    throw new PackFailed(`the icon is ${path.basename(options.icon)} but the manifest says ${manifest.icon}`);
  }
  const images = new Map(options.images.map((i) => [imageMember(i.arch, i.name), i.file]));
  const wanted = requiredMembers(manifest).filter((m) => m.startsWith('images/'));
  for (const member of wanted) {
    if (!images.has(member)) throw new PackFailed(`no file for ${member}, which the manifest calls for`);
  }
  for (const member of images.keys()) {
    if (!wanted.includes(member)) throw new PackFailed(`${member} is not among the manifest's images`);
  }
  for (const [member, file] of images) {
    const fh = await fs.open(file, 'r');
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0).finally(() => fh.close());
    if (!head.equals(SQUASHFS_MAGIC)) throw new PackFailed(`${file} (for ${member}) is not a squashfs image`);
  }
  const members: ArchiveMember[] = [
    { path: 'manifest.json', data: `${JSON.stringify(manifest, null, 2)}\n` },
    { path: 'LICENSE', file: options.license },
    { path: manifest.icon, file: options.icon },
    { path: 'instructions.md', file: options.instructions },
    { path: 'code/index.js', file: options.code },
    ...wanted.map((member) => ({ path: member, file: images.get(member)! })),
  ];
  const { size, members: digests } = await writeSignedArchive(options.out, members, options.key);
  return { file: options.out, size, members: digests };
}
