/**
 * `@hearth/sdk/tools`: building and checking packages — `.hpk` read/write, keys, image
 * builders, packing a package directory, the CLI. Not for package code (it pulls in
 * esbuild and child processes): `hearth-sdk pack` refuses it in a package bundle.
 */
export { describeSdkError, runSdkCli, type SdkCliOptions } from './cli.ts';
export { ImageInvalid, KeyInvalid, ManifestInvalid, PackFailed, SdkError, UsageError } from './errors.ts';
export * from './hpk/errors.ts';
export {
  canonicalText,
  classifyMember,
  DEFAULT_LIMITS,
  HPK_FORMAT,
  type HpkLimits,
  type MemberDigest,
  requiredMembers,
  type SignatureFile,
} from './hpk/format.ts';
export { type ArchiveMember, type PackHpkOptions, packHpk, writeSignedArchive } from './hpk/pack.ts';
export { type ReadHpkOptions, readHpk, type UnpackedHpk, unpackHpk, type VerifiedHpk } from './hpk/read.ts';
export {
  type BuiltImage,
  buildImages,
  type ImageSource,
  type ImagesConfig,
  readImagesConfig,
} from './images/build.ts';
export { type DebianSource, squashfsFromDebian } from './images/debian.ts';
export { flattenImage, resolveImage, squashfsFromOci } from './images/oci.ts';
export { type Compression, squashfsFromDir, squashfsFromTar } from './images/squashfs.ts';
export {
  keygen,
  loadSigningKey,
  normalizePublicKey,
  parsePublicKey,
  publicKeyToBase64,
  type SigningKey,
} from './keys.ts';
export { type PackDirOptions, type PackDirResult, packDir } from './pack/pack-dir.ts';
export { CommandFailed, CommandNotFound, run } from './run.ts';
