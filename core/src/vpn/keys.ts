import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';

/*
 * WireGuard's keys: Curve25519 (x25519) pairs and preshared keys, 32 bytes each, in the
 * base64 that wg(8) and the apps read; UAPI takes them in hex.
 */

export interface KeyPair {
  privateKey: string;
  publicKey: string;
}

const b64 = (b64url: string) => Buffer.from(b64url, 'base64url').toString('base64');

export function newKeyPair(): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const d = privateKey.export({ format: 'jwk' }).d as string;
  const x = publicKey.export({ format: 'jwk' }).x as string;
  return { privateKey: b64(d), publicKey: b64(x) };
}

export function publicKeyOf(privateKey: string): string {
  const d = Buffer.from(privateKey, 'base64').toString('base64url');
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' });
  return b64(createPublicKey(key).export({ format: 'jwk' }).x as string);
}

export const newPresharedKey = (): string => randomBytes(32).toString('base64');

/** A WireGuard key as wg prints it: 32 bytes of canonical base64. */
export const isKey = (s: string): boolean => /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s);

export const hexOf = (key: string): string => Buffer.from(key, 'base64').toString('hex');
export const base64Of = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
