import type http from 'node:http';
import { errorResponse } from './dispatch.ts';
import { MisdirectedHost } from './errors.ts';
import { hostnameOf } from './host-check.ts';
import { refuseBody } from './http-util.ts';

/** ACME's HTTP-01 challenges (RFC 8555 8.3): the token is the rest of the path. */
export const ACME_CHALLENGE = '/.well-known/acme-challenge/';

/** What the ACME domain (acme/acme.ts) tells the surface. */
export interface AcmeChallenges {
  isDomain(host: string): boolean;
  answer(host: string, token: string): string | undefined;
}

/**
 * `/.well-known/acme-challenge/<token>`, answered without login: the key authorization of a
 * token under way for a Host that is one of the box's custom domains, else 404. A Host
 * that is not a custom domain gets what any other path would (421 for a name the box does
 * not answer to, else 404), so the path opens nothing for anyone else.
 */
export function answerAcmeChallenge(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  token: string,
  acme: AcmeChallenges,
  hostAllowed: ((host: string | undefined) => boolean) | undefined,
): void {
  const host = req.headers.host === undefined ? undefined : hostnameOf(req.headers.host);
  if (host === undefined || !acme.isDomain(host)) {
    if (hostAllowed && !hostAllowed(req.headers.host)) {
      refuseBody(req, res, 421, errorResponse(null, new MisdirectedHost(req.headers.host)));
    } else {
      refuseBody(req, res, 404, { error: 'not found' });
    }
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    refuseBody(req, res, 405, { error: 'use GET' });
    return;
  }
  const answer = acme.answer(host, token);
  if (answer === undefined) {
    refuseBody(req, res, 404, { error: 'not found' });
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end(answer);
}
