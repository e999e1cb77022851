import crypto from 'node:crypto';

/*
 * Onion service v3 keys and addresses (rend-spec-v3, "Encoding onion addresses"), in
 * process: the address is known before tor is asked, and is checked against its ServiceID.
 *
 * We keep the ed25519 seed (32 bytes). Tor's ADD_ONION takes the expanded secret key —
 * SHA-512 of the seed, the first half clamped — which is what ref10 derives from a seed,
 * so both sides agree on the public key.
 */

// DER of a PKCS#8 ed25519 private key, before its 32-byte seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const VERSION = Buffer.from([3]);

export interface OnionKey {
  /** The 56 letters before `.onion`, as tor's ServiceID. */
  serviceId: string;
  /** `<serviceId>.onion`. */
  address: string;
  publicKey: Buffer;
  /** The key argument of ADD_ONION: `ED25519-V3:<base64 of the expanded secret key>`. */
  addOnionKey: string;
}

export function newOnionSeed(): Buffer {
  return crypto.randomBytes(32);
}

export function onionKey(seed: Buffer): OnionKey {
  if (seed.length !== 32) throw new Error('an ed25519 seed is 32 bytes');
  const privateKey = crypto.createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
  const publicKey = Buffer.from(jwk.x as string, 'base64url');
  const h = crypto.createHash('sha512').update(seed).digest();
  h[0] = (h[0] as number) & 248;
  h[31] = ((h[31] as number) & 127) | 64;
  const serviceId = serviceIdOf(publicKey);
  return {
    serviceId,
    address: `${serviceId}.onion`,
    publicKey,
    addOnionKey: `ED25519-V3:${h.toString('base64')}`,
  };
}

/** base32(pubkey || checksum || version), checksum = SHA3-256(".onion checksum" || pubkey || version)[:2]. */
export function serviceIdOf(publicKey: Buffer): string {
  if (publicKey.length !== 32) throw new Error('an ed25519 public key is 32 bytes');
  const checksum = crypto
    .createHash('sha3-256')
    .update(Buffer.concat([Buffer.from('.onion checksum'), publicKey, VERSION]))
    .digest()
    .subarray(0, 2);
  return base32(Buffer.concat([publicKey, checksum, VERSION]));
}

/** The public key inside an address, or undefined when its checksum or version is wrong. */
export function publicKeyOf(address: string): Buffer | undefined {
  const id = address.replace(/\.onion$/, '');
  if (!/^[a-z2-7]{56}$/.test(id)) return undefined;
  const bytes = unbase32(id);
  const publicKey = bytes.subarray(0, 32);
  return serviceIdOf(publicKey) === id ? publicKey : undefined;
}

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    value = ((value << 5) | ALPHABET.indexOf(c)) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}
