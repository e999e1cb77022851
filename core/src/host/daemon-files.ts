import fs from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { HearthError } from '../errors.ts';

/*
 * The daemon's own places on the host: its servers' addresses, the socket and the files
 * other programs find it by (daemon.json, the local socket), the data directory's modes.
 */

/** Listens on a TCP address or a unix socket (made anew: a stale one from a crash goes first, and the new one is root's alone). */
export async function listen(
  server: http.Server,
  where: { port: number; host: string } | { path: string },
): Promise<void> {
  if ('path' in where) fs.rmSync(where.path, { force: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(where, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // `::` means every address; a kernel without IPv6 has only the IPv4 ones.
    if (code === 'EAFNOSUPPORT' && 'host' in where && where.host === '::') {
      return listen(server, { ...where, host: '0.0.0.0' });
    }
    const at = 'path' in where ? where.path : `${where.host} port ${where.port}`;
    if (code === 'EADDRINUSE') {
      throw new HearthError('address_in_use', `something else already listens on ${at}`, {
        hint: 'stop the other program (or the other Hearth), or choose another --port',
      });
    }
    if (code === 'EACCES') {
      throw new HearthError('address_denied', `not allowed to listen on ${at}`, {
        hint: 'ports below 1024 need root; use --port 8080 for a test',
      });
    }
    throw e;
  }
  if ('path' in where) fs.chmodSync(where.path, 0o600);
}

/** Stops taking connections and resolves when the open ones have ended. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/**
 * Containers' unprivileged roots must pass through the data directory to their volumes
 * (search, not list); the database itself is root's alone.
 */
export function restrictDataDir(dataDir: string, database: string): void {
  fs.chmodSync(dataDir, 0o711);
  fs.chmodSync(database, 0o600);
}

/** Writes a JSON file whole (a reader never sees half of it). */
export function writeJsonFile(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

export function removeFiles(files: readonly string[]): void {
  for (const f of files) fs.rmSync(f, { force: true });
}
