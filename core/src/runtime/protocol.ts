import { z } from 'zod';
import { InvalidParams } from '../errors.ts';

/**
 * The contract between the host and the runtime inside each container (JSON-RPC over
 * the container's unix socket, see peer.ts). Both sides validate every message against
 * these schemas; the host additionally scopes every effect to the calling package.
 * The spec for package authors is docs/effects.md.
 */

/** Where the channel lives inside the container (the host's side is bind-mounted there). */
export const CONTAINER_SOCKET = '/run/hearth/host.sock';
/** The package's code bundle inside the container (read-only). */
export const CONTAINER_CODE = '/usr/lib/hearth/package/index.js';

const ok = z.object({ ok: z.literal(true) });
const id = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/);

export const healthStatus = z.enum(['starting', 'success', 'failure']);
export const daemonState = z.enum(['starting', 'running', 'exited', 'failed']);

const interfaceAddress = z.object({
  scope: z.enum(['container', 'lan', 'tor', 'domain']),
  host: z.string(),
  port: z.number().int(),
  tls: z.boolean(),
  url: z.string().optional(),
});
const interfaceInfo = z.object({
  id: z.string(),
  name: z.string(),
  kind: z.enum(['ui', 'api', 'p2p', 'mcp']),
  protocol: z.enum(['http', 'https', 'tcp', 'udp']),
  port: z.number().int(),
  addresses: z.array(interfaceAddress),
});

/** What the runtime may ask of the host: `effects.*`. */
export const EFFECTS = {
  /** The runtime's first call: who am I? */
  'effects.register': {
    params: z.object({ runtimeVersion: z.string().max(100), pid: z.number().int() }).strict(),
    // startDaemons false: the host only wants package code run (an action of a stopped package).
    result: z.object({ packageId: z.string(), version: z.string(), startDaemons: z.boolean().optional() }),
  },
  'effects.setHealth': {
    params: z.object({ checkId: id, status: healthStatus, message: z.string().max(500).optional() }).strict(),
    result: ok,
  },
  'effects.daemonState': {
    params: z
      .object({
        daemonId: id,
        state: daemonState,
        exitCode: z.number().int().nullable().optional(),
        message: z.string().max(500).optional(),
      })
      .strict(),
    result: ok,
  },
  'effects.getInterfaces': { params: z.object({}).strict(), result: z.array(interfaceInfo) },
  'effects.getInterface': { params: z.object({ id }).strict(), result: interfaceInfo.nullable() },
  'effects.getCertificate': {
    params: z.object({ interfaceId: id }).strict(),
    result: z
      .object({
        chainPem: z.string(),
        keyPem: z.string(),
        hostnames: z.array(z.string()),
        expiresAt: z.string(),
      })
      .nullable(),
  },
  'effects.notify': {
    params: z
      .object({
        level: z.enum(['info', 'success', 'warning', 'error']),
        title: z.string().min(1).max(200),
        message: z.string().max(4000),
      })
      .strict(),
    result: ok,
  },
  'effects.getDependency': {
    params: z.object({ id }).strict(),
    result: z
      .object({
        id: z.string(),
        version: z.string(),
        status: z.string(),
        health: z.enum(['healthy', 'unhealthy', 'starting', 'unknown']),
        interfaces: z.array(interfaceInfo),
      })
      .nullable(),
  },
  'effects.getSelf': {
    params: z.object({}).strict(),
    result: z.object({
      id: z.string(),
      version: z.string(),
      status: z.string(),
      architecture: z.enum(['x86_64', 'arm64']),
      containerAddress: z.string(),
    }),
  },
} as const;

const daemonStatus = z.object({
  id: z.string(),
  state: daemonState,
  pid: z.number().int().nullable(),
  restarts: z.number().int(),
  exitCode: z.number().int().nullable(),
});
const checkResult = z.object({
  checkId: z.string(),
  status: healthStatus,
  message: z.string(),
  at: z.number(),
});

/** What the host may ask of the runtime: `runtime.*`. */
export const RUNTIME = {
  'runtime.status': {
    params: z.object({}).strict(),
    result: z.object({ daemons: z.array(daemonStatus), health: z.array(checkResult) }),
  },
  'runtime.action.run': {
    params: z.object({ actionId: id, input: z.unknown() }).strict(),
    result: z.object({ result: z.unknown() }),
  },
  'runtime.backup.pre': { params: z.object({}).strict(), result: ok },
  'runtime.backup.post': { params: z.object({}).strict(), result: ok },
  'runtime.migrate': { params: z.object({ from: z.string(), to: z.string() }).strict(), result: ok },
  'runtime.init': { params: z.object({}).strict(), result: ok },
  'runtime.uninit': { params: z.object({}).strict(), result: ok },
  /** Stops the daemons in reverse `requires` order; the container stops after. */
  'runtime.shutdown': {
    params: z.object({ timeoutSeconds: z.number().int().min(1).max(600) }).strict(),
    result: ok,
  },
} as const;

export type EffectName = keyof typeof EFFECTS;
export type RuntimeName = keyof typeof RUNTIME;
export type EffectParams<N extends EffectName> = z.output<(typeof EFFECTS)[N]['params']>;
export type EffectResult<N extends EffectName> = z.input<(typeof EFFECTS)[N]['result']>;
/** An effect's answer as the runtime gets it, checked. */
export type EffectOutput<N extends EffectName> = z.output<(typeof EFFECTS)[N]['result']>;
export type RuntimeParams<N extends RuntimeName> = z.input<(typeof RUNTIME)[N]['params']>;
export type RuntimeResult<N extends RuntimeName> = z.output<(typeof RUNTIME)[N]['result']>;

/** The host's implementation of the effects for one package. */
export type EffectsHost = {
  [N in EffectName]: (params: EffectParams<N>) => Promise<EffectResult<N>> | EffectResult<N>;
};

/** The runtime's implementation of what the host may ask. */
export type RuntimeHandlers = {
  [N in RuntimeName]: (
    params: z.output<(typeof RUNTIME)[N]['params']>,
  ) => Promise<z.input<(typeof RUNTIME)[N]['result']>> | z.input<(typeof RUNTIME)[N]['result']>;
};

/**
 * Peer handlers that validate params before `impl` runs and the result before it goes
 * back: one wrapper for both directions.
 */
export function checkedHandlers<S extends Record<string, { params: z.ZodType; result: z.ZodType }>>(
  schemas: S,
  impl: { [N in keyof S]: (params: z.output<S[N]['params']>) => unknown },
): Record<string, (params: unknown) => Promise<unknown>> {
  return Object.fromEntries(
    Object.entries(schemas).map(([name, s]) => [
      name,
      async (raw: unknown) => {
        const parsed = s.params.safeParse(raw ?? {});
        if (!parsed.success) {
          throw new InvalidParams(
            `invalid params for ${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
          );
        }
        const handler = impl[name as keyof S] as (params: unknown) => unknown;
        return s.result.parse(await handler(parsed.data));
      },
    ]),
  );
}

/** Anything that can call a method on the other end (an RpcPeer). */
export interface Caller {
  call(method: string, params?: unknown, timeoutMs?: number): Promise<unknown>;
}

/** What the host asks a package's runtime: `runtime.*`, typed by RUNTIME, its answers checked. */
export interface RuntimeClient {
  call<N extends RuntimeName>(
    method: N,
    params: RuntimeParams<N>,
    timeoutMs?: number,
  ): Promise<RuntimeResult<N>>;
}

/** What the runtime asks the host: `effects.*`, typed by EFFECTS, its answers checked. */
export interface EffectsClient {
  call<N extends EffectName>(
    method: N,
    params: EffectParams<N>,
    timeoutMs?: number,
  ): Promise<EffectOutput<N>>;
}

/**
 * A caller typed by a protocol table: only its methods, with their params, and answers
 * parsed by their result schemas — neither end trusts the other's answers.
 */
function typedClient(
  peer: Caller,
  schemas: Record<string, { result: z.ZodType }>,
): { call: (method: string, params: unknown, timeoutMs?: number) => Promise<unknown> } {
  return {
    call: async (method, params, timeoutMs) => {
      const answer = await peer.call(method, params, timeoutMs);
      const checked = schemas[method]!.result.safeParse(answer);
      if (!checked.success)
        throw new InvalidParams(`the other end answered ${method} with something unexpected`);
      return checked.data;
    },
  };
}

export const runtimeClient = (peer: Caller): RuntimeClient => typedClient(peer, RUNTIME) as RuntimeClient;
export const effectsClient = (peer: Caller): EffectsClient => typedClient(peer, EFFECTS) as EffectsClient;
