import type http from 'node:http';

export interface CaFiles {
  pem: string;
  der: Buffer;
  mobileconfig: string;
}

const TYPES: Record<string, { type: string; name: string; body: (ca: CaFiles) => string | Buffer }> = {
  '/hearth-ca.crt': { type: 'application/x-x509-ca-cert', name: 'hearth-ca.crt', body: (ca) => ca.pem },
  '/hearth-ca.der': { type: 'application/pkix-cert', name: 'hearth-ca.der', body: (ca) => ca.der },
  '/hearth-ca.mobileconfig': {
    type: 'application/x-apple-aspen-config',
    name: 'hearth-ca.mobileconfig',
    body: (ca) => ca.mobileconfig,
  },
};

/**
 * `/hearth-ca.crt` (PEM), `.der` and `.mobileconfig` (Apple): the box's root CA, for anyone
 * who reaches the box, without login: a certificate is public, and a device needs it
 * before it can trust the box enough to log in.
 */
export function serveCa(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  ca: CaFiles | undefined,
): void {
  req.resume();
  const file = TYPES[path]!;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('use GET\n');
    return;
  }
  if (!ca) {
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end('the box makes its certificate authority once it is set up\n');
    return;
  }
  const body = file.body(ca);
  res.writeHead(200, {
    'Content-Type': file.type,
    'Content-Length': Buffer.byteLength(body),
    'Content-Disposition': `attachment; filename="${file.name}"`,
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}
