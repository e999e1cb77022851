import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import {
  type AddressCheck,
  isCertificateError,
  isUnreachable,
  resolveChecked,
  SendFailed,
  socketProblem,
} from './outbound.ts';
import { printable } from './smtp-protocol.ts';

export interface WebhookSend {
  /** http or https. */
  url: string;
  headers: Record<string, string>;
  body: string;
  /** For the whole request, connect to the answer's status. */
  timeoutMs: number;
  checkAddress: AddressCheck;
  signal?: AbortSignal;
  /** CA certificates to trust besides Node's own (tests; a receiver with its own CA). */
  ca?: string | undefined;
}

/** How much of an error answer's body is read to tell the owner what went wrong. */
const MAX_ERROR_BODY = 4096;

/**
 * One POST to a webhook. The name is resolved and checked once and the request goes to
 * that address (the Host header and TLS name stay the URL's). Redirects are not
 * followed: a 3xx is a failure that names where it pointed. Answers the status of a
 * 2xx; throws SendFailed otherwise.
 */
export async function postWebhook(o: WebhookSend): Promise<{ status: number }> {
  const url = new URL(o.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new SendFailed('destination_refused', `${url.protocol} URLs are not sent to`, true);
  }
  for (const [name, value] of Object.entries(o.headers)) {
    // Node refuses these too; saying so here keeps the refusal ours and clear.
    if (/[\r\n\0]/.test(value)) throw new Error(`the ${name} header holds a line break`);
  }
  const secrets = Object.entries(o.headers)
    .filter(([name]) => name.toLowerCase() === 'authorization')
    .flatMap(([, v]) => [v, v.replace(/^\S+\s+/, '')]);
  try {
    return await post(url, o);
  } catch (e) {
    const failed = e instanceof SendFailed ? e : toFailure(e, url);
    let message = failed.message;
    for (const s of secrets) if (s.length >= 3) message = message.split(s).join('[redacted]');
    throw message === failed.message ? failed : failed.withMessage(message);
  }
}

/** Addresses of one name tried in turn when a connection is refused or unreachable. */
const MAX_ADDRESSES = 3;

async function post(url: URL, o: WebhookSend): Promise<{ status: number }> {
  const addresses = (await resolveChecked(url.hostname, o.checkAddress, o.signal)).slice(0, MAX_ADDRESSES);
  for (const [i, address] of addresses.entries()) {
    try {
      return await postTo(url, address, o);
    } catch (e) {
      // Nothing was sent: the name's other address (IPv4 after IPv6) may answer.
      if (i === addresses.length - 1 || !isUnreachable(e)) throw e;
    }
  }
  throw new SendFailed('resolve_failed', `${url.hostname} has no address`, false);
}

async function postTo(url: URL, address: string, o: WebhookSend): Promise<{ status: number }> {
  const secure = url.protocol === 'https:';
  const body = Buffer.from(o.body, 'utf8');
  const options: https.RequestOptions = {
    method: 'POST',
    host: address,
    port: url.port || (secure ? 443 : 80),
    path: `${url.pathname}${url.search}`,
    headers: {
      Host: url.host,
      'User-Agent': 'Hearth',
      'Content-Length': String(body.length),
      ...o.headers,
    },
    agent: false,
    ...(secure
      ? {
          servername: net.isIP(url.hostname.replace(/^\[|\]$/g, '')) ? undefined : url.hostname,
          minVersion: 'TLSv1.2' as const,
          ...(o.ca ? { ca: [...tls.rootCertificates, o.ca] } : {}),
        }
      : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(options);
    const timer = setTimeout(
      () =>
        req.destroy(
          new SendFailed('send_timeout', `${url.host} did not answer within ${o.timeoutMs / 1000} s`, false),
        ),
      o.timeoutMs,
    );
    const onAbort = () => req.destroy(new SendFailed('send_cancelled', 'the send was cancelled', false));
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    };
    req.on('error', (e) => {
      done();
      reject(e);
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        done();
        res.resume();
        req.destroy();
        resolve({ status });
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const finish = () => {
        done();
        req.destroy();
        reject(answerFailure(url, status, res.headers.location, Buffer.concat(chunks).toString('utf8')));
      };
      res.on('data', (c: Buffer) => {
        if (size >= MAX_ERROR_BODY) return;
        chunks.push(c.subarray(0, MAX_ERROR_BODY - size));
        size += c.length;
        if (size >= MAX_ERROR_BODY) finish();
      });
      res.on('end', finish);
      res.on('error', finish);
    });
    req.end(body);
  });
}

function answerFailure(url: URL, status: number, location: string | undefined, body: string): SendFailed {
  if (status >= 300 && status < 400) {
    let where = printable(location ?? '', 200);
    try {
      where = new URL(location ?? '', url).href;
    } catch {}
    return new SendFailed(
      'webhook_redirect',
      `${url.host} answered ${status}${where ? `, pointing to ${printable(where, 200)}` : ''}: redirects are not followed — give the final URL`,
      true,
    );
  }
  const said = printable(body, 200);
  // 408 and 429 ask to come back later; other 4xx mean this request will never do.
  const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
  return new SendFailed(
    'webhook_rejected',
    `${url.host} answered ${status}${said ? `: ${said}` : ''}`,
    permanent,
  );
}

function toFailure(e: unknown, url: URL): SendFailed {
  if (isCertificateError(e)) {
    return new SendFailed(
      'tls_failed',
      `the TLS certificate of ${url.hostname} is not valid: ${socketProblem(e)}`,
      true,
    );
  }
  if ((e as NodeJS.ErrnoException).code?.startsWith('ERR_SSL')) {
    return new SendFailed('tls_failed', `TLS with ${url.host} failed: ${socketProblem(e)}`, false);
  }
  return new SendFailed('connect_failed', `${url.host}: ${socketProblem(e)}`, false);
}
