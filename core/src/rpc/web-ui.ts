import type http from 'node:http';
import type { WebAssets, WebFile } from '../host/web-assets.ts';
import { VERSION } from '../version.ts';

/**
 * What the box's own pages may do: only its own scripts, styles and API, never framed by
 * another site, no inline script (build/web.ts writes none), no plugins, no <base>.
 */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'Content-Security-Policy': WEB_CSP,
  'Referrer-Policy': 'no-referrer',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

/** The encoding to send: brotli, else gzip, when the client takes it and a copy exists. */
export function negotiateEncoding(
  accept: string | undefined,
  available: WebFile['encodings'],
): 'br' | 'gzip' | undefined {
  const takes = new Map<string, number>();
  for (const part of (accept ?? '').toLowerCase().split(',')) {
    const [name, ...params] = part.trim().split(';');
    if (!name) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q ? Number(q.slice(2)) : 1;
    takes.set(name, Number.isFinite(weight) ? weight : 0);
  }
  const ok = (e: string) => (takes.get(e) ?? takes.get('*') ?? 0) > 0;
  if (available.includes('br') && ok('br')) return 'br';
  if (available.includes('gzip') && ok('gzip')) return 'gzip';
  return undefined;
}

/**
 * Serves the web UI: `/` is the setup wizard while the box is in setup mode and the admin
 * UI after it; `/assets/…` are the hashed files, cached for a year. Only GET and HEAD.
 */
export function webUi(assets: WebAssets | undefined, isSetupMode: () => boolean) {
  return (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, {
        Allow: 'GET, HEAD',
        'Content-Type': 'text/plain; charset=utf-8',
        ...SECURITY_HEADERS,
      });
      res.end('use GET\n');
      return;
    }
    if (!assets) {
      const body = `<!doctype html><title>Hearth</title><h1>Hearth ${VERSION}</h1><p>This build has no web UI (make web). The API is at /rpc/v1.</p>`;
      res.writeHead(200, {
        'Content-Type': 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        ...SECURITY_HEADERS,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const page = url.pathname === '/' || url.pathname === '/index.html';
    const file = page
      ? assets.files.get(isSetupMode() ? '/wizard.html' : '/admin.html')
      : url.pathname.startsWith('/assets/')
        ? assets.files.get(url.pathname)
        : undefined;
    if (!file) {
      res.writeHead(404, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
        ...SECURITY_HEADERS,
      });
      res.end(req.method === 'HEAD' ? undefined : 'not found\n');
      return;
    }
    const encoding = negotiateEncoding(req.headers['accept-encoding'], file.encodings);
    const body = assets.read(file, encoding);
    const etag = `"${assets.digest}${file.path}-${encoding ?? 'identity'}"`;
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': file.type,
      'Content-Length': body.length,
      // Pages change with the box's mode and its updates; hashed assets never change.
      'Cache-Control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
      Vary: 'Accept-Encoding',
      ...(file.immutable ? {} : { ETag: etag }),
      ...(encoding ? { 'Content-Encoding': encoding } : {}),
      ...SECURITY_HEADERS,
    };
    if (!file.immutable && req.headers['if-none-match'] === etag) {
      delete headers['Content-Length'];
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}
