import http from 'node:http';

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One HTTP request to the daemon, as the attacker would send it: from any loopback
 * address (127.x.y.z stand for different machines on the LAN), with any Host header.
 */
export function request(
  port: number,
  o: {
    method?: string;
    path?: string;
    from?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
  } = {},
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: o.method ?? 'POST',
        path: o.path ?? '/rpc/v1',
        agent: false,
        ...(o.from ? { localAddress: o.from } : {}),
        headers: {
          'Content-Type': 'application/json',
          ...(o.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(o.body)) } : {}),
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

export interface RpcAnswer {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: { code: string; [k: string]: unknown } };
}

/** POSTs a JSON-RPC body and parses the answer (undefined for 204). */
export async function rpc(
  port: number,
  body: unknown,
  o: { from?: string; headers?: Record<string, string> } = {},
): Promise<RpcAnswer | RpcAnswer[] | undefined> {
  const res = await request(port, { ...o, body: JSON.stringify(body) });
  if (res.status === 204) return undefined;
  return JSON.parse(res.body) as RpcAnswer | RpcAnswer[];
}

export const call = (id: number | string, method: string, params: object = {}) => ({
  jsonrpc: '2.0',
  id,
  method,
  params,
});

/** The error codes of a batch's answers, counted: `{ wrong_password: 5, rate_limited: 95 }`. */
export function codesOf(answers: RpcAnswer[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of answers) {
    const code = a.error?.data?.code ?? (a.error ? String(a.error.code) : 'ok');
    out[code] = (out[code] ?? 0) + 1;
  }
  return out;
}
