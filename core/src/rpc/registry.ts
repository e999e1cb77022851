import { z } from 'zod';
import type { Access, Annotations, Caller, Progress, Surface } from '../calls.ts';
import { InvalidParams } from '../errors.ts';
import type { Services } from '../services.ts';

export type { Access, Annotations, Caller, Progress, Scope, Surface } from '../calls.ts';
export { isSecret, SCOPES, secret } from '../calls.ts';

/** A stream opened by a method on a connection that can carry one (WebSocket). */
export interface OutputStream {
  readonly id: string;
  readonly signal: AbortSignal;
  send(data: unknown): void;
  end(): void;
}

export interface CallContext {
  services: Services;
  /** Every method of the box (rpc.discover describes them). */
  registry: Registry;
  caller: Caller;
  /** The client's address, or `local` for the box's own socket. */
  address: string;
  userAgent: string;
  surface: Surface;
  /** Whether the connection is HTTPS (cookies get `Secure`). */
  secure: boolean;
  /** Opens an output stream for following methods; undefined where the surface has none. */
  openStream?: () => OutputStream;
  /** Ends a stream this connection opened; unknown ids are ignored. */
  cancelStream?: (id: string) => void;
  /** Reports progress of this call; a no-op where the surface cannot carry it. */
  progress?: (p: Progress) => void;
  /** Lets a method start or end the caller's browser session (HTTP only). */
  sessionCookie?: { set(token: string, expiresAt: number): void; clear(): void };
}

export interface MethodDef<
  N extends string = string,
  P extends z.ZodType = z.ZodType,
  R extends z.ZodType = z.ZodType,
> {
  name: N;
  /** For people and for LLMs: what it does, when to use it, what it returns. */
  description: string;
  access: Access;
  params: P;
  result: R;
  annotations: Annotations;
  handler: (params: z.output<P>, ctx: CallContext) => Promise<z.input<R>> | z.input<R>;
  /**
   * JSON Schemas of params only known at call time, by param name (a package action's
   * `input`, declared by the package): their secret fields are redacted like the
   * registry's own. Gets the params before validation: check what you read.
   */
  dynamicSchemas?: (
    params: Record<string, unknown>,
    services: Services,
  ) => Record<string, unknown> | undefined;
}

type AnnotationInput = Partial<Annotations>;

/**
 * Declares a method. Annotations default from the access level: read-only for `public`
 * and `read` methods unless said otherwise.
 */
export function defineMethod<N extends string, P extends z.ZodType, R extends z.ZodType>(def: {
  name: N;
  description: string;
  access: Access;
  params: P;
  result: R;
  annotations?: AnnotationInput;
  handler: MethodDef<N, P, R>['handler'];
  dynamicSchemas?: MethodDef['dynamicSchemas'];
}): MethodDef<N, P, R> {
  const readOnly = def.annotations?.readOnly ?? (def.access === 'read' || def.access === 'public');
  return {
    ...def,
    annotations: {
      readOnly,
      destructive: def.annotations?.destructive ?? false,
      idempotent: def.annotations?.idempotent ?? readOnly,
      openWorld: def.annotations?.openWorld ?? false,
    },
  };
}

/**
 * A path on the box's own filesystem: it must be absolute (the daemon has no useful
 * working directory), and the CLI on the box makes a relative one absolute against its
 * own (`x-box-path` in the JSON Schema). With `uploadAs`, the CLI talking to another box
 * uploads the file (`POST /upload`) and sends the upload's id in that param instead
 * (`x-upload-as`).
 */
export function boxPath(description: string, options: { uploadAs?: string } = {}) {
  return z
    .string()
    .min(1)
    .max(4096)
    .refine((p) => p.startsWith('/'), { message: 'must be an absolute path on the box' })
    .meta({
      description,
      'x-box-path': true,
      ...(options.uploadAs ? { 'x-upload-as': options.uploadAs } : {}),
    });
}

/** Params that are a plain object with named fields: the only shape methods take. */
export const noParams = z.object({}).strict();

export class Registry {
  readonly #methods = new Map<string, MethodDef>();

  constructor(methods: readonly MethodDef[]) {
    for (const m of methods) {
      if (this.#methods.has(m.name)) throw new Error(`method ${m.name} is defined twice`);
      this.#methods.set(m.name, m);
    }
  }

  get(name: string): MethodDef | undefined {
    return this.#methods.get(name);
  }

  list(): MethodDef[] {
    return [...this.#methods.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}

/**
 * Opens a stream on the caller's connection and pipes `items` into it until it ends or
 * the caller cancels; returns the stream id for the method's answer. Over plain HTTP,
 * where nothing can stream, it refuses with a pointer to /ws.
 */
export function streamTo(ctx: CallContext, items: (signal: AbortSignal) => AsyncIterable<unknown>): string {
  if (!ctx.openStream) {
    throw new InvalidParams('follow needs a connection that can stream: call this over the WebSocket /ws');
  }
  const stream = ctx.openStream();
  void (async () => {
    try {
      for await (const item of items(stream.signal)) stream.send(item);
    } catch {
      // The source failed (a log file vanished): the stream just ends.
    } finally {
      stream.end();
    }
  })();
  return stream.id;
}
