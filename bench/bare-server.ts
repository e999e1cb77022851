// The baseline for the throughput rows: the least a Node JSON-RPC endpoint does. It reads
// and parses the JSON body and answers a JSON-RPC-shaped result of about the daemon's
// size — no validation, no auth, no audit. Run on the same pinned Node as the daemon:
//   node bench/bare-server.ts   → prints {"port": N} on stdout once it listens on 127.0.0.1
import http from 'node:http';

// Shaped like server.info's answer so both throughput rows compare like with like.
const INFO = {
  version: '0.1.0',
  commit: '0000000',
  hostname: 'testbox',
  arch: 'x86_64',
  nodeVersion: process.version,
  bootId: '00000000-0000-0000-0000-000000000000',
  uptimeSeconds: 1000,
  daemonUptimeSeconds: 10,
};

function answer(res: http.ServerResponse, status: number, body: unknown) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
  });
  res.end(json);
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let call: { id?: unknown; method?: unknown; params?: { message?: unknown } };
    try {
      call = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof call;
    } catch {
      return answer(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'parse error' } });
    }
    const result = call.method === 'server.echo' ? { message: call.params?.message } : INFO;
    answer(res, 200, { jsonrpc: '2.0', id: call.id ?? null, result });
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as { port: number }).port })}\n`);
});
