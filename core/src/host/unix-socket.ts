import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';

export interface UnixSocketServer {
  close(): Promise<void>;
}

/**
 * Listens on a unix socket that only `owner` may connect to: the socket is made anew (its
 * directory made, a stale one removed), then owned by `owner` with mode 0600 — for a
 * container's runtime, its mapped root, so no other container or user can connect.
 */
export async function listenUnixSocket(
  socket: string,
  owner: { uid: number; gid: number },
  onConnection: (conn: net.Socket) => void,
): Promise<UnixSocketServer> {
  await fs.mkdir(path.dirname(socket), { recursive: true, mode: 0o755 });
  await fs.rm(socket, { force: true });
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await fs.chown(socket, owner.uid, owner.gid);
  await fs.chmod(socket, 0o600);
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
