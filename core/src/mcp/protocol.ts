import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from '../log/log.ts';
import type { RpcErrorObject } from '../rpc/errors.ts';
import type { MethodDef, Registry } from '../rpc/registry.ts';
import type { Json } from '../state/json-patch.ts';
import type { StateDocument } from '../state/state-doc.ts';
import { type CallOptions, callerOf, callMethod, type Extra, progressFor } from './calls.ts';
import { confirmCall } from './confirmation.ts';
import { operatePrompt, PROMPT_DESCRIPTION, PROMPT_NAME } from './prompt.ts';
import { LOGS_TEMPLATE, listResources, parseUri, STATE_URI, select } from './resources.ts';
import type { Session } from './sessions.ts';
import { CONFIRM_ARG, isTool, mayCall, toolOf, toolsFor } from './tools.ts';

export interface ProtocolOptions extends CallOptions {
  registry: Registry;
  state: StateDocument;
  isSetupMode: () => boolean;
  log: Logger;
}

const LOG_LINES = 200;
// JSON-RPC error code of MCP for an unknown resource.
const RESOURCE_NOT_FOUND = -32002;
// The box's own JSON-RPC code for rate_limited (rpc/errors.ts), kept for resource reads.
const RPC_RATE_LIMITED = -32029;

/**
 * MCP's requests on one session: the registry's tools, filtered by the caller's scope; the
 * state document and package logs as resources, with subscriptions; the `operate-hearth`
 * prompt. Every tool call and resource read goes through the Dispatcher like any other
 * call: access, params, audit.
 */
export function serveProtocol(session: Session, o: ProtocolOptions): void {
  const { server } = session;
  server.setRequestHandler(ListToolsRequestSchema, (_, extra) => ({
    tools: toolsFor(o.registry.list(), callerOf(extra), o.isSetupMode()),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const method = o.registry.get(request.params.name);
    if (!method || !isTool(method)) {
      throw new McpError(
        ErrorCode.InvalidParams,
        `there is no tool '${request.params.name}' — tools/list shows the tools you can call`,
      );
    }
    const { [CONFIRM_ARG]: confirm, ...args } = request.params.arguments ?? {};
    const params = method.annotations.destructive ? args : (request.params.arguments ?? {});
    const answer = await callMethod(o, method.name, params, extra, {
      confirm: (m, p) => confirmCall(session.server, extra, m, p, confirm, o.log),
      ...progressFor(extra),
    });
    if ('error' in answer) {
      if (answer.error.data?.code === 'internal') {
        throw new McpError(
          ErrorCode.InternalError,
          'internal error: the daemon’s log (server.logs) says more',
        );
      }
      return errorResult(answer.error, suggestNextStep(o, method, answer.error));
    }
    const result = answer.result;
    return {
      content: [{ type: 'text', text: JSON.stringify(result) }],
      ...(toolOf(method).outputSchema && isRecord(result) ? { structuredContent: result } : {}),
    };
  });

  server.setRequestHandler(ListResourcesRequestSchema, (_, extra) => {
    if (!mayReadState(o, extra)) return { resources: [] };
    return { resources: listResources(o.state.get() ?? {}) };
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
      const logs = (await readResult(o, 'package.logs', { id: target.id, lines: LOG_LINES }, extra)) as {
        lines: string[];
      };
      return { contents: [{ uri, mimeType: 'text/plain', text: logs.lines.join('\n') }] };
    }
    const { state } = (await readResult(o, 'state.get', {}, extra)) as { state: Json };
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
    if (!mayReadState(o, extra))
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
    const tools = toolsFor(o.registry.list(), callerOf(extra), o.isSetupMode());
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
async function readResult(
  o: ProtocolOptions,
  method: string,
  params: object,
  extra: Extra,
): Promise<unknown> {
  const answer = await callMethod(o, method, params, extra);
  if ('result' in answer) return answer.result;
  const e = answer.error;
  if (e.data?.code === 'not_found') throw new McpError(RESOURCE_NOT_FOUND, withHint(e));
  if (e.data?.code === 'rate_limited') throw new McpError(RPC_RATE_LIMITED, withHint(e));
  throw new McpError(
    e.data?.code === 'internal' ? ErrorCode.InternalError : ErrorCode.InvalidRequest,
    withHint(e),
  );
}

// The resources are the state document: who may call state.get may list them and subscribe.
function mayReadState(o: ProtocolOptions, extra: Extra): boolean {
  const stateGet = o.registry.get('state.get');
  return stateGet !== undefined && mayCall(stateGet, callerOf(extra), o.isSetupMode());
}

/** What an agent can do about a failed call beyond the error's own hint. */
function suggestNextStep(o: ProtocolOptions, method: MethodDef, error: RpcErrorObject): string | undefined {
  // A package that does not exist: name the ones that do.
  if (error.data?.code === 'not_found' && method.name.startsWith('package.')) {
    const packages = o.state.get('packages');
    const ids =
      packages && typeof packages === 'object' && !Array.isArray(packages) ? Object.keys(packages) : [];
    return ids.length > 0 ? `The installed packages are: ${ids.join(', ')}.` : 'No package is installed.';
  }
  if (error.data?.code === 'invalid_params')
    return `The tool's inputSchema (tools/list) says what ${method.name} takes.`;
  return undefined;
}

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
