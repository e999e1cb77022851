import { z } from 'zod';
import type { AuditEntry } from '../audit/audit.ts';
import { redactParams } from '../audit/redact.ts';
import { checkAccess, needsSameOrigin } from '../auth/access.ts';
import type { Confirmation, Identity } from '../calls.ts';
import { HearthError, InvalidParams } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import type { Services } from '../services.ts';
import { AnswerTooLarge, BatchTooLarge, type CallLimits, MAX_BATCH } from './call-limits.ts';
import {
  CrossOrigin,
  InvalidRequest,
  MethodNotFound,
  RPC,
  type RpcErrorObject,
  toRpcError,
} from './errors.ts';
import type { Access, Annotations, CallContext, MethodDef, Registry } from './registry.ts';

export type RpcId = string | number | null;

export type RpcResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: unknown }
  | { jsonrpc: '2.0'; id: RpcId; error: RpcErrorObject };

export type { Confirmation, Identity } from '../calls.ts';

/** What a surface knows about the connection a call came over. */
export interface Transport extends Omit<CallContext, 'services' | 'registry' | 'caller' | 'progress'> {
  /** Sends a notification to the caller, where the connection can carry one (WebSocket). */
  notify?: (method: string, params: object) => void;
  /** Resolved for every call, so a session ended meanwhile stops working at once. */
  identify(): Identity;
  /** The request proved it comes from our own origin (Origin matches, or custom header). */
  sameOrigin: boolean;
  /**
   * Asks the person to confirm a destructive call once its access and params are checked
   * (MCP). Resolves with how it was confirmed, for the audit log; throws to refuse.
   */
  confirm?: (method: MethodDef, params: unknown) => Promise<Confirmation>;
}

export interface DispatcherOptions {
  registry: Registry;
  services: Services;
  isSetupMode: () => boolean;
  audit: (entry: AuditEntry) => void;
  /** The call budgets, taken for every call before anything else is done for it. */
  limits: CallLimits;
  /** The answers to one batch together may be this large; past it, the rest answer answer_too_large. */
  maxAnswerBytes: number;
  log: Logger;
}

/**
 * JSON-RPC 2.0 processing for every surface: request validation, batches, notifications,
 * access, params validation, the call, result validation, audit.
 */
export class Dispatcher {
  readonly #o: DispatcherOptions;

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  /** Handles a parsed body: one request or a batch. Undefined means "send nothing". */
  async handle(body: unknown, t: Transport): Promise<RpcResponse | RpcResponse[] | undefined> {
    if (Array.isArray(body)) {
      if (body.length === 0)
        return errorResponse(null, new InvalidRequest('an empty batch is not a request'));
      if (body.length > MAX_BATCH) return errorResponse(null, new BatchTooLarge(body.length));
      const out = await Promise.all(body.map((r) => this.handleOne(r, t)));
      // Without a credential a batch gets less room: the public methods answer little.
      const cap =
        t.identify().caller.kind === 'anonymous'
          ? Math.min(this.#o.maxAnswerBytes, ANONYMOUS_ANSWER_BYTES)
          : this.#o.maxAnswerBytes;
      const responses = capped(
        out.filter((r): r is RpcResponse => r !== undefined),
        cap,
      );
      return responses.length === 0 ? undefined : responses;
    }
    return this.handleOne(body, t);
  }

  async handleOne(request: unknown, t: Transport): Promise<RpcResponse | undefined> {
    const shape = validate(requestShape, request);
    if (!shape.success) {
      const id = idOf(request);
      return errorResponse(id, new InvalidRequest('not a JSON-RPC 2.0 request object'));
    }
    const { id, method: name, params } = shape.data;
    const isNotification = !('id' in (request as object));
    const method = this.#o.registry.get(name);
    const started = performance.now();
    const identity = t.identify();
    let outcome: { result: unknown } | { error: unknown };
    const confirmed: { how?: Confirmation } = {};
    try {
      // Every call counts, also one that will be refused: refusing is work too.
      this.#o.limits.take(identity.caller, t.address);
      if (!method) throw new MethodNotFound(name);
      outcome = { result: await this.#invoke(method, params, identity, t, progressOf(t, id), confirmed) };
    } catch (error) {
      outcome = { error };
    }
    this.#audit(name, this.#redacted(name, method, params), identity, t, started, outcome, confirmed.how);
    if (isNotification) return undefined;
    if ('error' in outcome) return errorResponse(id ?? null, outcome.error, this.#o.log, name);
    return { jsonrpc: '2.0', id: id ?? null, result: outcome.result };
  }

  async #invoke(
    method: MethodDef,
    rawParams: unknown,
    identity: Identity,
    t: Transport,
    progress: CallContext['progress'],
    confirmed: { how?: Confirmation },
  ): Promise<unknown> {
    this.#authorize(method.access, method.annotations, identity, t);
    if (Array.isArray(rawParams)) {
      throw new InvalidParams('params must be an object of named fields, not an array');
    }
    const parsed = validate(method.params, rawParams ?? {});
    if (!parsed.success) {
      throw new InvalidParams(`invalid params for ${method.name}: ${describeIssues(parsed.error)}`, {
        data: { issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
      });
    }
    if (method.annotations.destructive && t.confirm) confirmed.how = await t.confirm(method, parsed.data);
    const ctx: CallContext = {
      ...t,
      services: this.#o.services,
      registry: this.#o.registry,
      caller: identity.caller,
      ...(progress ? { progress } : {}),
    };
    const result = await method.handler(parsed.data, ctx);
    const checked = method.result.safeParse(result);
    if (!checked.success) {
      this.#o.log.error('method returned a result that does not match its schema', {
        method: method.name,
        issues: describeIssues(checked.error),
      });
      throw new Error(`bad result from ${method.name}`);
    }
    return checked.data;
  }

  /**
   * Runs an operation that is not a JSON-RPC method (the streamed upload) under the same
   * rules as one: access, the same-origin proof for cookies, and an audit entry.
   */
  async perform<T>(
    name: string,
    access: Access,
    t: Transport,
    params: Record<string, unknown>,
    operation: () => Promise<T>,
  ): Promise<T> {
    const started = performance.now();
    const identity = t.identify();
    try {
      this.#o.limits.take(identity.caller, t.address);
      this.#authorize(access, { readOnly: false }, identity, t);
      const result = await operation();
      this.#audit(name, params, identity, t, started, { result });
      return result;
    } catch (error) {
      this.#audit(name, params, identity, t, started, { error });
      throw error;
    }
  }

  /**
   * The door: throws RateLimited when the transport's caller has no calls left, before the
   * request is read. Refused there, a flood costs a bucket lookup per request instead of
   * parsing, validating and auditing each call of each batch. Nothing is taken or audited.
   */
  admit(t: Transport): void {
    const started = performance.now();
    const identity = t.identify();
    try {
      this.#o.limits.check(identity.caller, t.address);
    } catch (error) {
      // Counted in the audit log's groups (one entry per address and minute), unread.
      this.#audit(REFUSED_AT_THE_DOOR, null, identity, t, started, { error });
      throw error;
    }
  }

  /** Throws unless the transport's caller has `access` (what a method call checks, without the audit entry). */
  authorize(access: Access, t: Transport, annotations: Pick<Annotations, 'readOnly'>): void {
    this.#authorize(access, annotations, t.identify(), t);
  }

  #authorize(
    access: Access,
    annotations: Pick<Annotations, 'readOnly'>,
    identity: Identity,
    t: Transport,
  ): void {
    try {
      checkAccess(access, identity.caller, this.#o.isSetupMode());
    } catch (e) {
      throw identity.error && identity.caller.kind === 'anonymous' ? identity.error : e;
    }
    if (needsSameOrigin(identity.caller, identity.viaCookie, annotations) && !t.sameOrigin) {
      throw new CrossOrigin();
    }
  }

  #redacted(name: string, method: MethodDef | undefined, rawParams: unknown): unknown {
    if (!method) return '[unknown method]';
    try {
      const dynamic =
        method.dynamicSchemas && isRecord(rawParams)
          ? method.dynamicSchemas(rawParams, this.#o.services)
          : undefined;
      return redactParams(method.params, rawParams, dynamic);
    } catch (error) {
      // The call has happened: it is recorded even if its params cannot be shown.
      this.#o.log.error('could not redact params for the audit log', { method: name, error });
      return '[unreadable]';
    }
  }

  #audit(
    name: string,
    params: unknown,
    identity: Identity,
    t: Transport,
    started: number,
    outcome: { result: unknown } | { error: unknown },
    confirmation?: Confirmation,
  ) {
    const caller = identity.caller;
    this.#o.audit({
      at: Date.now(),
      method: name,
      surface: t.surface,
      callerKind: caller.kind,
      callerId: caller.kind === 'session' || caller.kind === 'token' ? caller.id : null,
      callerName: caller.kind === 'token' ? caller.name : null,
      address: t.address,
      durationMs: performance.now() - started,
      outcome: 'error' in outcome ? 'error' : 'ok',
      errorCode: 'error' in outcome ? errorCode(outcome.error) : null,
      params,
      confirmation: confirmation ?? null,
    });
  }
}

/** The answers of one batch of calls without a credential together, at most (maxAnswerBytes otherwise). */
const ANONYMOUS_ANSWER_BYTES = 256 << 10;

/**
 * A batch's answers up to `cap` bytes together; those past it are replaced by an error,
 * unmeasured (measuring is serializing: a flood of big answers would cost it anyway).
 */
function capped(responses: RpcResponse[], cap: number): RpcResponse[] {
  let bytes = 0;
  return responses.map((r) => {
    if (bytes <= cap) bytes += JSON.stringify(r).length;
    return bytes > cap ? errorResponse(r.id, new AnswerTooLarge(cap)) : r;
  });
}

/** The audit log's name for requests refused before they were read (admit). */
export const REFUSED_AT_THE_DOOR = '(refused unread)';

const requestShape = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1).max(200),
  id: z.union([z.string().max(200), z.number(), z.null()]).optional(),
  params: z.union([z.record(z.string(), z.unknown()), z.array(z.unknown())]).optional(),
});

/**
 * `schema.safeParse(value)`, for what callers send: zod throws on some shapes of input
 * instead of reporting them (an own key `constructor: null` breaks its plain-object
 * check), and input a validator cannot read is invalid input, not an internal error.
 */
function validate<T extends z.ZodType>(schema: T, value: unknown): ReturnType<T['safeParse']> {
  try {
    return schema.safeParse(value) as ReturnType<T['safeParse']>;
  } catch {
    const error = new z.ZodError([
      {
        code: 'custom',
        path: [],
        message: 'could not be read (an object with a key such as constructor: null?)',
        input: value,
      },
    ]);
    return { success: false, error } as ReturnType<T['safeParse']>;
  }
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function idOf(request: unknown): RpcId {
  if (typeof request !== 'object' || request === null || !('id' in request)) return null;
  const id = (request as { id: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? id : null;
}

const errorCode = (e: unknown): string => (e instanceof HearthError ? e.code : 'internal');

export function errorResponse(id: RpcId, err: unknown, log?: Logger, method?: string): RpcResponse {
  if (!(err instanceof HearthError) && log) {
    log.error('method failed unexpectedly', {
      method,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
  }
  // A command on the host failed: the caller gets its name and exit code, the log what it said.
  if (err instanceof HearthError && err.code === 'command_failed' && log) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').slice(-2000);
    log.warn('a command failed', { method, command: err.data?.['command'], stderr });
  }
  return { jsonrpc: '2.0', id, error: toRpcError(err) };
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

export { RPC };

const PROGRESS_INTERVAL_MS = 250;

/**
 * Progress of one call as `call.progress` notifications naming the call's id: each new
 * step at once, counts within a step at most every 250 ms, and the last count of a step.
 */
function progressOf(t: Transport, id: RpcId | undefined): CallContext['progress'] {
  const notify = t.notify;
  if (!notify || id === undefined || id === null) return undefined;
  let last: { step: string; at: number } | undefined;
  return (p) => {
    const now = performance.now();
    const finished = p.total !== undefined && p.done === p.total;
    if (last && last.step === p.step && !finished && now - last.at < PROGRESS_INTERVAL_MS) return;
    last = { step: p.step, at: now };
    notify('call.progress', { id, ...p });
  };
}
