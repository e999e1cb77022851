import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { HearthError } from '../errors.ts';
import { RpcError, type RpcTransport } from './client.ts';

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
  /** Connect from this local address (tests stand for several machines on loopback). */
  localAddress?: string | undefined;
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

/** The options of a POST to the box: its socket or CA, the credential, our request header. */
function postTo(
  target: NodeTarget,
  type: string,
  length: number,
): http.RequestOptions & https.RequestOptions {
  return {
    method: 'POST',
    ...(target.socketPath ? { socketPath: target.socketPath } : {}),
    ...(target.ca ? { ca: target.ca } : {}),
    ...(target.localAddress ? { localAddress: target.localAddress } : {}),
    headers: {
      'Content-Type': type,
      'Content-Length': length,
      'X-Hearth-Request': '1',
      ...(target.bearer ? { Authorization: `Bearer ${target.bearer}` } : {}),
      ...target.headers,
    },
  };
}

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
        { agent, ...postTo(target, 'application/json', Buffer.byteLength(payload)) },
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

export interface Uploaded {
  upload: string;
  size: number;
  sha256: string;
}

/**
 * Streams a local file to the box's `POST /upload` and returns the upload's id, for a
 * method param such as `package.install {upload}`. `onProgress` hears bytes sent.
 */
export function uploadFile(
  target: NodeTarget,
  file: string,
  onProgress?: (sent: number, total: number) => void,
): Promise<Uploaded> {
  const url = new URL('/upload', target.url ?? 'http://localhost');
  const lib = url.protocol === 'https:' ? https : http;
  const total = fs.statSync(file).size;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, postTo(target, 'application/octet-stream', total), (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: { upload?: string; error?: ConstructorParameters<typeof RpcError>[0] };
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch (e) {
          return reject(
            new HearthError('bad_answer', `the upload got HTTP ${res.statusCode} without JSON`, {
              cause: e,
            }),
          );
        }
        if (body.error) reject(new RpcError(body.error));
        else resolve(body as Uploaded);
      });
    });
    req.on('error', (e) => reject(new Unreachable(describeTarget(target), e)));
    const source = fs.createReadStream(file);
    let sent = 0;
    source.on('data', (c) => {
      sent += c.length;
      onProgress?.(sent, total);
    });
    source.on('error', (e) => req.destroy(e));
    source.pipe(req);
  });
}
