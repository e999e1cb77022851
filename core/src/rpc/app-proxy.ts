import http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/log.ts';

/** Where a package's web UI answers, inside the box. */
export interface AppTarget {
  host: string;
  port: number;
}

/** What a package's page may still do in its sandbox: run scripts, submit forms, open popups, download. */
export const APP_SANDBOX = 'sandbox allow-scripts allow-forms allow-popups allow-modals allow-downloads';

/** What lets the sandboxed page read its own package's answers (it holds the capability). */
const OPAQUE_ORIGIN = { 'access-control-allow-origin': 'null', vary: 'Origin' };

/**
 * The answer to a CORS preflight from a package's sandboxed page to its own capability
 * path: whatever method and headers it asks for, as the package itself would take them.
 */
export function answerPreflight(req: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(204, {
    ...OPAQUE_ORIGIN,
    'access-control-allow-methods': String(req.headers['access-control-request-method'] ?? 'GET').slice(
      0,
      100,
    ),
    'access-control-allow-headers': String(req.headers['access-control-request-headers'] ?? '').slice(
      0,
      1000,
    ),
    'access-control-max-age': '600',
    'cache-control': 'no-store',
  });
  res.end();
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
  to: {
    id: string;
    target: AppTarget;
    path: string;
    /** Where the package's pages are, as the browser sees them: `/app/<id>` or a capability path. */
    prefix: string;
    sessionCookie: string;
    /** Let the sandboxed page itself (origin `null`) read the answer: it came by a capability path. */
    opaqueOrigin: boolean;
  },
  log: Logger,
  timeoutMs = 30_000,
): void {
  const fail = (message: string) => {
    if (res.headersSent) return void res.destroy();
    res.writeHead(502, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`${message}\n`);
  };
  const { id, target } = to;
  const headers = forwardedHeaders(req, to);
  const prefix = to.prefix;
  const upstream = http.request(
    { host: target.host, port: target.port, method: req.method, path: to.path, headers, timeout: timeoutMs },
    (answer) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      const location = answer.headers.location;
      if (location?.startsWith('/') && !location.startsWith('//')) out['location'] = prefix + location;
      // The page is served from the box's own origin: sandboxed without allow-same-origin
      // it runs in an opaque origin of its own, so a script in it (the package's, or an
      // XSS in the app) cannot call the API with the owner's cookie. Added to the app's own
      // policy, never replacing it. (Packages get origins of their own with the
      // reachability work.)
      const own = answer.headers['content-security-policy'];
      out['content-security-policy'] = [...(own === undefined ? [] : [own].flat()), APP_SANDBOX];
      // A capability path must not travel to other sites in Referer.
      out['referrer-policy'] = 'no-referrer';
      if (to.opaqueOrigin) Object.assign(out, OPAQUE_ORIGIN);
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

/**
 * A WebSocket to a package's web UI through the box's port (`/app/<id>/…`): the upgrade
 * request goes on to the package with the same header rules as a page's request, and once
 * the package answers 101 the two sockets are joined. Anything else it answers is passed
 * back and the connection closed.
 */
export function proxyUpgradeToApp(
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  to: { id: string; target: AppTarget; path: string; prefix: string; sessionCookie: string },
  log: Logger,
  timeoutMs = 30_000,
): void {
  const headers = forwardedHeaders(req, to);
  headers['connection'] = 'Upgrade';
  headers['upgrade'] = req.headers.upgrade ?? 'websocket';
  const upstream = http.request({
    host: to.target.host,
    port: to.target.port,
    method: 'GET',
    path: to.path,
    headers,
    timeout: timeoutMs,
  });
  const refuse = (status: string) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  };
  upstream.on('upgrade', (answer, theirs, theirHead) => {
    upstream.setTimeout(0);
    const lines = [`HTTP/1.1 101 ${answer.statusMessage || 'Switching Protocols'}`];
    for (let i = 0; i < answer.rawHeaders.length; i += 2)
      lines.push(`${answer.rawHeaders[i]}: ${answer.rawHeaders[i + 1]}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (theirHead.length > 0) socket.write(theirHead);
    if (head.length > 0) theirs.write(head);
    theirs.on('error', () => socket.destroy());
    socket.on('error', () => theirs.destroy());
    socket.on('close', () => theirs.destroy());
    theirs.on('close', () => socket.destroy());
    theirs.pipe(socket);
    socket.pipe(theirs);
  });
  upstream.on('response', (answer) => {
    answer.resume();
    refuse(`${answer.statusCode ?? 502} ${answer.statusMessage ?? ''}`.trim());
  });
  upstream.on('timeout', () => upstream.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
  upstream.on('error', (e) => {
    log.warn('package UI unreachable (WebSocket)', { id: to.id, error: e.message });
    refuse('502 Bad Gateway');
  });
  socket.on('close', () => upstream.destroy());
  upstream.end();
}

/** The headers a request to a package carries: the client's, less hop-by-hop, credentials and the box's cookie. */
function forwardedHeaders(
  req: http.IncomingMessage,
  to: { target: AppTarget; prefix: string; sessionCookie: string },
): http.OutgoingHttpHeaders {
  const headers: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP.has(k) || k === 'authorization' || k === 'host') continue;
    headers[k] = v;
  }
  const cookies = withoutCookie(req.headers.cookie, to.sessionCookie);
  if (cookies) headers['cookie'] = cookies;
  else delete headers['cookie'];
  const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
  Object.assign(headers, {
    host: `${to.target.host}:${to.target.port}`,
    'x-forwarded-for': forwardedFor,
    'x-forwarded-host': req.headers.host ?? '',
    'x-forwarded-proto': 'encrypted' in req.socket ? 'https' : 'http',
    'x-forwarded-prefix': to.prefix,
  });
  return headers;
}

/** The Cookie header without the cookie `name` (the box's session: the package must not see it). */
export function withoutCookie(header: string | undefined, name: string): string {
  return (header ?? '')
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '' && !c.startsWith(`${name}=`))
    .join('; ');
}
