import http from 'node:http';
import https from 'node:https';
import { HearthError } from '../errors.ts';
import type { RpcTransport } from './client.ts';

export interface NodeTarget {
  /** `http://host:port` or `https://…` of a box; or undefined with `socketPath`. */
  url?: string | undefined;
  /** The daemon's local socket (root's CLI on the box). */
  socketPath?: string | undefined;
  bearer?: string | undefined;
  /** Extra headers (a session cookie, Origin) — tests use them to act as a browser. */
  headers?: Record<string, string>;
  /** Trust this CA certificate (PEM) for https. */
  ca?: string | undefined;
}

export class Unreachable extends HearthError {
  constructor(where: string, cause: unknown) {
    super('unreachable', `cannot reach the Hearth daemon at ${where}`, {
      hint: 'is it running? on the box: systemctl status hearth',
      cause,
    });
  }
}

/** Where a target points, for messages. */
export const describeTarget = (t: NodeTarget): string => t.url ?? t.socketPath ?? '?';

/** JSON-RPC over HTTP POST from Node, to a URL or to the local unix socket. */
export function nodeTransport(target: NodeTarget): RpcTransport {
  const url = new URL('/rpc/v1', target.url ?? 'http://localhost');
  const lib = url.protocol === 'https:' ? https : http;
  const agent = new lib.Agent({ keepAlive: true });
  return (body) =>
    new Promise((resolve, reject) => {
      const payload = JSON.stringify(body);
      const req = lib.request(
        url,
        {
          method: 'POST',
          agent,
          ...(target.socketPath ? { socketPath: target.socketPath } : {}),
          ...(target.ca ? { ca: target.ca } : {}),
          headers: {
            'Content-Type': 'application/json',
            'Content-Length': Buffer.byteLength(payload),
            'X-Hearth-Request': '1',
            ...(target.bearer ? { Authorization: `Bearer ${target.bearer}` } : {}),
            ...target.headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if (res.statusCode === 204) return resolve(undefined);
            try {
              resolve(JSON.parse(text));
            } catch (e) {
              reject(
                new HearthError('bad_answer', `the daemon answered HTTP ${res.statusCode} without JSON`, {
                  cause: e,
                }),
              );
            }
          });
        },
      );
      req.on('error', (e) => reject(new Unreachable(describeTarget(target), e)));
      req.end(payload);
    });
}
