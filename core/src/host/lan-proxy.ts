import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/log.ts';
import { forwardRequestHeaders, forwardResponseHeaders, upgradeRequest } from './http-forward.ts';

/*
 * The LAN ports: one listener per package interface. An `http` one terminates TLS with the
 * box's certificates (the package's own name by SNI, else the box's) and proxies HTTP/1.1
 * to the container, WebSocket upgrades included; a `tcp` one passes bytes through, a `tls`
 * one after terminating TLS the same way. The
 * service behind does its own login: no box login here, and Authorization passes untouched.
 * Everything is bounded: connections per port, header size, the time to send headers, the
 * TLS handshake, the wait for the service, idle connections.
 */

export interface ProxyTarget {
  host: string;
  port: number;
}

export interface ProxyListener {
  port: number;
  package: string;
  interface: string;
  mode: 'http' | 'tcp' | 'tls';
  target: ProxyTarget;
}

export interface LanProxy {
  /** Listens on `spec.port`; rejects when it cannot (the port taken: `EADDRINUSE`). */
  open(spec: ProxyListener): Promise<void>;
  /** Points an open listener at a new target; connections open now stay where they are. */
  retarget(spec: ProxyListener): void;
  close(port: number): Promise<void>;
  listening(): Map<number, ProxyListener>;
  /** The box's certificate changed (a renewal, a new address). */
  refreshCredentials(): void;
  /** Whether something accepts TCP connections at `target` (within two seconds). */
  probe(target: ProxyTarget): Promise<boolean>;
  stop(): Promise<void>;
}

export interface LanProxyOptions {
  /** The address to listen on (`::`: every address). */
  host: string;
  /** The box's own certificate: what a client that names no server (an address) gets. */
  credentials: () => { cert: string; key: string } | undefined;
  /** The context for a server name a client asked for on a package's port. */
  contextFor: (pkg: string, serverName: string) => tls.SecureContext | undefined;
  /** How long to wait for the service to answer, and how long a connection may idle. */
  timeoutMs: number;
  maxConnectionsPerPort?: number;
  log: Logger;
}

export class NoCertificate extends Error {
  override name = 'NoCertificate';
}

const MAX_HEADER_BYTES = 16 * 1024;
/** How long a client has to send a request's headers (slow senders hold no connection for long). */
const HEADERS_TIMEOUT_MS = 15_000;
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A WebSocket or a raw TCP connection may idle much longer than a request. */
const STREAM_IDLE_MS = 15 * 60_000;

interface Entry {
  spec: ProxyListener;
  server: net.Server;
  sockets: Set<net.Socket>;
  agent?: http.Agent;
}

export function hostLanProxy(o: LanProxyOptions): LanProxy {
  const entries = new Map<number, Entry>();
  const max = o.maxConnectionsPerPort ?? 256;
  const log = o.log;

  const pipeBoth = (a: net.Socket, b: net.Socket, idleMs: number) => {
    const end = () => {
      a.destroy();
      b.destroy();
    };
    for (const s of [a, b]) {
      s.setTimeout(idleMs, end);
      s.on('error', end);
      s.on('close', end);
    }
    a.pipe(b);
    b.pipe(a);
  };

  const serveHttp = (entry: Entry): net.Server => {
    const agent = new http.Agent({
      keepAlive: true,
      maxSockets: 64,
      maxFreeSockets: 16,
      timeout: o.timeoutMs,
    });
    entry.agent = agent;
    const server = https.createServer({
      SNICallback: sni(entry),
      ALPNProtocols: ['http/1.1'],
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
      headersTimeout: HEADERS_TIMEOUT_MS,
      // A request's body may take long (an upload); idle connections are cut by `timeout`.
      requestTimeout: 0,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1_000,
    });
    const creds = o.credentials();
    if (!creds) throw new NoCertificate('the box has no certificate yet');
    server.setSecureContext(creds);
    // Longer than the wait for the service, so a late service gets its 504, not a cut.
    server.timeout = 2 * o.timeoutMs;
    server.on('request', (req, res) => {
      const { target } = entry.spec;
      const headers = forwardRequestHeaders(req.rawHeaders, {
        clientAddress: req.socket.remoteAddress ?? '',
        host: req.headers.host,
        upgrade: false,
      });
      const up = http.request({
        host: target.host,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: headers.flat(),
        setHost: false,
        agent,
      });
      let timedOut = false;
      up.setTimeout(o.timeoutMs, () => {
        timedOut = true;
        up.destroy(new Error('the service did not answer in time'));
      });
      up.on('response', (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.statusMessage, forwardResponseHeaders(ur.rawHeaders).flat());
        ur.pipe(res);
        ur.on('error', () => res.destroy());
      });
      up.on('error', (error) => {
        log.debug('proxied request failed', { port: entry.spec.port, error });
        if (res.headersSent) return void res.destroy();
        const status = timedOut ? 504 : 502;
        const text = timedOut
          ? `${entry.spec.package} did not answer in time.\n`
          : `${entry.spec.package} is not answering: is it running?\n`;
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
        res.end(text);
      });
      res.on('close', () => {
        if (!res.writableFinished) up.destroy();
      });
      req.pipe(up);
    });
    server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
      const { target } = entry.spec;
      const headers = forwardRequestHeaders(req.rawHeaders, {
        clientAddress: socket.remoteAddress ?? '',
        host: req.headers.host,
        upgrade: true,
      });
      const up = net.connect({ host: target.host, port: target.port });
      const refuse = () => {
        if (socket.writable)
          socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        up.destroy();
      };
      up.setTimeout(o.timeoutMs, refuse);
      up.once('error', refuse);
      socket.on('error', () => up.destroy());
      up.once('connect', () => {
        up.removeListener('error', refuse);
        up.write(upgradeRequest(req.method ?? 'GET', req.url ?? '/', headers));
        if (head.length > 0) up.write(head);
        pipeBoth(socket, up, STREAM_IDLE_MS);
      });
    });
    return server;
  };

  const sni = (entry: Entry) => (name: string, cb: (e: Error | null, c?: tls.SecureContext) => void) => {
    try {
      cb(null, o.contextFor(entry.spec.package, name));
    } catch (error) {
      cb(error as Error);
    }
  };

  const serveTls = (entry: Entry): net.Server => {
    const creds = o.credentials();
    if (!creds) throw new NoCertificate('the box has no certificate yet');
    const server = tls.createServer(
      { SNICallback: sni(entry), handshakeTimeout: HANDSHAKE_TIMEOUT_MS, allowHalfOpen: true },
      (client) => {
        const { target } = entry.spec;
        const up = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
        pipeBoth(client, up, STREAM_IDLE_MS);
      },
    );
    server.setSecureContext(creds);
    return server;
  };

  const serveTcp = (entry: Entry): net.Server =>
    net.createServer({ allowHalfOpen: true }, (client) => {
      const { target } = entry.spec;
      const up = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
      pipeBoth(client, up, STREAM_IDLE_MS);
    });

  return {
    async open(spec) {
      if (entries.has(spec.port)) throw new Error(`port ${spec.port} is open already`);
      const entry: Entry = {
        spec: { ...spec },
        server: undefined as unknown as net.Server,
        sockets: new Set(),
      };
      const server =
        spec.mode === 'http' ? serveHttp(entry) : spec.mode === 'tls' ? serveTls(entry) : serveTcp(entry);
      entry.server = server;
      server.maxConnections = max;
      const track = (s: net.Socket) => {
        entry.sockets.add(s);
        s.once('close', () => entry.sockets.delete(s));
      };
      // A connection still in its handshake is tracked too, so closing cuts it.
      server.on('connection', track);
      if (spec.mode !== 'tcp') server.on('secureConnection', track);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: spec.port, host: o.host }, () => {
          server.removeListener('error', reject);
          server.on('error', (error) => log.warn('LAN port failed', { port: spec.port, error }));
          resolve();
        });
      });
      entries.set(spec.port, entry);
    },
    retarget(spec) {
      const e = entries.get(spec.port);
      if (e) e.spec = { ...spec };
    },
    async close(port) {
      const e = entries.get(port);
      if (!e) return;
      entries.delete(port);
      const closed = new Promise<void>((resolve) => e.server.close(() => resolve()));
      for (const s of e.sockets) s.destroy();
      e.agent?.destroy();
      await closed;
    },
    listening: () => new Map([...entries].map(([port, e]) => [port, { ...e.spec }])),
    refreshCredentials() {
      const creds = o.credentials();
      if (!creds) return;
      for (const e of entries.values()) if (e.server instanceof tls.Server) e.server.setSecureContext(creds);
    },
    probe: (target) =>
      new Promise((resolve) => {
        const s = net.connect({ host: target.host, port: target.port });
        const done = (ok: boolean) => {
          s.destroy();
          resolve(ok);
        };
        s.setTimeout(2_000, () => done(false));
        s.once('connect', () => done(true));
        s.once('error', () => done(false));
      }),
    async stop() {
      await Promise.all([...entries.keys()].map((port) => this.close(port)));
    },
  };
}
