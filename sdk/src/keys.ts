import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs/promises';
import { KeyInvalid } from './errors.ts';

/**
 * Signing keys: ed25519. A private key lives in a PEM (PKCS#8) file readable only by its
 * owner; a public key travels as the base64 of its 32 raw bytes (what `SIGNATURE` holds
 * and what a box's trusted-signer list stores).
 *
 * @example
 * const key: SigningKey = await loadSigningKey('signing.key');
 * console.log(`trust ${key.publicKey}`);
 */
export interface SigningKey {
  privateKey: KeyObject;
  /** Base64 of the 32 raw public-key bytes. */
  publicKey: string;
}

/**
 * The base64 of a public key's 32 raw bytes.
 *
 * @example
 * const { publicKey } = crypto.generateKeyPairSync('ed25519');
 * publicKeyToBase64(publicKey); // 'q1ZP…='
 */
export function publicKeyToBase64(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string') throw new KeyInvalid('not an ed25519 key');
  return Buffer.from(jwk.x, 'base64url').toString('base64');
}

/**
 * Reads a base64 public key (32 raw bytes, as `hearth-sdk keygen` prints it); throws
 * {@link KeyInvalid} otherwise.
 *
 * @example
 * const key = parsePublicKey('q1ZPt0x…=');
 */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  const raw = /^[A-Za-z0-9+/]{43}=$/.test(trimmed) ? Buffer.from(trimmed, 'base64') : null;
  if (!raw || raw.length !== 32) {
    throw new KeyInvalid(`'${trimmed.slice(0, 60)}' is not an ed25519 public key`, {
      hint: 'a public key is the 44-character base64 that hearth-sdk keygen prints',
    });
  }
  return crypto.createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
}

/**
 * A public key in its canonical base64 form (throws {@link KeyInvalid} if it is not one).
 *
 * @example
 * normalizePublicKey('  q1ZPt0x…=\n'); // 'q1ZPt0x…='
 */
export const normalizePublicKey = (text: string): string => publicKeyToBase64(parsePublicKey(text));

/**
 * Creates an ed25519 key pair, writes the private key to `file` (PEM, mode 0600, never
 * over an existing file) and returns the public key.
 *
 * @example
 * const { publicKey } = await keygen('hearth-signing.key');
 * console.log(`trust this key on your box: ${publicKey}`);
 */
export async function keygen(file: string): Promise<{ file: string; publicKey: string }> {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(file, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new KeyInvalid(`${file} already exists`, {
        hint: 'choose another --out, or remove the old key if you mean to replace it',
      });
    }
    throw e;
  }
  try {
    await handle.writeFile(pem);
    // The umask cannot widen 0600, but a pre-set ACL or odd umask could narrow it oddly; be explicit.
    await handle.chmod(0o600);
  } finally {
    await handle.close();
  }
  return { file, publicKey: publicKeyToBase64(publicKey) };
}

/**
 * Reads a private key file written by {@link keygen} (or any PEM ed25519 private key).
 *
 * @example
 * const key = await loadSigningKey('hearth-signing.key');
 * await packHpk({ ..., key });
 */
export async function loadSigningKey(file: string): Promise<SigningKey> {
  let pem: string;
  try {
    pem = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new KeyInvalid(
      `cannot read the key ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        hint: 'create one with hearth-sdk keygen --out <file>',
      },
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = crypto.createPrivateKey(pem);
  } catch {
    throw new KeyInvalid(`${file} is not a PEM private key`, {
      hint: 'create one with hearth-sdk keygen --out <file>',
    });
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new KeyInvalid(
      `${file} is a ${privateKey.asymmetricKeyType} key; packages are signed with ed25519`,
      {
        hint: 'create one with hearth-sdk keygen --out <file>',
      },
    );
  }
  return { privateKey, publicKey: publicKeyToBase64(crypto.createPublicKey(privateKey)) };
}
