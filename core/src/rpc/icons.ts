import type http from 'node:http';
import type { Logger } from '../log/log.ts';
import { errorResponse } from './dispatch.ts';
import { send, statusOf } from './http-util.ts';

/**
 * `/icons/<id>`: a package's icon, for whoever may read the box: it says which packages are
 * installed. An SVG can hold script, so it is served under a policy that runs none and
 * sandboxes it into an origin of its own, should someone open it as a page rather than an image.
 */
export async function serveIcon(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  id: string,
  o: {
    /** Throws when the caller may not read the box. */
    authorize: () => void;
    icons: (id: string) => Promise<{ type: string; body: Buffer; version: string } | undefined>;
    log: Logger;
  },
): Promise<void> {
  req.resume();
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(res, 405, { error: 'use GET' });
  }
  try {
    o.authorize();
  } catch (error) {
    return send(res, statusOf(error), errorResponse(null, error, o.log, 'icon'));
  }
  const icon = await o.icons(id);
  if (!icon) return send(res, 404, { error: `${id} has no icon` });
  const etag = `"${id}-${icon.version}"`;
  const headers = {
    'Content-Type': icon.type,
    'Cache-Control': 'private, no-cache',
    ETag: etag,
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Resource-Policy': 'same-origin',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  res.writeHead(200, { ...headers, 'Content-Length': icon.body.length });
  res.end(req.method === 'HEAD' ? undefined : icon.body);
}
