import type http from 'node:http';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  isInitializeRequest,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Credentials } from '../auth/auth.ts';
import { HearthError, Unauthorized } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import type { Dispatcher, Identity } from '../rpc/dispatch.ts';
import { type RpcErrorObject, toRpcError } from '../rpc/errors.ts';
import {
  clientAddress,
  credentialsOf,
  isSameOrigin,
  isSecure,
  readBody,
  refuseBody,
  send,
} from '../rpc/http.ts';
import type { MethodDef, Registry } from '../rpc/registry.ts';
import type { Json } from '../state/json-patch.ts';
import type { StateDocument } from '../state/state-doc.ts';
import { callerOf, callMethod, type Extra, progressFor, type RequestAuth } from './calls.ts';
import { confirmCall } from './confirmation.ts';
import { operatePrompt, PROMPT_DESCRIPTION, PROMPT_NAME } from './prompt.ts';
import { LOGS_TEMPLATE, listResources, parseUri, STATE_URI, select } from './resources.ts';
import { ownerOf, type Session, SessionTable } from './sessions.ts';
import { notifyResourceChanges } from './subscriptions.ts';
import { CONFIRM_ARG, isTool, mayCall, toolOf, toolsFor } from './tools.ts';
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

const LOG_LINES = 200;
// JSON-RPC error code of MCP for an unknown resource.
const RESOURCE_NOT_FOUND = -32002;
// The box's own JSON-RPC code for rate_limited (rpc/errors.ts), kept for resource reads.
const RPC_RATE_LIMITED = -32029;

/**
 * The MCP server at `/mcp` (Streamable HTTP): every method of the registry that makes sense
 * as a tool, filtered by the caller's scope; the state document as resources with
 * subscriptions fed by its patch stream; the `operate-hearth` prompt. Every tool call and
 * resource read goes through the Dispatcher like any other call: access, params, audit.
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
      serve: (session) => this.#serve(session),
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

  // --- the protocol ------------------------------------------------------------

  #serve(session: Session): void {
    const { server } = session;
    server.setRequestHandler(ListToolsRequestSchema, (_, extra) => ({
      tools: toolsFor(this.#o.registry.list(), callerOf(extra), this.#o.isSetupMode()),
    }));

    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const method = this.#o.registry.get(request.params.name);
      if (!method || !isTool(method)) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `there is no tool '${request.params.name}' — tools/list shows the tools you can call`,
        );
      }
      const { [CONFIRM_ARG]: confirm, ...args } = request.params.arguments ?? {};
      const params = method.annotations.destructive ? args : (request.params.arguments ?? {});
      const answer = await callMethod(this.#o, method.name, params, extra, {
        confirm: (m, p) => confirmCall(session.server, extra, m, p, confirm, this.#o.log),
        ...progressFor(extra),
      });
      if ('error' in answer) {
        if (answer.error.data?.code === 'internal') {
          throw new McpError(
            ErrorCode.InternalError,
            'internal error: the daemon’s log (server.logs) says more',
          );
        }
        return errorResult(answer.error, this.#moreAbout(method, answer.error));
      }
      const result = answer.result;
      return {
        content: [{ type: 'text', text: JSON.stringify(result) }],
        ...(toolOf(method).outputSchema && isRecord(result) ? { structuredContent: result } : {}),
      };
    });

    server.setRequestHandler(ListResourcesRequestSchema, (_, extra) => {
      if (!this.#mayRead(extra)) return { resources: [] };
      return { resources: listResources(this.#o.state.get() ?? {}) };
    });

    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
      resourceTemplates: [
        {
          uriTemplate: LOGS_TEMPLATE,
          name: 'package-logs',
          title: 'Package logs',
          description: `The last ${LOG_LINES} lines a package printed: its runtime’s messages and its daemons’ output.`,
          mimeType: 'text/plain',
        },
      ],
    }));

    server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
      const { uri } = request.params;
      const target = parseUri(uri);
      if (!target) throw notFound(uri);
      if (target.kind === 'logs') {
        const logs = (await this.#read('package.logs', { id: target.id, lines: LOG_LINES }, extra)) as {
          lines: string[];
        };
        return { contents: [{ uri, mimeType: 'text/plain', text: logs.lines.join('\n') }] };
      }
      const { state } = (await this.#read('state.get', {}, extra)) as { state: Json };
      const value = select(state, target.path);
      if (value === undefined) throw notFound(uri);
      return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
    });

    server.setRequestHandler(SubscribeRequestSchema, (request, extra) => {
      const target = parseUri(request.params.uri);
      if (target?.kind !== 'state') {
        throw new McpError(
          ErrorCode.InvalidParams,
          `only resources under ${STATE_URI} can be subscribed to, not ${request.params.uri}`,
        );
      }
      if (!this.#mayRead(extra))
        throw new McpError(ErrorCode.InvalidRequest, 'this credential cannot read the state');
      session.subscriptions.add(request.params.uri);
      return {};
    });

    server.setRequestHandler(UnsubscribeRequestSchema, (request) => {
      session.subscriptions.delete(request.params.uri);
      session.changed.delete(request.params.uri);
      return {};
    });

    server.setRequestHandler(ListPromptsRequestSchema, () => ({
      prompts: [
        {
          name: PROMPT_NAME,
          title: 'Operate this Hearth box',
          description: PROMPT_DESCRIPTION,
          arguments: [{ name: 'goal', description: 'what you want to get done (optional)', required: false }],
        },
      ],
    }));

    server.setRequestHandler(GetPromptRequestSchema, (request, extra) => {
      if (request.params.name !== PROMPT_NAME) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `there is no prompt '${request.params.name}': try ${PROMPT_NAME}`,
        );
      }
      const tools = toolsFor(this.#o.registry.list(), callerOf(extra), this.#o.isSetupMode());
      return {
        description: PROMPT_DESCRIPTION,
        messages: [
          {
            role: 'user',
            content: { type: 'text', text: operatePrompt(tools, request.params.arguments?.['goal']) },
          },
        ],
      };
    });
  }

  /** A resource read: the method's result, or a protocol error that says what went wrong. */
  async #read(method: string, params: object, extra: Extra): Promise<unknown> {
    const answer = await callMethod(this.#o, method, params, extra);
    if ('result' in answer) return answer.result;
    const e = answer.error;
    if (e.data?.code === 'not_found') throw new McpError(RESOURCE_NOT_FOUND, withHint(e));
    if (e.data?.code === 'rate_limited') throw new McpError(RPC_RATE_LIMITED, withHint(e));
    throw new McpError(
      e.data?.code === 'internal' ? ErrorCode.InternalError : ErrorCode.InvalidRequest,
      withHint(e),
    );
  }

  #mayRead(extra: Extra): boolean {
    const stateGet = this.#o.registry.get('state.get');
    return stateGet !== undefined && mayCall(stateGet, callerOf(extra), this.#o.isSetupMode());
  }

  /** What an agent can do about a failed call beyond the error's own hint. */
  #moreAbout(method: MethodDef, error: RpcErrorObject): string | undefined {
    // A package that does not exist: name the ones that do.
    if (error.data?.code === 'not_found' && method.name.startsWith('package.')) {
      const packages = this.#o.state.get('packages');
      const ids =
        packages && typeof packages === 'object' && !Array.isArray(packages) ? Object.keys(packages) : [];
      return ids.length > 0 ? `The installed packages are: ${ids.join(', ')}.` : 'No package is installed.';
    }
    if (error.data?.code === 'invalid_params')
      return `The tool's inputSchema (tools/list) says what ${method.name} takes.`;
    return undefined;
  }
}

// --- helpers -----------------------------------------------------------------

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const withHint = (e: RpcErrorObject): string => (e.data?.hint ? `${e.message} — ${e.data.hint}` : e.message);

/** A failed call as a tool result the agent can act on: what happened, and what to do next. */
function errorResult(e: RpcErrorObject, more?: string): CallToolResult {
  const next = [e.data?.hint, more].filter(Boolean).join('. ');
  const text = `${e.message} (${e.data?.code ?? 'error'})${next ? `. What to do: ${next}` : ''}`;
  return { isError: true, content: [{ type: 'text', text }] };
}

const notFound = (uri: string) =>
  new McpError(
    RESOURCE_NOT_FOUND,
    `there is no resource ${uri} — resources/list and resources/templates/list show them`,
  );

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
