import fs from 'node:fs';
import path from 'node:path';
import { newSecret, PREFIX } from '../auth/secrets.ts';

/**
 * Root's CLI on the box needs no login: the daemon writes a fresh secret at every start
 * to a file only root can read, and the CLI sends it as a bearer token. Whoever can read
 * the file is root already.
 */
export function writeLocalCookie(file: string): string {
  const secret = newSecret(PREFIX.local);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${secret}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  return secret;
}

export function readLocalCookie(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
