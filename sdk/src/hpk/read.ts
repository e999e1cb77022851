import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SdkError } from '../errors.ts';
import { normalizePublicKey, parsePublicKey } from '../keys.ts';
import { type Architecture, type Manifest, safeParseManifest } from '../manifest.ts';
import { readTar, type TarEntry, TarFormatError } from '../tar/tar.ts';
import {
  HpkAbsolutePath,
  HpkBadSignature,
  HpkCorrupt,
  HpkDuplicateMember,
  type HpkError,
  HpkHardlink,
  HpkHardlinkEscape,
  HpkInvalidManifest,
  HpkMemberTooLarge,
  HpkMissingArchitecture,
  HpkMissingMember,
  HpkPathTraversal,
  HpkSpecialFile,
  HpkSymlink,
  HpkTamperedMember,
  HpkTooLarge,
  HpkTruncated,
  HpkUnexpectedMember,
  HpkUnknownSigner,
  HpkUnsigned,
  HpkUnsignedMember,
  HpkUnsupportedEntry,
} from './errors.ts';
import {
  canonicalText,
  classifyMember,
  DEFAULT_LIMITS,
  formatBytes,
  type HpkLimits,
  isCanonicalOrder,
  MAX_MEMBERS,
  type MemberDigest,
  type MemberKind,
  memberCap,
  requiredMembers,
  signatureFileSchema,
  TOLERATED_DIRECTORIES,
} from './format.ts';

/**
 * What a box trusts and allows when it reads a package.
 *
 * @example
 * await readHpk(file, { trustedSigners: settings.trustedSigners, allowUntrusted: false, arch: 'x86_64' });
 */
export interface ReadHpkOptions {
  /** Base64 public keys whose signatures this box accepts. */
  trustedSigners?: readonly string[];
  /** Accept an unsigned package or an unknown signer (the owner's explicit override). */
  allowUntrusted?: boolean;
  /** The box's architecture: refuse a package without images for it, unpack only its images. */
  arch?: Architecture;
  maxMemberBytes?: number;
  maxTotalBytes?: number;
}

/**
 * A package whose every member was hashed and checked against its signed list.
 *
 * @example
 * const pkg: VerifiedHpk = await readHpk(file, { trustedSigners });
 * if (pkg.signer && !pkg.signer.trusted) warn(`installing a package from ${pkg.signer.publicKey}`);
 */
export interface VerifiedHpk {
  file: string;
  fileSize: number;
  manifest: Manifest;
  /** `null` for an unsigned package (accepted only with `allowUntrusted`). */
  signer: { publicKey: string; trusted: boolean } | null;
  members: ReadonlyMap<string, MemberDigest>;
  arch: Architecture | undefined;
  limits: HpkLimits;
}

/** How the pass treats one regular member: hash it, or skip its bytes. */
type Visit = (entry: TarEntry, kind: MemberKind) => Promise<void>;

const KEEP_IN_MEMORY = new Set(['manifest.json', 'SIGNATURE']);

function escapes(target: string): boolean {
  return target.startsWith('/') || target.split('/').includes('..');
}

/** The structural checks every entry passes before a byte of its data is read. */
function checkEntry(entry: TarEntry): MemberKind | null {
  const p = entry.path;
  const member = p;
  if (p.startsWith('/')) throw new HpkAbsolutePath(`member '${p}' has an absolute path`, { member });
  if (p.split('/').includes('..'))
    throw new HpkPathTraversal(`member '${p}' climbs out of the package with '..'`, { member });
  switch (entry.type) {
    case 'symlink':
      throw new HpkSymlink(
        `member '${p}' is a symbolic link (to '${entry.linkpath}')${escapes(entry.linkpath) ? ', pointing outside the package' : ''}; packages hold regular files only`,
        { member },
      );
    case 'hardlink':
      if (escapes(entry.linkpath)) {
        throw new HpkHardlinkEscape(
          `member '${p}' is a hard link to '${entry.linkpath}', outside the package`,
          { member },
        );
      }
      throw new HpkHardlink(
        `member '${p}' is a hard link (to '${entry.linkpath}'); packages hold regular files only`,
        {
          member,
        },
      );
    case 'character-device':
    case 'block-device':
    case 'fifo':
      throw new HpkSpecialFile(
        `member '${p}' is a ${entry.type.replace('-', ' ')}; packages hold regular files only`,
        {
          member,
        },
      );
    case 'directory':
      if (TOLERATED_DIRECTORIES.has(p.replace(/\/$/, ''))) return null;
      throw new HpkUnexpectedMember(`directory '${p}' is not part of the package format`, { member });
    case 'file': {
      const kind = classifyMember(p);
      if (!kind) throw new HpkUnexpectedMember(`member '${p}' is not part of the package format`, { member });
      return kind;
    }
  }
}

function tarError(e: TarFormatError): HpkError {
  const where = e.path ? ` (at '${e.path}')` : ` (at byte ${e.offset})`;
  const options = e.path ? { member: e.path } : {};
  if (e.kind === 'truncated')
    return new HpkTruncated(`the package file is truncated: ${e.message}${where}`, options);
  if (e.kind === 'unsupported') return new HpkUnsupportedEntry(`${e.message}${where}`, options);
  return new HpkCorrupt(`the package is not a valid archive: ${e.message}${where}`, options);
}

/**
 * One pass over the archive: every entry is checked before its data is read, every
 * regular member goes to `visit`. The total size is checked from the file's size first.
 */
async function walk(handle: fs.FileHandle, fileSize: number, limits: HpkLimits, visit: Visit): Promise<void> {
  if (fileSize > limits.maxTotalBytes) {
    throw new HpkTooLarge(
      `the package is ${formatBytes(fileSize)}, more than the ${formatBytes(limits.maxTotalBytes)} allowed`,
    );
  }
  const seen = new Set<string>();
  const stream = handle.createReadStream({ start: 0, highWaterMark: 1024 * 1024, autoClose: false });
  try {
    for await (const entry of readTar(stream, { strict: true, maxHeaderBytes: 64 * 1024 })) {
      const kind = checkEntry(entry);
      if (!kind) continue;
      const member = entry.path;
      if (seen.has(member)) throw new HpkDuplicateMember(`member '${member}' appears twice`, { member });
      seen.add(member);
      if (seen.size > MAX_MEMBERS)
        throw new HpkTooLarge(`the package has more than ${MAX_MEMBERS} members`, { member });
      const cap = Math.min(memberCap(kind), limits.maxMemberBytes);
      if (entry.size > cap) {
        throw new HpkMemberTooLarge(
          `member '${member}' is ${formatBytes(entry.size)}, more than the ${formatBytes(cap)} allowed`,
          {
            member,
          },
        );
      }
      if (entry.dataOffset + entry.size > fileSize) {
        throw new HpkTruncated(
          `the package file is truncated: member '${member}' ends past the end of the file`,
          { member },
        );
      }
      await visit(entry, kind);
    }
  } catch (e) {
    if (e instanceof TarFormatError) throw tarError(e);
    throw e;
  } finally {
    stream.destroy();
  }
}

async function hashBody(entry: TarEntry, sink?: (chunk: Buffer) => Promise<void>): Promise<MemberDigest> {
  const hash = crypto.createHash('sha256');
  let size = 0;
  for await (const chunk of entry.body()) {
    hash.update(chunk);
    size += chunk.length;
    if (sink) await sink(chunk);
  }
  return { path: entry.path, size, sha256: hash.digest('hex') };
}

function limitsOf(options: ReadHpkOptions): HpkLimits {
  return {
    maxMemberBytes: options.maxMemberBytes ?? DEFAULT_LIMITS.maxMemberBytes,
    maxTotalBytes: options.maxTotalBytes ?? DEFAULT_LIMITS.maxTotalBytes,
  };
}

function checkSignature(
  raw: Buffer | undefined,
  digests: ReadonlyMap<string, MemberDigest>,
  options: ReadHpkOptions,
): VerifiedHpk['signer'] {
  if (!raw) throw new HpkMissingMember('the package has no SIGNATURE member', { member: 'SIGNATURE' });
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new HpkBadSignature('SIGNATURE is not JSON', { member: 'SIGNATURE' });
  }
  const parsed = signatureFileSchema.safeParse(json);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new HpkBadSignature(
      `SIGNATURE is malformed (${first?.path.join('.') || 'top level'}: ${first?.message})`,
      {
        member: 'SIGNATURE',
      },
    );
  }
  const sig = parsed.data;
  if (!isCanonicalOrder(sig.members)) {
    throw new HpkBadSignature('SIGNATURE lists its members out of order or twice', { member: 'SIGNATURE' });
  }
  if (sig.members.some((m) => m.path === 'SIGNATURE')) {
    throw new HpkBadSignature('SIGNATURE lists itself', { member: 'SIGNATURE' });
  }
  if ((sig.publicKey === null) !== (sig.signature === null)) {
    throw new HpkBadSignature('SIGNATURE has a public key without a signature, or the reverse', {
      member: 'SIGNATURE',
    });
  }
  if (sig.publicKey !== null && sig.signature !== null) {
    let ok = false;
    try {
      ok = crypto.verify(
        null,
        Buffer.from(canonicalText(sig.members)),
        parsePublicKey(sig.publicKey),
        Buffer.from(sig.signature, 'base64'),
      );
    } catch {
      ok = false;
    }
    if (!ok) {
      throw new HpkBadSignature(
        `the signature in SIGNATURE does not match its member list (signer ${sig.publicKey})`,
        {
          member: 'SIGNATURE',
        },
      );
    }
  }

  // The list is authentic (or unsigned); now the members must be exactly what it says.
  for (const listed of sig.members) {
    const actual = digests.get(listed.path);
    if (!actual) {
      throw new HpkMissingMember(`member '${listed.path}' is listed in SIGNATURE but not in the package`, {
        member: listed.path,
      });
    }
    if (actual.size !== listed.size) {
      throw new HpkTamperedMember(
        `member '${listed.path}' is ${actual.size} bytes but was signed as ${listed.size} bytes`,
        { member: listed.path },
      );
    }
    if (actual.sha256 !== listed.sha256) {
      throw new HpkTamperedMember(`member '${listed.path}' does not match its signed SHA-256`, {
        member: listed.path,
      });
    }
  }
  const listedPaths = new Set(sig.members.map((m) => m.path));
  for (const member of digests.keys()) {
    if (member !== 'SIGNATURE' && !listedPaths.has(member)) {
      throw new HpkUnsignedMember(`member '${member}' is not covered by the signature`, { member });
    }
  }

  if (sig.publicKey === null) {
    if (!options.allowUntrusted) throw new HpkUnsigned('the package is not signed');
    return null;
  }
  const trusted = (options.trustedSigners ?? []).map(normalizePublicKey).includes(sig.publicKey);
  if (!trusted && !options.allowUntrusted) {
    throw new HpkUnknownSigner(`the package is signed by ${sig.publicKey}, which is not a trusted signer`, {
      data: { signer: sig.publicKey },
    });
  }
  return { publicKey: sig.publicKey, trusted };
}

function checkManifest(raw: Buffer | undefined): Manifest {
  if (!raw) throw new HpkMissingMember('the package has no manifest.json', { member: 'manifest.json' });
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new HpkInvalidManifest(`manifest.json is not JSON: ${(e as Error).message}`);
  }
  const r = safeParseManifest(json);
  if (!r.ok)
    throw new HpkInvalidManifest(`manifest.json is invalid: ${r.issues.slice(0, 8).join('; ')}`, {
      data: { issues: r.issues },
    });
  return r.manifest;
}

function checkMembers(manifest: Manifest, present: Iterable<string>, arch: Architecture | undefined): void {
  if (arch && !manifest.architectures.includes(arch)) {
    throw new HpkMissingArchitecture(
      `${manifest.id} ${manifest.version} has no build for ${arch} (only ${manifest.architectures.join(', ')})`,
    );
  }
  const required = requiredMembers(manifest);
  const have = new Set(present);
  for (const member of required) {
    if (!have.has(member))
      throw new HpkMissingMember(`the package has no '${member}', which its manifest requires`, { member });
  }
  const expected = new Set([...required, 'SIGNATURE']);
  for (const member of have) {
    if (!expected.has(member)) {
      throw new HpkUnexpectedMember(`member '${member}' is not called for by the manifest`, { member });
    }
  }
}

/**
 * Verifies an `.hpk` without unpacking anything: one streaming pass checks every entry's
 * structure and hashes every member, then the signature, the digests, the signer, the
 * manifest and the member set are checked. Throws an {@link HpkError} subclass with its
 * own code for each kind of problem.
 *
 * @example
 * const pkg = await readHpk('/tmp/hello-world.hpk', { trustedSigners: ['q1ZPt0x…='], arch: 'x86_64' });
 * console.log(pkg.manifest.id, pkg.signer?.publicKey);
 * await unpackHpk(pkg, '/var/lib/hearth/packages/hello-world/1.0.0');
 */
export async function readHpk(file: string, options: ReadHpkOptions = {}): Promise<VerifiedHpk> {
  const limits = limitsOf(options);
  const handle = await openPackage(file);
  try {
    const { size: fileSize } = await handle.stat();
    const digests = new Map<string, MemberDigest>();
    const kept = new Map<string, Buffer>();
    await walk(handle, fileSize, limits, async (entry) => {
      const parts: Buffer[] = [];
      const keep = KEEP_IN_MEMORY.has(entry.path);
      const digest = await hashBody(entry, keep ? async (c) => void parts.push(Buffer.from(c)) : undefined);
      digests.set(entry.path, digest);
      if (keep) kept.set(entry.path, Buffer.concat(parts));
    });
    const signer = checkSignature(kept.get('SIGNATURE'), digests, options);
    const manifest = checkManifest(kept.get('manifest.json'));
    checkMembers(manifest, digests.keys(), options.arch);
    return { file, fileSize, manifest, signer, members: digests, arch: options.arch, limits };
  } finally {
    await handle.close();
  }
}

async function openPackage(file: string): Promise<fs.FileHandle> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new SdkError('file_not_found', `there is no file ${file}`, {
        hint: 'check the path: give the .hpk file hearth-sdk pack made',
      });
    throw new SdkError(
      'file_not_found',
      `cannot read ${file}: ${code === 'EACCES' ? 'permission denied' : (code ?? (e as Error).message)}`,
    );
  }
  try {
    await checkLooksLikePackage(handle, file);
    return handle;
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/**
 * Refuses at once, in plain words, what is no package at all — a directory, an empty
 * file, text — rather than as a truncated or corrupt one (which says "get it again").
 */
async function checkLooksLikePackage(handle: fs.FileHandle, file: string): Promise<void> {
  const stat = await handle.stat();
  const notAPackage = (why: string) =>
    new HpkCorrupt(`${file} is not a Hearth package: ${why}`, {
      hint: 'give the .hpk file hearth-sdk pack made',
    });
  if (stat.isDirectory()) throw notAPackage('it is a directory (hearth-sdk pack DIR makes a package of one)');
  if (!stat.isFile()) throw notAPackage('it is not a regular file');
  if (stat.size === 0) throw notAPackage('the file is empty');
  const head = Buffer.alloc(512);
  const { bytesRead } = await handle.read(head, 0, 512, 0);
  // Every .hpk is a tar archive: "ustar" at byte 257 of its first header.
  if (bytesRead === 512 && head.subarray(257, 262).toString('latin1') === 'ustar') return;
  const text = head
    .subarray(0, bytesRead)
    .every((b) => b === 9 || b === 10 || b === 13 || (b >= 32 && b !== 127));
  throw notAPackage(text ? 'it is a text file' : 'it is not the archive a package is');
}

/**
 * What {@link unpackHpk} produced.
 *
 * @example
 * const { dir, images } = await unpackHpk(pkg, target);
 * for (const image of images) await mountSquashfs(image.path);
 */
export interface UnpackedHpk {
  dir: string;
  manifest: Manifest;
  /** The unpacked images by name (for the verified architecture, or all when none was given). */
  images: { name: string; arch: Architecture; path: string }[];
}

/**
 * Unpacks a verified package into `dest` (which must not exist). It is written to a
 * staging directory beside `dest` and renamed into place only when every member was
 * written and matched its verified digest again (the file could have changed since
 * {@link readHpk}); on any failure the staging directory is removed and nothing is left.
 * With an architecture, only that architecture's images are unpacked.
 *
 * @example
 * const pkg = await readHpk(file, { trustedSigners, arch: 'arm64' });
 * const { images } = await unpackHpk(pkg, `/data/packages/${pkg.manifest.id}`);
 */
export async function unpackHpk(pkg: VerifiedHpk, dest: string): Promise<UnpackedHpk> {
  const target = path.resolve(dest);
  if (await exists(target)) throw new SdkError('destination_exists', `${target} already exists`);
  const parent = path.dirname(target);
  await fs.mkdir(parent, { recursive: true });
  const staging = await fs.mkdtemp(path.join(parent, `.${path.basename(target)}.staging-`));
  const wanted = (kind: MemberKind) => kind.kind !== 'image' || !pkg.arch || kind.arch === pkg.arch;
  try {
    const handle = await openPackage(pkg.file);
    const written = new Set<string>();
    try {
      const { size } = await handle.stat();
      if (size !== pkg.fileSize) {
        throw new HpkTamperedMember(
          `${pkg.file} changed since it was verified (${pkg.fileSize} → ${size} bytes)`,
        );
      }
      await walk(handle, size, pkg.limits, async (entry, kind) => {
        if (!wanted(kind)) return;
        const expected = pkg.members.get(entry.path);
        if (!expected) {
          throw new HpkUnsignedMember(`member '${entry.path}' appeared since the package was verified`, {
            member: entry.path,
          });
        }
        const out = path.join(staging, entry.path);
        await fs.mkdir(path.dirname(out), { recursive: true, mode: 0o755 });
        const fh = await fs.open(out, 'wx', 0o644);
        let digest: MemberDigest;
        try {
          digest = await hashBody(entry, async (chunk) => {
            await fh.write(chunk);
          });
        } finally {
          await fh.close();
        }
        if (digest.size !== expected.size || digest.sha256 !== expected.sha256) {
          throw new HpkTamperedMember(`member '${entry.path}' changed since the package was verified`, {
            member: entry.path,
          });
        }
        written.add(entry.path);
      });
    } finally {
      await handle.close();
    }
    for (const [member] of pkg.members) {
      const kind = classifyMember(member);
      if (kind && wanted(kind) && !written.has(member)) {
        throw new HpkMissingMember(`member '${member}' disappeared since the package was verified`, {
          member,
        });
      }
    }
    // mkdtemp made it 0700; an unpacked package holds nothing secret.
    await fs.chmod(staging, 0o755);
    await fs.rename(staging, target);
  } catch (e) {
    await fs.rm(staging, { recursive: true, force: true });
    throw e;
  }
  const images = pkg.manifest.images.flatMap((img) =>
    img.architectures
      .filter((a) => !pkg.arch || a === pkg.arch)
      .map((a) => ({
        name: img.name,
        arch: a,
        path: path.join(target, 'images', a, `${img.name}.squashfs`),
      })),
  );
  return { dir: target, manifest: pkg.manifest, images };
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
