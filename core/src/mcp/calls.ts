import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  ErrorCode,
  McpError,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { Credentials } from '../auth/auth.ts';
import type { Dispatcher, Identity, RpcResponse, Transport } from '../rpc/dispatch.ts';
import type { Caller } from '../rpc/registry.ts';

/** What the SDK hands each request handler: the request's id, signal, auth info and meta. */
export type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What each HTTP request tells the calls it carries about who sent them. */
export interface RequestAuth {
  creds: Credentials;
  /** Who sent the request, identified as it arrived (calls into the Dispatcher check again). */
  caller: Caller;
  sameOrigin: boolean;
  secure: boolean;
  address: string;
  userAgent: string;
}

export interface CallOptions {
  dispatcher: Dispatcher;
  identify: (creds: Credentials) => Identity;
}

export function requestAuth(extra: Extra): RequestAuth {
  const auth = extra.authInfo?.extra?.['request'] as RequestAuth | undefined;
  // Every request reaches the server through handle(), which always attaches it.
  if (!auth) throw new McpError(ErrorCode.InternalError, 'a request without its credentials');
  return auth;
}

export const callerOf = (extra: Extra): Caller => requestAuth(extra).caller;

/** One call through the Dispatcher, as the credential of the HTTP request that carried it. */
export function callMethod(
  o: CallOptions,
  method: string,
  params: unknown,
  extra: Extra,
  more: Partial<Transport> = {},
): Promise<RpcResponse> {
  const auth = requestAuth(extra);
  const transport: Transport = {
    identify: () => o.identify(auth.creds),
    sameOrigin: auth.sameOrigin,
    secure: auth.secure,
    address: auth.address,
    userAgent: auth.userAgent,
    surface: 'mcp',
    ...more,
  };
  // A call with an id always gets an answer.
  return o.dispatcher.handleOne({ jsonrpc: '2.0', id: 1, method, params }, transport) as Promise<RpcResponse>;
}

/**
 * A long call's progress (`call.progress`: a step, maybe counts) as MCP progress
 * notifications, where the client asked for them with a progress token. MCP's progress
 * must only grow, and each step counts anew: it is the number of the report, and the
 * step and its counts are the message.
 */
export function progressFor(extra: Extra): Pick<Transport, 'notify'> {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return {};
  let reports = 0;
  return {
    notify: (method, params) => {
      if (method !== 'call.progress') return;
      const p = params as { step?: string; done?: number; total?: number };
      const counts = p.done !== undefined && p.total !== undefined ? ` ${p.done}/${p.total}` : '';
      extra
        .sendNotification({
          method: 'notifications/progress',
          params: { progressToken, progress: ++reports, message: `${p.step ?? 'working'}${counts}` },
        })
        .catch(() => {});
    },
  };
}
