import type http from 'node:http';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Credentials } from '../auth/auth.ts';
import { HearthError, Unauthorized } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import type { Dispatcher, Identity } from '../rpc/dispatch.ts';
import { toRpcError } from '../rpc/errors.ts';
import {
  clientAddress,
  credentialsOf,
  isSameOrigin,
  isSecure,
  readBody,
  refuseBody,
  send,
} from '../rpc/http-util.ts';
import type { Registry } from '../rpc/registry.ts';
import type { StateDocument } from '../state/state-doc.ts';
import type { RequestAuth } from './calls.ts';
import { serveProtocol } from './protocol.ts';
import { ownerOf, type Session, SessionTable } from './sessions.ts';
import { notifyResourceChanges } from './subscriptions.ts';
import { pipeResponse, toWebRequest } from './web-adapter.ts';

export interface McpOptions {
  registry: Registry;
  dispatcher: Dispatcher;
  state: StateDocument;
  identify: (creds: Credentials) => Identity;
  isSetupMode: () => boolean;
  maxBodyBytes: number;
  log: Logger;
}

/**
 * The MCP server at `/mcp` (Streamable HTTP): each request is checked here (method, Origin,
 * credential, body size), then handed to its session's transport with the credential it
 * came with. What a session answers is `protocol.ts`: the registry's tools, the state
 * document as resources with subscriptions fed by its patch stream, the `operate-hearth`
 * prompt, every call through the Dispatcher like any other.
 */
export class McpService {
  readonly #o: McpOptions;
  readonly #sessions: SessionTable;
  readonly #unsubscribe: () => void;
  #closed = false;

  constructor(options: McpOptions) {
    this.#o = options;
    this.#sessions = new SessionTable({
      identify: options.identify,
      serve: (session) => serveProtocol(session, options),
      log: options.log,
    });
    this.#unsubscribe = notifyResourceChanges(options.state, this.#sessions, options.log);
  }

  /** Answers one HTTP request to `/mcp` (POST, GET or DELETE). */
  async handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    surface: 'http' | 'local',
  ): Promise<void> {
    if (this.#closed) return sendError(res, 503, new HearthError('unavailable', 'the daemon is stopping'));
    if (!['POST', 'GET', 'DELETE'].includes(req.method ?? '')) {
      res.setHeader('Allow', 'POST, GET, DELETE');
      return send(res, 405, rpcError(-32000, 'MCP takes POST (messages), GET (the stream) and DELETE'));
    }
    if (!originAllowed(req)) {
      return sendError(
        res,
        403,
        new HearthError('cross_origin', 'requests from pages of other sites are refused', {
          hint: 'connect from an MCP client, not from a web page',
        }),
      );
    }
    const creds = credentialsOf(req);
    const identity = this.#o.identify(creds);
    if (identity.caller.kind === 'anonymous') {
      res.setHeader('WWW-Authenticate', 'Bearer realm="hearth"');
      return sendError(
        res,
        401,
        identity.error ??
          new Unauthorized('MCP needs a credential', {
            hint:
              'send Authorization: Bearer <API token>; create one with `hearth auth token create --name ' +
              'my-agent --scope operate` (or read / admin)',
          }),
      );
    }
    const owner = ownerOf(identity.caller);
    let body: unknown;
    if (req.method === 'POST') {
      try {
        body = JSON.parse(await readBody(req, this.#o.maxBodyBytes));
      } catch (e) {
        if (e instanceof HearthError) return refuseBody(req, res, 413, rpcErrorOf(e));
        return send(res, 400, rpcError(-32700, 'the body is not valid JSON'));
      }
    }
    const sessionId = req.headers['mcp-session-id'];
    let session: Session | undefined;
    if (typeof sessionId === 'string') {
      session = this.#sessions.get(sessionId);
      // Someone else's session is as unknown as a session that ended.
      if (session?.owner !== owner) {
        return send(res, 404, rpcError(-32001, 'Session not found: start a new one with initialize'));
      }
    } else if (req.method === 'POST' && isInitializeRequest(body)) {
      session = await this.#sessions.open(owner, creds);
    } else {
      return send(res, 400, rpcError(-32000, 'Bad Request: Mcp-Session-Id header is required'));
    }
    session.lastSeen = Date.now();
    const auth: RequestAuth = {
      creds,
      caller: identity.caller,
      sameOrigin: isSameOrigin(req),
      secure: isSecure(req),
      address: surface === 'local' ? 'local' : clientAddress(req),
      userAgent: String(req.headers['user-agent'] ?? '').slice(0, 300),
    };
    const response = await session.transport.handleRequest(toWebRequest(req), {
      parsedBody: body,
      authInfo: { token: creds.bearer ?? '', clientId: owner, scopes: [], extra: { request: auth } },
    });
    const piped = pipeResponse(response, res, session);
    // A GET stream stays open for the session's life: not a call a clean stop waits for.
    if (req.method !== 'GET') await piped;
  }

  /** Ends every session (the daemon is stopping): streams close, calls waiting on a person fail. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    await this.#sessions.close();
  }

  /** Ends the sessions whose credential has ended (revoked, killed, expired): their streams close. */
  recheck(): void {
    this.#sessions.recheck();
  }
}

/**
 * Browsers send Origin, and only a page of the box itself may use /mcp from one. DNS
 * rebinding (a hostile name pointed at the box, which makes Origin and Host equal) is
 * stopped before this, for every surface, by the Host check (rpc/host-check.ts).
 */
export function originAllowed(req: http.IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

const rpcError = (code: number, message: string) => ({ jsonrpc: '2.0', id: null, error: { code, message } });

const rpcErrorOf = (error: HearthError) => ({ jsonrpc: '2.0', id: null, error: toRpcError(error) });

function sendError(res: http.ServerResponse, status: number, error: HearthError): void {
  send(res, status, rpcErrorOf(error));
}
