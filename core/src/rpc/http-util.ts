import type http from 'node:http';
import type { Credentials } from '../auth/auth.ts';
import { HearthError } from '../errors.ts';
import type { RpcResponse } from './dispatch.ts';
import { PayloadTooLarge } from './errors.ts';

/*
 * What the HTTP side reads from a request and how it answers: bodies under a limit,
 * refusals that drain, credentials and cookies, the same-origin proof, the address.
 */

export const SESSION_COOKIE = 'hearth_session';
/** A header no other site can make a browser send without our consent (CORS preflight). */
export const REQUEST_HEADER = 'x-hearth-request';

export function send(
  res: http.ServerResponse,
  status: number,
  body: RpcResponse | RpcResponse[] | object,
  hint?: string,
) {
  const json = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(json),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...(hint ? { 'X-Hearth-Hint': hint } : {}),
  });
  res.end(json);
}

export const retryAfterOf = (error: unknown): number =>
  error instanceof HearthError && typeof error.data?.['retryAfterSeconds'] === 'number'
    ? error.data['retryAfterSeconds']
    : 60;

/** The HTTP status for an error outside JSON-RPC (uploads). */
export function statusOf(error: unknown): number {
  const code = error instanceof HearthError ? error.code : 'internal';
  const STATUS: Record<string, number> = {
    unauthorized: 401,
    invalid_token: 401,
    forbidden: 403,
    cross_origin: 403,
    setup_required: 403,
    payload_too_large: 413,
    not_found: 404,
    conflict: 409,
    unavailable: 503,
    not_enough_space: 507,
    invalid_params: 400,
    invalid_request: 400,
  };
  return STATUS[code] ?? 500;
}

export function readBody(req: http.IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) return Promise.reject(new PayloadTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.off('data', onData);
        req.pause();
        reject(new PayloadTooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

// What is left of a refused body is read and dropped up to this much.
const DRAIN_BYTES = 8 << 20;

/**
 * Answers a request whose body will not be used (too large, the wrong type, refused).
 * The rest of the body is read and dropped, up to DRAIN_BYTES, so a client still sending
 * gets to read the answer rather than a reset; a body larger than that (or of unknown
 * length) ends the connection after the answer, and one that goes on past it is cut.
 */
export function refuseBody(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  status: number,
  body: object,
  hint?: string,
): void {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (!(declared <= DRAIN_BYTES)) res.setHeader('Connection', 'close');
  let dropped = 0;
  req.on('data', (c: Buffer) => {
    dropped += c.length;
    if (dropped > DRAIN_BYTES) req.socket.destroy();
  });
  req.resume();
  send(res, status, body, hint);
}

export function credentialsOf(req: http.IncomingMessage): Credentials {
  const auth = req.headers.authorization;
  const bearer = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
  return { bearer, cookie: parseCookies(req.headers.cookie)[SESSION_COOKIE] };
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

export function sessionCookie(token: string, expiresAt: number, secure: boolean): string {
  const maxAge = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${secure ? '; Secure' : ''}`;
}

/**
 * A browser loading a page (a link followed, an address typed), not an API client: a GET
 * that takes HTML, without a Bearer token, not asking for JSON first. API clients keep
 * their JSON 401; a person gets sent to sign in.
 */
export function isPageNavigation(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET' || req.headers.authorization !== undefined) return false;
  const accept = (req.headers.accept ?? '').toLowerCase();
  return accept.includes('text/html') && !accept.trimStart().startsWith('application/json');
}

/** Origin matches the Host the request was sent to, or our own request header is present. */
export function isSameOrigin(req: http.IncomingMessage): boolean {
  if (req.headers[REQUEST_HEADER] !== undefined) return true;
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return false;
  try {
    const o = new URL(origin);
    return o.host === req.headers.host && o.protocol === (isSecure(req) ? 'https:' : 'http:');
  } catch {
    return false;
  }
}

export const isSecure = (req: http.IncomingMessage): boolean =>
  'encrypted' in req.socket && req.socket.encrypted === true;

export function clientAddress(req: http.IncomingMessage): string {
  const a = req.socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}
