import http from 'node:http';
import { closeServer, listen } from './daemon-files.ts';

/** Limited mode's servers (rpc/limited.ts answers): the usual port and the local socket. */
export async function limitedServers(o: {
  handle: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void;
  port: number;
  host: string;
  socket: string;
}): Promise<{ port: number; close(): Promise<void> }> {
  const make = () =>
    http.createServer((req, res) => {
      Promise.resolve(o.handle(req, res)).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
  const tcp = make();
  const local = make();
  await listen(tcp, { port: o.port, host: o.host });
  await listen(local, { path: o.socket });
  return {
    port: (tcp.address() as { port: number }).port,
    close: async () => {
      tcp.closeAllConnections();
      local.closeAllConnections();
      await Promise.all([closeServer(tcp), closeServer(local)]);
    },
  };
}
