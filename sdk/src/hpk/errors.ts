import { SdkError, type SdkErrorOptions } from '../errors.ts';

/**
 * Why an `.hpk` was refused. Each problem has its own class and stable `code`; the
 * message names the problem and the member. `docs/package-format.md` lists them all.
 *
 * @example
 * throw new HpkMissingMember("the package has no 'LICENSE'", { member: 'LICENSE' });
 */
export interface HpkErrorOptions extends SdkErrorOptions {
  /** The member at fault, when there is one. */
  member?: string | undefined;
}

/**
 * Base class of every refusal of an `.hpk`.
 *
 * @example
 * try { await readHpk(file, { trustedSigners }); }
 * catch (e) { if (e instanceof HpkError) console.error(e.code, e.member, e.message); }
 */
export class HpkError extends SdkError {
  readonly member: string | undefined;

  constructor(code: string, message: string, options: HpkErrorOptions = {}) {
    super(code, message, {
      ...options,
      data: { ...(options.member !== undefined ? { member: options.member } : {}), ...options.data },
    });
    this.member = options.member;
  }
}

const GET_AGAIN = 'the file is damaged or was changed: get the package again from its source';
const NOT_A_PACKAGE = 'this is not a package hearth-sdk pack made; do not install it';

/** @example throw new HpkTamperedMember('code/index.js does not match its signed digest', { member: 'code/index.js' }); */
export class HpkTamperedMember extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_tampered_member', message, { hint: GET_AGAIN, ...options });
  }
}

/** @example throw new HpkBadSignature('the signature does not match the member list'); */
export class HpkBadSignature extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_bad_signature', message, { hint: GET_AGAIN, ...options });
  }
}

/** @example throw new HpkUnknownSigner('signed by AbC…=, which is not a trusted signer'); */
export class HpkUnknownSigner extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_unknown_signer', message, {
      hint: 'add the signer to the trusted signers if you trust its author, or allow untrusted packages for this install',
      ...options,
    });
  }
}

/** @example throw new HpkUnsigned('the package is not signed'); */
export class HpkUnsigned extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_unsigned', message, {
      hint: 'allow untrusted packages for this install if you built it yourself',
      ...options,
    });
  }
}

/**
 * A member that is in the archive but not in the signed member list.
 *
 * @example
 * throw new HpkUnsignedMember("member 'icon.png' is not covered by the signature", { member: 'icon.png' });
 */
export class HpkUnsignedMember extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_unsigned_member', message, { hint: GET_AGAIN, ...options });
  }
}

/** @example throw new HpkPathTraversal("member '../etc/passwd' climbs out of the package", { member: '../etc/passwd' }); */
export class HpkPathTraversal extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_path_traversal', message, { hint: NOT_A_PACKAGE, ...options });
  }
}

/** @example throw new HpkAbsolutePath("member '/etc/passwd' has an absolute path", { member: '/etc/passwd' }); */
export class HpkAbsolutePath extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_absolute_path', message, { hint: NOT_A_PACKAGE, ...options });
  }
}

/** @example throw new HpkSymlink("member 'code/index.js' is a symbolic link", { member: 'code/index.js' }); */
export class HpkSymlink extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_symlink', message, { hint: 'packages hold regular files only', ...options });
  }
}

/**
 * A hard link inside the package (refused: packages hold regular files only).
 *
 * @example
 * throw new HpkHardlink("member 'LICENSE' is a hard link", { member: 'LICENSE' });
 */
export class HpkHardlink extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_hardlink', message, { hint: 'packages hold regular files only', ...options });
  }
}

/**
 * A hard link whose target lies outside the package (absolute or climbing with `..`).
 *
 * @example
 * throw new HpkHardlinkEscape("member 'LICENSE' is a hard link to '../../etc/shadow'", { member: 'LICENSE' });
 */
export class HpkHardlinkEscape extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_hardlink_escape', message, { hint: NOT_A_PACKAGE, ...options });
  }
}

/**
 * A device node or fifo.
 *
 * @example
 * throw new HpkSpecialFile("member 'instructions.md' is a fifo", { member: 'instructions.md' });
 */
export class HpkSpecialFile extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_special_file', message, { hint: NOT_A_PACKAGE, ...options });
  }
}

/** @example throw new HpkMemberTooLarge('images/x86_64/main.squashfs is 5 GiB, more than the 4 GiB allowed'); */
export class HpkMemberTooLarge extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_member_too_large', message, {
      hint: 'raise the member size limit if you expect a package this big',
      ...options,
    });
  }
}

/** @example throw new HpkTooLarge('the package is 20 GiB, more than the 16 GiB allowed'); */
export class HpkTooLarge extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_too_large', message, {
      hint: 'raise the package size limit if you expect a package this big',
      ...options,
    });
  }
}

/**
 * The package has no image for the box's architecture.
 *
 * @example
 * throw new HpkMissingArchitecture('hello-world 1.0.0 has no build for arm64 (only x86_64)');
 */
export class HpkMissingArchitecture extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_missing_architecture', message, {
      hint: 'ask the package author for a build for this architecture',
      ...options,
    });
  }
}

/**
 * `manifest.json` is not JSON or breaks the manifest schema; the message names the fields.
 *
 * @example
 * throw new HpkInvalidManifest('manifest.json is invalid: version: must be a semantic version such as 1.2.3');
 */
export class HpkInvalidManifest extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_invalid_manifest', message, { member: 'manifest.json', ...options });
  }
}

/**
 * The file ends in the middle of the archive.
 *
 * @example
 * throw new HpkTruncated('the package file is truncated', { member: 'images/x86_64/main.squashfs' });
 */
export class HpkTruncated extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_truncated', message, {
      hint: 'the download was cut short: get the package again',
      ...options,
    });
  }
}

/**
 * The archive is not a well-formed tar (bad checksums, malformed pax, data after the end).
 *
 * @example
 * throw new HpkCorrupt('the package is not a valid archive: bad tar header checksum (at byte 1536)');
 */
export class HpkCorrupt extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_corrupt', message, { hint: GET_AGAIN, ...options });
  }
}

/**
 * A tar feature packages may not use (GNU long names, global pax headers, unknown entry types).
 *
 * @example
 * throw new HpkUnsupportedEntry('GNU long-name entries are not allowed (use pax)');
 */
export class HpkUnsupportedEntry extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_unsupported_entry', message, { hint: NOT_A_PACKAGE, ...options });
  }
}

/** @example throw new HpkDuplicateMember("member 'manifest.json' appears twice", { member: 'manifest.json' }); */
export class HpkDuplicateMember extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_duplicate_member', message, { hint: NOT_A_PACKAGE, ...options });
  }
}

/**
 * A member the format does not have, or that the manifest does not call for.
 *
 * @example
 * throw new HpkUnexpectedMember("member 'postinst.sh' is not part of the package format", { member: 'postinst.sh' });
 */
export class HpkUnexpectedMember extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_unexpected_member', message, { hint: NOT_A_PACKAGE, ...options });
  }
}

/**
 * A member the format or the manifest requires is absent.
 *
 * @example
 * throw new HpkMissingMember("the package has no 'instructions.md', which its manifest requires", { member: 'instructions.md' });
 */
export class HpkMissingMember extends HpkError {
  constructor(message: string, options: HpkErrorOptions = {}) {
    super('hpk_missing_member', message, { hint: GET_AGAIN, ...options });
  }
}
