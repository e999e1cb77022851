import type http from 'node:http';
import { hostnameOf } from './host-check.ts';

/** The paths of the API: never redirected (a client does not follow a 308 with its POST body everywhere). */
const API_PATHS = new Set(['/rpc/v1', '/ws', '/mcp', '/upload']);

/** The CA's downloads: over plain HTTP too, since that is how a device gets it before it trusts the box. */
export const CA_PATHS = new Set(['/hearth-ca.crt', '/hearth-ca.der', '/hearth-ca.mobileconfig']);

export type PlainHttpAnswer = { kind: 'serve' } | { kind: 'redirect'; location: string } | { kind: 'refuse' };

/**
 * What the plain-HTTP port does with a request once the box serves HTTPS (after setup):
 * a browser's navigation goes to HTTPS (308, no HSTS: a box whose CA a device does not
 * trust stays reachable here); the API keeps working from the box itself and is refused
 * to others, with a hint to use HTTPS; the CA's downloads and the rest are served.
 */
export function plainHttpRule(r: {
  method: string;
  path: string;
  search: string;
  accept: string;
  host: string | undefined;
  loopback: boolean;
  /** undefined while the box serves no HTTPS (setup mode, development). */
  httpsPort: number | undefined;
}): PlainHttpAnswer {
  if (r.httpsPort === undefined || CA_PATHS.has(r.path)) return { kind: 'serve' };
  if (API_PATHS.has(r.path)) return r.loopback ? { kind: 'serve' } : { kind: 'refuse' };
  const navigation = (r.method === 'GET' || r.method === 'HEAD') && /\btext\/html\b/i.test(r.accept);
  const name = r.host === undefined ? undefined : hostnameOf(r.host);
  if (!navigation || name === undefined) return { kind: 'serve' };
  const host = name.includes(':') ? `[${name}]` : name;
  const port = r.httpsPort === 443 ? '' : `:${r.httpsPort}`;
  return { kind: 'redirect', location: `https://${host}${port}${r.path}${r.search}` };
}

/** Whether a request comes from the box itself. */
export function isLoopback(req: http.IncomingMessage): boolean {
  const a = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  return a === '::1' || a.startsWith('127.');
}

/** `plainHttpRule` for one request on the plain port. */
export function plainRuleOf(
  req: http.IncomingMessage,
  url: URL,
  httpsPort: number | undefined,
): PlainHttpAnswer {
  return plainHttpRule({
    method: req.method ?? 'GET',
    path: url.pathname,
    search: url.search,
    accept: String(req.headers.accept ?? ''),
    host: req.headers.host,
    loopback: isLoopback(req),
    httpsPort,
  });
}
