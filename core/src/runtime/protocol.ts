import type { Daemon, HealthCheck } from '#sdk/manifest.ts';
import { InvalidParams } from '../errors.ts';
import {
  array,
  boolean,
  int,
  literal,
  nullable,
  number,
  type Out,
  object,
  oneOf,
  optional,
  type Shape,
  string,
  test,
  unknown,
} from './shape.ts';

/**
 * The contract between the host and the runtime inside each container (JSON-RPC over
 * the container's unix socket, see peer.ts). Both sides check every message against
 * these shapes (shape.ts: the runtime loads no zod); the host additionally scopes every
 * effect to the calling package. The spec for package authors is docs/effects.md.
 */

/** Where the channel lives inside the container (the host's side is bind-mounted there). */
export const CONTAINER_SOCKET = '/run/hearth/host.sock';
/** The package's code bundle inside the container (read-only). */
export const CONTAINER_CODE = '/usr/lib/hearth/package/index.js';

const ok = object({ ok: literal(true) });
const id = string({ pattern: /^[a-z][a-z0-9-]{0,62}$/ });
const none = object({}, { strict: true });

const HEALTH_STATUSES = ['starting', 'success', 'failure'] as const;
const DAEMON_STATES = ['starting', 'running', 'exited', 'failed'] as const;
const healthStatus = oneOf(HEALTH_STATUSES);
const daemonState = oneOf(DAEMON_STATES);

/**
 * What the host already checked (the manifest, from the signed package): passed on as it
 * is, typed. The runtime validates nothing the host validates anyway (docs/effects.md).
 */
const checkedByHost = <T>(): Shape<T> => ({ check: (v) => v as T });

/**
 * What the runtime runs of the package's manifest, from the manifest the host installed:
 * it does not load the package's code to learn them.
 */
const runtimeManifest = object({
  daemons: array(checkedByHost<Daemon>()),
  healthChecks: array(checkedByHost<HealthCheck>()),
});
export type RuntimeManifest = Out<typeof runtimeManifest>;

const interfaceAddress = object({
  scope: oneOf(['container', 'lan', 'tor', 'domain']),
  host: string(),
  port: int(),
  tls: boolean(),
  url: optional(string()),
});
const interfaceInfo = object({
  id: string(),
  name: string(),
  kind: oneOf(['ui', 'api', 'p2p', 'mcp']),
  protocol: oneOf(['http', 'https', 'tcp', 'udp']),
  port: int(),
  addresses: array(interfaceAddress),
});

/** What the runtime may ask of the host: `effects.*`. */
export const EFFECTS = {
  /** The runtime's first call: who am I, and what do I run? */
  'effects.register': {
    params: object({ runtimeVersion: string({ max: 100 }), pid: int() }, { strict: true }),
    // startDaemons false: the host only wants package code run (an action of a stopped package).
    result: object({
      packageId: string(),
      version: string(),
      manifest: runtimeManifest,
      startDaemons: optional(boolean()),
    }),
  },
  'effects.setHealth': {
    params: object(
      { checkId: id, status: healthStatus, message: optional(string({ max: 500 })) },
      { strict: true },
    ),
    result: ok,
  },
  'effects.daemonState': {
    params: object(
      {
        daemonId: id,
        state: daemonState,
        exitCode: optional(nullable(int())),
        message: optional(string({ max: 500 })),
      },
      { strict: true },
    ),
    result: ok,
  },
  'effects.getInterfaces': { params: none, result: array(interfaceInfo) },
  'effects.getInterface': { params: object({ id }, { strict: true }), result: nullable(interfaceInfo) },
  'effects.getCertificate': {
    params: object({ interfaceId: id }, { strict: true }),
    result: nullable(
      object({
        chainPem: string(),
        keyPem: string(),
        hostnames: array(string()),
        expiresAt: string(),
      }),
    ),
  },
  'effects.notify': {
    params: object(
      {
        level: oneOf(['info', 'success', 'warning', 'error']),
        title: string({ min: 1, max: 200 }),
        message: string({ max: 4000 }),
      },
      { strict: true },
    ),
    result: ok,
  },
  'effects.getDependency': {
    params: object({ id }, { strict: true }),
    result: nullable(
      object({
        id: string(),
        version: string(),
        status: string(),
        health: oneOf(['healthy', 'unhealthy', 'starting', 'unknown']),
        interfaces: array(interfaceInfo),
      }),
    ),
  },
  'effects.getSelf': {
    params: none,
    result: object({
      id: string(),
      version: string(),
      status: string(),
      architecture: oneOf(['x86_64', 'arm64']),
      containerAddress: string(),
    }),
  },
} as const;

const daemonStatus = object({
  id: string(),
  state: daemonState,
  pid: nullable(int()),
  restarts: int(),
  exitCode: nullable(int()),
});
const checkResult = object({
  checkId: string(),
  status: healthStatus,
  message: string(),
  at: number(),
});

/** What the host may ask of the runtime: `runtime.*`. */
export const RUNTIME = {
  'runtime.status': {
    params: none,
    result: object({ daemons: array(daemonStatus), health: array(checkResult) }),
  },
  'runtime.action.run': {
    params: object({ actionId: id, input: unknown() }, { strict: true }),
    result: object({ result: unknown() }),
  },
  'runtime.backup.pre': { params: none, result: ok },
  'runtime.backup.post': { params: none, result: ok },
  'runtime.migrate': { params: object({ from: string(), to: string() }, { strict: true }), result: ok },
  'runtime.init': { params: none, result: ok },
  'runtime.uninit': { params: none, result: ok },
  /** Stops the daemons in reverse `requires` order; the container stops after. */
  'runtime.shutdown': {
    params: object({ timeoutSeconds: int({ min: 1, max: 600 }) }, { strict: true }),
    result: ok,
  },
} as const;

type Table = Record<string, { params: Shape<unknown>; result: Shape<unknown> }>;

export type EffectName = keyof typeof EFFECTS;
export type RuntimeName = keyof typeof RUNTIME;
export type EffectParams<N extends EffectName> = Out<(typeof EFFECTS)[N]['params']>;
export type EffectResult<N extends EffectName> = Out<(typeof EFFECTS)[N]['result']>;
/** An effect's answer as the runtime gets it, checked. */
export type EffectOutput<N extends EffectName> = Out<(typeof EFFECTS)[N]['result']>;
export type RuntimeParams<N extends RuntimeName> = Out<(typeof RUNTIME)[N]['params']>;
export type RuntimeResult<N extends RuntimeName> = Out<(typeof RUNTIME)[N]['result']>;

/** The host's implementation of the effects for one package. */
export type EffectsHost = {
  [N in EffectName]: (params: EffectParams<N>) => Promise<EffectResult<N>> | EffectResult<N>;
};

/** The runtime's implementation of what the host may ask. */
export type RuntimeHandlers = {
  [N in RuntimeName]: (params: RuntimeParams<N>) => Promise<RuntimeResult<N>> | RuntimeResult<N>;
};

/**
 * Peer handlers that check params before `impl` runs and the result before it goes
 * back: one wrapper for both directions.
 */
export function checkedHandlers<S extends Table>(
  shapes: S,
  impl: { [N in keyof S]: (params: Out<S[N]['params']>) => unknown },
): Record<string, (params: unknown) => Promise<unknown>> {
  return Object.fromEntries(
    Object.entries(shapes).map(([name, s]) => [
      name,
      async (raw: unknown) => {
        const parsed = test(s.params, raw ?? {});
        if (!parsed.ok) throw new InvalidParams(`invalid params for ${name}: ${parsed.message}`);
        const handler = impl[name as keyof S] as (params: unknown) => unknown;
        return s.result.check(await handler(parsed.value), 'result');
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
 * checked by their result shapes — neither end trusts the other's answers.
 */
function typedClient(
  peer: Caller,
  shapes: Table,
): { call: (method: string, params: unknown, timeoutMs?: number) => Promise<unknown> } {
  return {
    call: async (method, params, timeoutMs) => {
      const answer = await peer.call(method, params, timeoutMs);
      const checked = test(shapes[method]!.result, answer);
      if (!checked.ok)
        throw new InvalidParams(
          `the other end answered ${method} with something unexpected: ${checked.message}`,
        );
      return checked.value;
    },
  };
}

export const runtimeClient = (peer: Caller): RuntimeClient => typedClient(peer, RUNTIME) as RuntimeClient;
export const effectsClient = (peer: Caller): EffectsClient => typedClient(peer, EFFECTS) as EffectsClient;
