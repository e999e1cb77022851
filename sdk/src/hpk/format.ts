import crypto from 'node:crypto';
import { z } from 'zod';
import type { SigningKey } from '../keys.ts';
import { ARCHITECTURES, type Architecture, type Manifest } from '../manifest.ts';

/**
 * The `.hpk` format, version 1: which members exist, the canonical text that is signed,
 * and the `SIGNATURE` member. `docs/package-format.md` is the prose of this file.
 *
 * @example
 * JSON.parse(signatureText).format === HPK_FORMAT
 */
export const HPK_FORMAT = 'hpk-v1';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/**
 * Size limits a box applies when it reads a package.
 *
 * @example
 * await readHpk(file, { maxMemberBytes: 2 * 1024 ** 3, maxTotalBytes: 8 * 1024 ** 3 });
 */
export interface HpkLimits {
  /** The largest member accepted (an image, in practice). */
  maxMemberBytes: number;
  /** The largest package accepted: the file, and the sum of its members. */
  maxTotalBytes: number;
}

/**
 * The limits {@link readHpk} applies unless told otherwise: 4 GiB per member, 16 GiB in all.
 *
 * @example
 * const limits: HpkLimits = { ...DEFAULT_LIMITS, maxTotalBytes: 32 * 1024 ** 3 };
 */
export const DEFAULT_LIMITS: HpkLimits = { maxMemberBytes: 4 * GiB, maxTotalBytes: 16 * GiB };

/** More members than any valid package can have (a few files plus images per architecture). */
export const MAX_MEMBERS = 256;

/** What a member is, from its path. */
export type MemberKind =
  | { kind: 'manifest' }
  | { kind: 'signature' }
  | { kind: 'license' }
  | { kind: 'instructions' }
  | { kind: 'icon'; ext: 'png' | 'svg' }
  | { kind: 'code' }
  | { kind: 'image'; arch: Architecture; image: string };

const IMAGE_RE = new RegExp(`^images/(${ARCHITECTURES.join('|')})/([a-z][a-z0-9-]{0,62})\\.squashfs$`);

/** Directory entries a tar tool may add; tolerated, ignored, never signed. */
export const TOLERATED_DIRECTORIES = new Set(['code', 'images', ...ARCHITECTURES.map((a) => `images/${a}`)]);

/**
 * Classifies a member path; `null` for any path the format does not have.
 *
 * @example
 * classifyMember('images/arm64/main.squashfs'); // { kind: 'image', arch: 'arm64', image: 'main' }
 * classifyMember('code/../x'); // null
 */
export function classifyMember(path: string): MemberKind | null {
  switch (path) {
    case 'manifest.json':
      return { kind: 'manifest' };
    case 'SIGNATURE':
      return { kind: 'signature' };
    case 'LICENSE':
      return { kind: 'license' };
    case 'instructions.md':
      return { kind: 'instructions' };
    case 'icon.png':
      return { kind: 'icon', ext: 'png' };
    case 'icon.svg':
      return { kind: 'icon', ext: 'svg' };
    case 'code/index.js':
      return { kind: 'code' };
  }
  const m = IMAGE_RE.exec(path);
  return m ? { kind: 'image', arch: m[1] as Architecture, image: m[2]! } : null;
}

/** The fixed size cap of each member kind (the caller's `maxMemberBytes` applies on top). */
export function memberCap(kind: MemberKind): number {
  switch (kind.kind) {
    case 'manifest':
    case 'signature':
    case 'license':
    case 'instructions':
      return MiB;
    case 'icon':
      return MiB;
    case 'code':
      return 64 * MiB;
    case 'image':
      return Number.MAX_SAFE_INTEGER;
  }
}

/** The path of an image member. */
export const imageMember = (arch: Architecture, image: string): string => `images/${arch}/${image}.squashfs`;

/**
 * Every member a package with this manifest must have (besides `SIGNATURE`), in the
 * order `pack` writes them.
 *
 * @example
 * requiredMembers(manifest); // ['manifest.json', 'LICENSE', 'icon.svg', 'instructions.md', 'code/index.js', 'images/x86_64/main.squashfs', …]
 */
export function requiredMembers(manifest: Manifest): string[] {
  const images = manifest.images
    .flatMap((img) => img.architectures.map((a) => imageMember(a, img.name)))
    .sort();
  return ['manifest.json', 'LICENSE', manifest.icon, 'instructions.md', 'code/index.js', ...images];
}

/**
 * One line of the canonical text: a member's path, size and SHA-256.
 *
 * @example
 * const line: MemberDigest = { path: 'LICENSE', size: 1078, sha256: '9323d7…' };
 */
export interface MemberDigest {
  path: string;
  size: number;
  sha256: string;
}

const byPath = (a: MemberDigest, b: MemberDigest) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

/**
 * The text a package signature covers: `hpk-v1\n`, then one `<path>\t<size>\t<sha256>\n`
 * line per member except `SIGNATURE`, sorted by the bytes of the path.
 *
 * @example
 * canonicalText([{ path: 'LICENSE', size: 1071, sha256: 'ab…' }]); // 'hpk-v1\nLICENSE\t1071\tab…\n'
 */
export function canonicalText(members: readonly MemberDigest[]): string {
  const lines = [...members].sort(byPath).map((m) => `${m.path}\t${m.size}\t${m.sha256}\n`);
  return `${HPK_FORMAT}\n${lines.join('')}`;
}

/** The JSON in `SIGNATURE`. `publicKey` and `signature` are null in an unsigned package. */
export const signatureFileSchema = z.strictObject({
  format: z.literal(HPK_FORMAT),
  publicKey: z.string().nullable(),
  signature: z.string().nullable(),
  members: z
    .array(
      z.strictObject({
        path: z.string().min(1).max(255),
        size: z.int().min(0),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
      }),
    )
    .max(MAX_MEMBERS),
});
/**
 * The parsed `SIGNATURE` member.
 *
 * @example
 * const sig: SignatureFile = signatureFileSchema.parse(JSON.parse(text));
 * console.log(sig.publicKey, sig.members.length);
 */
export type SignatureFile = z.output<typeof signatureFileSchema>;

/**
 * Builds the `SIGNATURE` member for these member digests; unsigned when `key` is null.
 *
 * @example
 * const text = signatureFile(digests, await loadSigningKey('key.pem'));
 */
export function signatureFile(members: readonly MemberDigest[], key: SigningKey | null): string {
  const sorted = [...members].sort(byPath);
  const signature = key
    ? crypto.sign(null, Buffer.from(canonicalText(sorted)), key.privateKey).toString('base64')
    : null;
  const file: SignatureFile = {
    format: HPK_FORMAT,
    publicKey: key ? key.publicKey : null,
    signature,
    members: sorted.map(({ path, size, sha256 }) => ({ path, size, sha256 })),
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Whether the member list is sorted and free of duplicates, as `signatureFile` writes it. */
export function isCanonicalOrder(members: readonly MemberDigest[]): boolean {
  return members.every((m, i) => i === 0 || byPath(members[i - 1]!, m) < 0);
}

/** Human sizes for messages: `4 GiB`, `12.5 MiB`, `300 B`. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}
