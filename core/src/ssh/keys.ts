import { createHash } from 'node:crypto';

/*
 * OpenSSH public keys, pure: a line as `ssh-keygen` prints it (`<type> <base64> [comment]`),
 * checked strictly — a known type, canonical base64, a blob whose own type and lengths agree
 * — so that nothing but a key reaches `authorized_keys`: no options (`command=`, `from=`…)
 * before the type, no second line, no control characters in the comment.
 */

export interface PublicKey {
  type: KeyType;
  /** The key blob, as the base64 of the line. */
  blob: string;
  comment: string;
  /** `SHA256:<base64 without padding>`, as `ssh-keygen -l` prints it. */
  fingerprint: string;
  /** The size in bits, as `ssh-keygen -l` prints it. */
  bits: number;
}

export const KEY_TYPES = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'ssh-rsa',
  'sk-ssh-ed25519@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com',
] as const;
export type KeyType = (typeof KEY_TYPES)[number];

export class BadPublicKey extends Error {
  override name = 'BadPublicKey';
}

/** Longest line taken: an RSA key of 16384 bits is about 2.8 KB. */
export const MAX_LINE = 4096;
export const MAX_COMMENT = 100;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 16384;

const CURVES: Record<string, { name: string; point: number; bits: number }> = {
  'ecdsa-sha2-nistp256': { name: 'nistp256', point: 65, bits: 256 },
  'ecdsa-sha2-nistp384': { name: 'nistp384', point: 97, bits: 384 },
  'ecdsa-sha2-nistp521': { name: 'nistp521', point: 133, bits: 521 },
  'sk-ecdsa-sha2-nistp256@openssh.com': { name: 'nistp256', point: 65, bits: 256 },
};

/** Reads the SSH wire format's length-prefixed strings, never past the end. */
class Reader {
  #at = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer) {
    this.buf = buf;
  }
  string(): Buffer {
    if (this.#at + 4 > this.buf.length) throw new BadPublicKey('the key is cut short');
    const n = this.buf.readUInt32BE(this.#at);
    this.#at += 4;
    if (n > this.buf.length - this.#at) throw new BadPublicKey('the key is cut short');
    const s = this.buf.subarray(this.#at, this.#at + n);
    this.#at += n;
    return s;
  }
  end(): void {
    if (this.#at !== this.buf.length) throw new BadPublicKey('the key has bytes after its end');
  }
}

/** The bits of a positive mpint (leading zero octets allowed only as its sign byte). */
function mpintBits(m: Buffer): number {
  if (m.length === 0 || m[0]! & 0x80) throw new BadPublicKey('the RSA key has a bad number');
  let i = 0;
  while (i < m.length && m[i] === 0) i++;
  if (i > 1 || (i === 1 && !((m[1] ?? 0) & 0x80))) throw new BadPublicKey('the RSA key has a bad number');
  const rest = m.subarray(i);
  if (rest.length === 0) return 0;
  return (rest.length - 1) * 8 + (32 - Math.clz32(rest[0]!));
}

/** Checks a blob against its type; returns its size in bits. */
function checkBlob(type: KeyType, blob: Buffer): number {
  const r = new Reader(blob);
  if (r.string().toString('latin1') !== type)
    throw new BadPublicKey('the key’s type does not match its data');
  let bits: number;
  if (type === 'ssh-ed25519' || type === 'sk-ssh-ed25519@openssh.com') {
    if (r.string().length !== 32) throw new BadPublicKey('an Ed25519 key is 32 bytes');
    bits = 256;
  } else if (type === 'ssh-rsa') {
    const e = r.string();
    if (mpintBits(e) < 2 || mpintBits(e) > 64) throw new BadPublicKey('the RSA key has a bad exponent');
    bits = mpintBits(r.string());
    if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
      throw new BadPublicKey(
        `RSA keys must have ${MIN_RSA_BITS} to ${MAX_RSA_BITS} bits (this one has ${bits})`,
      );
    }
  } else {
    const curve = CURVES[type]!;
    if (r.string().toString('latin1') !== curve.name)
      throw new BadPublicKey('the ECDSA key names another curve');
    const q = r.string();
    if (q.length !== curve.point || q[0] !== 4) throw new BadPublicKey('the ECDSA key’s point is malformed');
    bits = curve.bits;
  }
  // A security key also names the application (relying party) it is for.
  if (type.startsWith('sk-') && r.string().length === 0)
    throw new BadPublicKey('the security key names no application');
  r.end();
  return bits;
}

export function fingerprintOf(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** A comment kept: printable characters only (no line breaks, no control or format characters). */
export function cleanComment(comment: string): string {
  const c = comment.trim();
  if (c.length > MAX_COMMENT)
    throw new BadPublicKey(`the key’s name is longer than ${MAX_COMMENT} characters`);
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(c))
    throw new BadPublicKey('the key’s name holds control characters');
  return c.replace(/\s+/g, ' ');
}

/** Parses one public key line, strictly; throws BadPublicKey with a reason a person can act on. */
export function parsePublicKey(line: string): PublicKey {
  if (line.length > MAX_LINE) throw new BadPublicKey(`a public key line is at most ${MAX_LINE} characters`);
  const text = line.replace(/\r?\n$/, '');
  if (/[\r\n\0]/.test(text)) throw new BadPublicKey('give one key, on one line');
  const parts = text.trim().split(/[ \t]+/);
  const [type, b64, ...rest] = parts;
  if (!KEY_TYPES.includes(type as KeyType)) {
    throw new BadPublicKey(
      type === 'ssh-dss'
        ? 'DSA keys are no longer accepted by OpenSSH: make an Ed25519 key (ssh-keygen -t ed25519)'
        : 'this is not an OpenSSH public key: it must start with its type, like ssh-ed25519 (no options before it)',
    );
  }
  if (!b64 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
    throw new BadPublicKey('the key’s data is not base64');
  }
  const blob = Buffer.from(b64, 'base64');
  if (blob.toString('base64') !== b64) throw new BadPublicKey('the key’s data is not canonical base64');
  const bits = checkBlob(type as KeyType, blob);
  return {
    type: type as KeyType,
    blob: b64,
    comment: cleanComment(rest.join(' ')),
    fingerprint: fingerprintOf(blob),
    bits,
  };
}

/** The line written to authorized_keys: type, data and the name, nothing before the type. */
export function authorizedLine(k: { type: string; blob: string; name: string }): string {
  return k.name ? `${k.type} ${k.blob} ${k.name}` : `${k.type} ${k.blob}`;
}
