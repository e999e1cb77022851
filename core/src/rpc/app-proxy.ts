import http from 'node:http';
import type { Logger } from '../log/log.ts';

/** Where a package's web UI answers, inside the box. */
export interface AppTarget {
  host: string;
  port: number;
}

/** `/app/<id>/<rest>`: the package id and the path to ask its UI for. */
export const APP_PATH = /^\/app\/([a-z0-9][a-z0-9-]*)(\/.*)?$/;

// Hop-by-hop headers (RFC 9110 §7.6.1) stay on this hop.
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

/**
 * A package's web UI through the box's own port: `GET /app/hello-world/x` is what
 * hello-world serves at `/x` in its container (the caller is authorized by the HTTP
 * surface first). The box's session cookie and credentials are not passed on; the
 * package learns the prefix from `X-Forwarded-Prefix`, and redirects to its own paths
 * stay under it. (WebSockets to packages come with the reachability work.)
 */
export function proxyToApp(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  to: { id: string; target: AppTarget; path: string; sessionCookie: string },
  log: Logger,
  timeoutMs = 30_000,
): void {
  const fail = (message: string) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`${message}\n`);
  };
  const { id, target } = to;
  const headers: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP.has(k) || k === 'authorization' || k === 'host') continue;
    headers[k] = v;
  }
  const cookies = withoutCookie(req.headers.cookie, to.sessionCookie);
  if (cookies) headers['cookie'] = cookies;
  else delete headers['cookie'];
  const prefix = `/app/${id}`;
  const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
  Object.assign(headers, {
    host: `${target.host}:${target.port}`,
    'x-forwarded-for': forwardedFor,
    'x-forwarded-host': req.headers.host ?? '',
    'x-forwarded-proto': 'encrypted' in req.socket ? 'https' : 'http',
    'x-forwarded-prefix': prefix,
  });
  const upstream = http.request(
    { host: target.host, port: target.port, method: req.method, path: to.path, headers, timeout: timeoutMs },
    (answer) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      const location = answer.headers.location;
      if (location?.startsWith('/') && !location.startsWith('//')) out['location'] = prefix + location;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    },
  );
  upstream.on('timeout', () => upstream.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
  upstream.on('error', (e) => {
    log.warn('package UI unreachable', { id, error: e.message });
    fail(`${id} did not answer: ${e.message}`);
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}

/** The Cookie header without the cookie `name` (the box's session: the package must not see it). */
export function withoutCookie(header: string | undefined, name: string): string {
  return (header ?? '')
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !c.startsWith(`${name}=`))
    .join('; ');
}
