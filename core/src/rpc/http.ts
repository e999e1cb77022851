import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Credentials } from '../auth/auth.ts';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import { ACME_CHALLENGE, type AcmeChallenges, answerAcmeChallenge } from './acme-challenge.ts';
import { AppCapabilities } from './app-capability.ts';
import { APP_PATH, type AppTarget, answerPreflight, proxyToApp, proxyUpgradeToApp } from './app-proxy.ts';
import { type CaFiles, serveCa } from './ca-download.ts';
import { type Dispatcher, errorResponse, type Identity, type Transport } from './dispatch.ts';
import {
  HttpsRequired,
  InvalidRequest,
  MisdirectedHost,
  ParseError,
  PayloadTooLarge,
  UnsupportedMediaType,
} from './errors.ts';
import {
  clientAddress,
  credentialsOf,
  isPageNavigation,
  isSameOrigin,
  isSecure,
  readBody,
  refuseBody,
  retryAfterOf,
  SESSION_COOKIE,
  send,
  sessionCookie,
  statusOf,
} from './http-util.ts';
import { serveIcon } from './icons.ts';
import { CA_PATHS, plainRuleOf } from './plain-http.ts';
import type { Caller, Surface } from './registry.ts';
import { serveWebSocket } from './ws.ts';

export { REQUEST_HEADER, SESSION_COOKIE } from './http-util.ts';

/** `/icons/<id>`: a package's icon (the id as package ids are). */
const ICON_PATH = /^\/icons\/([a-z][a-z0-9-]{1,62})$/;

export interface HttpSurfaceOptions {
  dispatcher: Dispatcher;
  identify: (creds: Credentials) => Identity;
  maxBodyBytes: number;
  log: Logger;
  /** Takes streamed uploads at `POST /upload` (files for methods such as package.install). */
  uploads?: { receive(body: http.IncomingMessage, declared: number | undefined): Promise<object> };
  /** Serves MCP (Streamable HTTP) at `/mcp`: core/src/mcp/. */
  mcp?: (req: http.IncomingMessage, res: http.ServerResponse, surface: 'http' | 'local') => Promise<void>;
  /** Finds a package's web UI for `/app/<id>/…` (throws a HearthError when there is none to reach). */
  apps?: (id: string) => AppTarget;
  /** A package's icon for the web UI's tiles (`/icons/<id>`); undefined when it has none. */
  icons?: (id: string) => Promise<{ type: string; body: Buffer; version: string } | undefined>;
  /** Capability paths for packages' sandboxed pages (app-capability.ts). */
  appCapabilities?: AppCapabilities;
  /** Serves everything that is not the API (the web UI, in its own issue). */
  fallback?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** ACME HTTP-01 answers for the box's custom domains (acme-challenge.ts). */
  acmeChallenge?: AcmeChallenges;
  /** Whether a Host header names this box (host-check.ts); the local socket is not asked. */
  hostAllowed?: (host: string | undefined) => boolean;
  /** The HTTPS port once the box serves HTTPS; the plain port then sends browsers there (plain-http.ts). */
  httpsPort?: () => number | undefined;
  /** The box's root CA for `/hearth-ca.*` (undefined before setup). */
  ca?: () => CaFiles | undefined;
}

/**
 * The HTTP side of the registry: `POST /rpc/v1` (JSON-RPC 2.0, batches, notifications)
 * and the WebSocket `/ws` (the same calls, plus streams). The same handler serves the
 * TCP port and the box's local socket; only the surface name differs.
 */
export class HttpSurface {
  readonly #o: HttpSurfaceOptions;
  readonly #wss: WebSocketServer;
  #inFlight = 0;
  #idle: (() => void) | undefined;
  /** Open WebSocket connections, with the caller each was opened as and how to end it. */
  readonly #sockets = new Map<WebSocket, { creds: Credentials; caller: Caller; end: () => void }>();

  constructor(options: HttpSurfaceOptions) {
    this.#o = options;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: options.maxBodyBytes });
  }

  /** Creates a node:http server answering as `surface`. */
  createServer(surface: Extract<Surface, 'http' | 'local'>): http.Server {
    return this.#serve(http.createServer({ maxHeaderSize: 16 * 1024 }), surface);
  }

  /**
   * The same, over TLS: `sni` picks the certificate for the name a client asks for; a
   * client that names none (an address) gets the server's default (`setSecureContext`).
   */
  createSecureServer(sni: (servername: string) => tls.SecureContext | undefined): https.Server {
    const server = https.createServer({
      maxHeaderSize: 16 * 1024,
      minVersion: 'TLSv1.2',
      // A connection that never finishes its handshake is cut, as one that never sends headers.
      handshakeTimeout: 10_000,
      SNICallback: (name, done) => {
        const context = sni(name);
        if (context) done(null, context);
        else done(new Error('no certificate yet'));
      },
    });
    // A bad handshake (plain HTTP, garbage, an unknown name) ends its connection, nothing else.
    server.on('tlsClientError', (_error, socket) => socket.destroy());
    return this.#serve(server, 'http');
  }

  #serve<S extends http.Server>(server: S, surface: Extract<Surface, 'http' | 'local'>): S {
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.#track(
        this.#onRequest(req, res, surface).catch((error: unknown) => {
          // A bug must still get an answer, never a hung connection.
          this.#o.log.error('request failed', { error });
          if (!res.headersSent) send(res, 500, errorResponse(null, error));
          else res.destroy();
        }),
      );
    });
    server.on('upgrade', (req, socket, head) => this.#onUpgrade(req, socket, head, surface));
    server.headersTimeout = 20_000;
    server.requestTimeout = 120_000;
    return server;
  }

  /**
   * Ends the connections whose credential has ended since they opened (a token revoked,
   * a session killed, logged out or expired): each of their streams ends saying why,
   * then the connection closes (4401). Called whenever credentials change, and now and
   * then for sessions that simply expire.
   */
  recheck(): void {
    for (const c of this.#sockets.values()) {
      if (c.caller.kind !== 'session' && c.caller.kind !== 'token') continue;
      const now = this.#o.identify(c.creds).caller;
      if (now.kind !== c.caller.kind || now.id !== c.caller.id) c.end();
    }
  }

  /**
   * Resolves once no call is running (for a clean stop), or after `graceMs` with the
   * calls still running left behind (logged): a call that never ends (a download that
   * trickles forever) must not keep the daemon from stopping.
   */
  async drain(graceMs: number): Promise<void> {
    for (const ws of this.#sockets.keys()) ws.close(1001, 'the daemon is stopping');
    if (this.#inFlight === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => {
      this.#idle = () => resolve(true);
    });
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const drained = await Promise.race([idle, late]);
    clearTimeout(timer);
    if (!drained) this.#o.log.warn('stopping with calls still running', { calls: this.#inFlight });
  }

  async #track(p: Promise<void>): Promise<void> {
    this.#inFlight += 1;
    try {
      await p;
    } catch (error) {
      this.#o.log.error('request failed', { error });
    } finally {
      this.#inFlight -= 1;
      if (this.#inFlight === 0) this.#idle?.();
    }
  }

  async #onRequest(req: http.IncomingMessage, res: http.ServerResponse, surface: Surface): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    if (surface !== 'local' && url.pathname.startsWith(ACME_CHALLENGE) && this.#o.acmeChallenge) {
      const token = url.pathname.slice(ACME_CHALLENGE.length);
      return answerAcmeChallenge(req, res, token, this.#o.acmeChallenge, this.#o.hostAllowed);
    }
    if (surface !== 'local' && this.#o.hostAllowed && !this.#o.hostAllowed(req.headers.host)) {
      return refuseBody(req, res, 421, errorResponse(null, new MisdirectedHost(req.headers.host)));
    }
    if (surface === 'http' && !isSecure(req)) {
      const rule = plainRuleOf(req, url, this.#o.httpsPort?.());
      if (rule.kind === 'redirect') {
        req.resume();
        res.writeHead(308, { Location: rule.location, 'Cache-Control': 'no-store' }).end();
        return;
      }
      if (rule.kind === 'refuse') {
        const port = this.#o.httpsPort?.();
        const to = `https://${req.headers.host?.replace(/:\d+$/, '') ?? 'the box'}${port === 443 ? '' : `:${port}`}${url.pathname}`;
        return refuseBody(req, res, 403, errorResponse(null, new HttpsRequired(to)));
      }
    }
    if (CA_PATHS.has(url.pathname)) return serveCa(req, res, url.pathname, this.#o.ca?.());
    if (url.pathname === '/upload' && this.#o.uploads)
      return this.#onUpload(req, res, surface, this.#o.uploads);
    if (url.pathname === '/mcp' && this.#o.mcp)
      return this.#o.mcp(req, res, surface === 'local' ? 'local' : 'http');
    const icon = ICON_PATH.exec(url.pathname);
    if (icon && this.#o.icons) {
      const authorize = () =>
        this.#o.dispatcher.authorize('read', this.#transport(req, surface, {}), { readOnly: true });
      return serveIcon(req, res, icon[1]!, { authorize, icons: this.#o.icons, log: this.#o.log });
    }
    const app = APP_PATH.exec(url.pathname);
    if (app && this.#o.apps) return this.#onApp(req, res, surface, app[1]!, app[2] ?? '/', url.search);
    if (url.pathname !== '/rpc/v1') {
      if (this.#o.fallback) return this.#o.fallback(req, res);
      return send(res, 404, { error: 'not found' });
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return send(res, 405, { error: 'use POST with a JSON-RPC 2.0 body' });
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      // Also keeps other sites' plain HTML forms out: they cannot send this type.
      return refuseBody(req, res, 415, errorResponse(null, new UnsupportedMediaType('application/json')));
    }
    const transport = this.#transport(req, surface, {
      sessionCookie: {
        set: (token, expiresAt) =>
          res.appendHeader('Set-Cookie', sessionCookie(token, expiresAt, isSecure(req))),
        clear: () => res.appendHeader('Set-Cookie', sessionCookie('', 0, isSecure(req))),
      },
    });
    try {
      this.#o.dispatcher.admit(transport);
    } catch (error) {
      res.setHeader('Retry-After', String(retryAfterOf(error)));
      return refuseBody(req, res, 429, errorResponse(null, error));
    }
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req, this.#o.maxBodyBytes));
    } catch (e) {
      if (e instanceof PayloadTooLarge) return refuseBody(req, res, 413, errorResponse(null, e));
      return send(res, 400, errorResponse(null, new ParseError()));
    }
    const answer = await this.#o.dispatcher.handle(body, transport);
    if (answer === undefined) {
      res.writeHead(204, { 'Cache-Control': 'no-store' }).end();
      return;
    }
    send(res, 200, answer);
  }

  /**
   * `POST /upload`: the raw body (application/octet-stream) is streamed to disk under the
   * size limit, for an admin; the answer names the upload for the method that uses it.
   */
  async #onUpload(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    surface: Surface,
    uploads: NonNullable<HttpSurfaceOptions['uploads']>,
  ): Promise<void> {
    const refuse = (status: number, error: unknown) =>
      refuseBody(req, res, status, errorResponse(null, error, this.#o.log, 'upload'));
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return refuse(405, new InvalidRequest('send the file with POST /upload'));
    }
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/octet-stream')
      return refuse(415, new UnsupportedMediaType('application/octet-stream'));
    const length = req.headers['content-length'];
    const declared = length === undefined ? undefined : Number(length);
    try {
      const received = await this.#o.dispatcher.perform(
        'upload',
        'admin',
        this.#transport(req, surface, {}),
        declared === undefined ? {} : { bytes: declared },
        () => uploads.receive(req, declared),
      );
      send(res, 201, received);
    } catch (error) {
      refuse(statusOf(error), error);
    }
  }

  /** The capability in a path under `/app/<id>`, when it starts with one. */
  #capabilityIn(rest: string): string | undefined {
    const first = rest.split('/')[1] ?? '';
    return this.#o.appCapabilities && AppCapabilities.isCapability(first) ? first : undefined;
  }

  /** Who asks for a package's page: the caller a capability was made for, or as the request says. */
  #appTransport(
    req: http.IncomingMessage,
    surface: Surface,
    id: string,
    capability: string | undefined,
  ): Transport {
    const transport = this.#transport(req, surface, {});
    if (!capability) return transport;
    const identity = this.#o.appCapabilities!.verify(capability, id);
    if (!identity) throw new ExpiredAppLink(id);
    return { ...transport, identify: () => identity };
  }

  /**
   * `/app/<id>/…`: a package's web UI, for a caller who may operate the box; sandboxed,
   * so a browser moves from the box's cookie to a capability path (app-capability.ts).
   */
  #onApp(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    surface: Surface,
    id: string,
    rest: string,
    search: string,
  ): void {
    const caps = this.#o.appCapabilities;
    const capability = this.#capabilityIn(rest);
    const readOnly = req.method === 'GET' || req.method === 'HEAD';
    let target: AppTarget;
    let transport: Transport;
    try {
      transport = this.#appTransport(req, surface, id, capability);
      if (capability && req.method === 'OPTIONS' && req.headers.origin === 'null') {
        req.resume();
        answerPreflight(req, res);
        return;
      }
      this.#o.dispatcher.authorize('operate', transport, { readOnly });
      target = this.#o.apps!(id);
    } catch (error) {
      req.resume();
      res.setHeader('Cache-Control', 'no-store');
      // A person opening an app while signed out goes to the sign-in page, then back here.
      if (!capability && statusOf(error) === 401 && isPageNavigation(req)) {
        const next = `/app/${id}${rest}${search}`;
        res.writeHead(303, {
          Location: `/?next=${encodeURIComponent(next)}`,
          'Referrer-Policy': 'no-referrer',
        });
        res.end();
        return;
      }
      send(res, statusOf(error), errorResponse(null, error, this.#o.log, 'app'));
      return;
    }
    const identity = transport.identify();
    if (!capability && caps && readOnly && identity.viaCookie && identity.caller.kind === 'session') {
      req.resume();
      res.writeHead(303, {
        Location: `/app/${id}/${caps.mint(identity.caller, id)}${rest}${search}`,
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
      });
      res.end();
      return;
    }
    const { prefix, path } = appRoute(id, rest, search, capability);
    proxyToApp(
      req,
      res,
      {
        id,
        target,
        path,
        prefix,
        sessionCookie: SESSION_COOKIE,
        opaqueOrigin: capability !== undefined && req.headers.origin === 'null',
      },
      this.#o.log,
    );
  }

  #transport(req: http.IncomingMessage, surface: Surface, extra: Partial<Transport>): Transport {
    const creds = credentialsOf(req);
    return {
      identify: () => this.#o.identify(creds),
      sameOrigin: isSameOrigin(req),
      address: surface === 'local' ? 'local' : clientAddress(req),
      userAgent: String(req.headers['user-agent'] ?? '').slice(0, 300),
      surface,
      secure: isSecure(req),
      ...extra,
    };
  }

  #onUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, surface: Surface): void {
    // node:http hands the socket over without its own error listener: a reset now (or
    // before ws adds its own) must end this connection, not the process.
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://x');
    if (surface !== 'local' && this.#o.hostAllowed && !this.#o.hostAllowed(req.headers.host)) {
      socket.end('HTTP/1.1 421 Misdirected Request\r\nConnection: close\r\n\r\n');
      return;
    }
    if (
      surface === 'http' &&
      !isSecure(req) &&
      plainRuleOf(req, url, this.#o.httpsPort?.()).kind === 'refuse'
    ) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const app = APP_PATH.exec(url.pathname);
    if (app && this.#o.apps) {
      this.#onAppUpgrade(req, socket, head, surface, app[1]!, app[2] ?? '/', url.search);
      return;
    }
    // Browsers always send Origin on a WebSocket; another site's page must not ride our cookie.
    if (url.pathname !== '/ws' || (req.headers.origin !== undefined && !isSameOrigin(req))) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
      return;
    }
    const as = surface === 'local' ? 'local' : 'ws';
    this.#wss.handleUpgrade(req, socket, head, (ws) =>
      serveWebSocket(ws, req, as, {
        dispatcher: this.#o.dispatcher,
        identify: this.#o.identify,
        log: this.#o.log,
        transport: (extra) => this.#transport(req, as, extra),
        track: (p) => void this.#track(p),
        register: (entry) => this.#sockets.set(ws, entry),
        unregister: () => this.#sockets.delete(ws),
      }),
    );
  }

  /**
   * A WebSocket to a package's web UI: allowed as a page of it would be — by its capability
   * path (a sandboxed page, Origin `null`), or by the session cookie from the box's own
   * origin (never from another site's page).
   */
  #onAppUpgrade(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    surface: Surface,
    id: string,
    rest: string,
    search: string,
  ): void {
    const capability = this.#capabilityIn(rest);
    let target: AppTarget;
    try {
      const transport = this.#appTransport(req, surface, id, capability);
      if (!capability && req.headers.origin !== undefined && !isSameOrigin(req)) {
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      this.#o.dispatcher.authorize('operate', transport, { readOnly: false });
      target = this.#o.apps!(id);
    } catch (error) {
      const status = statusOf(error);
      socket.end(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      return;
    }
    const { prefix, path } = appRoute(id, rest, search, capability);
    proxyUpgradeToApp(
      req,
      socket,
      head,
      { id, target, path, prefix, sessionCookie: SESSION_COOKIE },
      this.#o.log,
    );
  }
}

/** Where the browser sees a package's pages, and the path to ask the package for. */
function appRoute(id: string, rest: string, search: string, capability: string | undefined) {
  return {
    prefix: capability ? `/app/${id}/${capability}` : `/app/${id}`,
    path: (capability ? rest.slice(capability.length + 1) || '/' : rest) + search,
  };
}

class ExpiredAppLink extends HearthError {
  constructor(id: string) {
    super(
      'unauthorized',
      'this link to a package’s page is no longer valid (you logged out, or the box restarted)',
      {
        hint: `open the package again: /app/${id}/`,
      },
    );
  }
}
