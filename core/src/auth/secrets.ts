import crypto from 'node:crypto';

/**
 * Bearer secrets carry a prefix that says what they are, so one header serves all and a
 * leaked one is recognisable: `hts_` a login session, `hth_` an API token, `htl_` root's
 * local cookie. 32 random bytes each; only their SHA-256 is stored (they are far too
 * random to need a slow hash).
 */
export const PREFIX = { session: 'hts_', token: 'hth_', local: 'htl_' } as const;

export const newSecret = (prefix: string): string => prefix + crypto.randomBytes(32).toString('base64url');

export const hashSecret = (secret: string): string =>
  crypto.createHash('sha256').update(secret).digest('hex');

export const newId = (): string => crypto.randomBytes(6).toString('hex');

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
