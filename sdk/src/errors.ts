/**
 * The SDK's error hierarchy. Every error a package author or the box may see is an
 * {@link SdkError} with a stable `code`, a message a person can act on and, where there
 * is one, a `hint`. The SDK does not import core: core maps these to its own errors by
 * `code`. Never compare messages, compare codes (or classes).
 *
 * @example
 * throw new SdkError('not_ready', 'the package is still starting', { hint: 'try again in a minute' });
 */
export interface SdkErrorOptions {
  hint?: string | undefined;
  cause?: unknown;
  /** Extra machine-readable facts, safe to show. */
  data?: Record<string, unknown>;
}

/**
 * Base class of every error the SDK throws on purpose.
 *
 * @example
 * try {
 *   await readHpk('app.hpk', { trustedSigners: [key] });
 * } catch (e) {
 *   if (e instanceof SdkError) console.error(`${e.code}: ${e.message}`, e.hint ?? '');
 *   else throw e;
 * }
 */
export class SdkError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: SdkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.data = options.data;
  }
}

/**
 * A manifest or package definition that breaks the schema; the message names every
 * field at fault (`interfaces[0].port: must be between 1 and 65535`).
 *
 * @example
 * const result = safeParseManifest(json);
 * if (!result.ok) throw new ManifestInvalid(result.issues);
 */
export class ManifestInvalid extends SdkError {
  readonly issues: string[];

  constructor(issues: string[], options: SdkErrorOptions & { source?: string } = {}) {
    const where = options.source ? `${options.source}: ` : '';
    const shown = issues.slice(0, 8).join('; ');
    const more = issues.length > 8 ? ` (and ${issues.length - 8} more)` : '';
    super('manifest_invalid', `${where}${shown}${more}`, { ...options, data: { issues } });
    this.issues = issues;
  }
}

/**
 * A key that cannot be read or used: a private key file that is not an ed25519 PEM key,
 * or a public key that is not the base64 of 32 raw bytes.
 *
 * @example
 * throw new KeyInvalid('key.pem is not an ed25519 private key', { hint: 'create one with hearth-sdk keygen' });
 */
export class KeyInvalid extends SdkError {
  constructor(message: string, options: SdkErrorOptions = {}) {
    super('key_invalid', message, options);
  }
}

/**
 * An image source (root directory, OCI image, Debian recipe) that cannot be turned into
 * a squashfs root: a missing directory, a malformed OCI layout, a digest mismatch, an
 * image for another architecture.
 *
 * @example
 * throw new ImageInvalid('image.tar holds an arm64 image, not x86_64');
 */
export class ImageInvalid extends SdkError {
  constructor(message: string, options: SdkErrorOptions = {}) {
    super('image_invalid', message, options);
  }
}

/**
 * A package directory that `pack` cannot build: no definition entry, a definition that
 * does not export a package, a missing LICENSE or icon, code that fails to bundle.
 *
 * @example
 * throw new PackFailed('no hearth.package.ts in ./my-app', { hint: 'run hearth-sdk init ./my-app' });
 */
export class PackFailed extends SdkError {
  constructor(message: string, options: SdkErrorOptions = {}) {
    super('pack_failed', message, options);
  }
}

/**
 * Wrong use of the `hearth-sdk` command line (unknown command, missing argument).
 *
 * @example
 * throw new UsageError('pack needs --key <file> (or --unsigned)');
 */
export class UsageError extends SdkError {
  constructor(message: string, options: SdkErrorOptions = {}) {
    super('usage', message, options);
  }
}
