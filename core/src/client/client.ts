import type { z } from 'zod';
import type { MethodName, Methods } from '../rpc/methods.ts';

export type ParamsOf<N extends MethodName> = z.input<Methods[N]['params']>;
export type ResultOf<N extends MethodName> = z.output<Methods[N]['result']>;

export interface RpcErrorData {
  code: string;
  hint?: string;
  [key: string]: unknown;
}

/** An error answer from the box; `data.code` is the stable code to branch on. */
export class RpcError extends Error {
  readonly rpcCode: number;
  readonly data: RpcErrorData;

  constructor(error: { code: number; message: string; data?: RpcErrorData }) {
    super(error.message);
    this.name = 'RpcError';
    this.rpcCode = error.code;
    this.data = error.data ?? { code: 'unknown' };
  }

  get code(): string {
    return this.data.code;
  }

  get hint(): string | undefined {
    return this.data.hint;
  }
}

/** Sends one JSON-RPC request body and returns the parsed answer (undefined for none). */
export type RpcTransport = (body: unknown) => Promise<unknown>;

interface RpcAnswer {
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: RpcErrorData };
}

/**
 * The typed client of the registry: `await client.call('server.info', {})` is checked
 * against the method's zod schemas at compile time. The transport decides how the body
 * travels (node:http, a unix socket, fetch in the web UI).
 */
export class HearthClient {
  readonly #transport: RpcTransport;
  #nextId = 1;

  constructor(transport: RpcTransport) {
    this.#transport = transport;
  }

  async call<N extends MethodName>(
    method: N,
    // Params may be left out where every field is optional.
    ...params: Record<string, never> extends ParamsOf<N> ? [ParamsOf<N>?] : [ParamsOf<N>]
  ): Promise<ResultOf<N>> {
    return (await this.callRaw(method, params[0] ?? {})) as ResultOf<N>;
  }

  /** A call by name with untyped params (the CLI, fuzz tests). */
  async callRaw(method: string, params: unknown): Promise<unknown> {
    const answer = (await this.#transport({
      jsonrpc: '2.0',
      id: this.#nextId++,
      method,
      params,
    })) as RpcAnswer;
    if (answer?.error) throw new RpcError(answer.error);
    return answer?.result;
  }
}
