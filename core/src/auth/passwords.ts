import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import { secret } from '../calls.ts';
import { InvalidParams } from '../errors.ts';

export interface KdfParams {
  memoryKiB: number;
  passes: number;
  parallelism: number;
}

/** argon2id at 64 MiB and 3 passes: OWASP's guidance, and fine on a Raspberry Pi 4. */
export const DEFAULT_KDF: KdfParams = { memoryKiB: 64 * 1024, passes: 3, parallelism: 2 };

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 1024;

const argon2 = promisify(crypto.argon2);

/**
 * A new password, as the API takes it: at least MIN_PASSWORD_LENGTH characters (code
 * points, as checkPasswordStrength counts them), secret. In the schema, so every surface
 * (and a client reading the JSON Schema) refuses a short one before anything runs.
 */
export const newPasswordSchema = () =>
  secret(
    z
      .string()
      .max(MAX_PASSWORD_LENGTH)
      .refine((p) => [...p].length >= MIN_PASSWORD_LENGTH, {
        message: `must have at least ${MIN_PASSWORD_LENGTH} characters — a few unrelated words make a long password that is easy to remember`,
      })
      .meta({ minLength: MIN_PASSWORD_LENGTH, description: `at least ${MIN_PASSWORD_LENGTH} characters` }),
  );

export function checkPasswordStrength(password: string): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new InvalidParams(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`, {
      hint: 'a few unrelated words make a long password that is easy to remember',
    });
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw new InvalidParams(`the password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  }
}

async function derive(password: string, salt: Buffer, p: KdfParams): Promise<Buffer> {
  return argon2('argon2id', {
    message: Buffer.from(password.normalize('NFC'), 'utf8'),
    nonce: salt,
    parallelism: p.parallelism,
    tagLength: 32,
    memory: p.memoryKiB,
    passes: p.passes,
  });
}

/** An argon2id hash in the PHC string format: `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. */
export async function hashPassword(password: string, params: KdfParams = DEFAULT_KDF): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await derive(password, salt, params);
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=19$m=${params.memoryKiB},t=${params.passes},p=${params.parallelism}$${b64(salt)}$${b64(hash)}`;
}

const PHC = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export async function verifyPassword(password: string, phc: string): Promise<boolean> {
  const m = PHC.exec(phc);
  if (!m) throw new Error('stored password hash is not an argon2id PHC string');
  const expected = Buffer.from(m[5]!, 'base64');
  const actual = await derive(password, Buffer.from(m[4]!, 'base64'), {
    memoryKiB: Number(m[1]),
    passes: Number(m[2]),
    parallelism: Number(m[3]),
  });
  return actual.length === expected.length && crypto.timingSafeEqual(actual, expected);
}
