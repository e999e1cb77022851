import { HearthError } from '../errors.ts';

/** JSON-RPC 2.0 error codes: the spec's own, then ours in the server-error range. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
} as const;

// The one place where stable error codes become JSON-RPC codes.
const CODES: Record<string, number> = {
  parse_error: RPC.parseError,
  invalid_request: RPC.invalidRequest,
  unsupported_media_type: RPC.invalidRequest,
  host_not_allowed: -32003,
  method_not_found: RPC.methodNotFound,
  invalid_params: RPC.invalidParams,
  unauthorized: -32001,
  invalid_token: -32001,
  forbidden: -32003,
  cross_origin: -32003,
  not_found: -32004,
  conflict: -32009,
  already_set_up: -32009,
  setup_required: -32010,
  rate_limited: -32029,
  second_factor_required: -32011,
  unavailable: -32050,
  payload_too_large: -32013,
  batch_too_large: -32014,
  answer_too_large: -32015,
};

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: { code: string; hint?: string; [key: string]: unknown };
}

export function toRpcError(err: unknown): RpcErrorObject {
  if (err instanceof HearthError) {
    return {
      code: CODES[err.code] ?? -32000,
      message: err.message,
      data: { ...err.data, code: err.code, ...(err.hint ? { hint: err.hint } : {}) },
    };
  }
  // Anything else is a bug: the caller learns nothing about our insides.
  return { code: RPC.internal, message: 'internal error', data: { code: 'internal' } };
}

export class MethodNotFound extends HearthError {
  constructor(name: string) {
    super('method_not_found', `there is no method '${name}'`, { hint: 'rpc.discover lists every method' });
  }
}

export class InvalidRequest extends HearthError {
  constructor(message: string) {
    super('invalid_request', message);
  }
}

export class ParseError extends HearthError {
  constructor() {
    super('parse_error', 'the request body is not valid JSON');
  }
}

export class MisdirectedHost extends HearthError {
  constructor(host: string | undefined) {
    super('host_not_allowed', `this box does not answer to the name '${String(host).slice(0, 100)}'`, {
      hint:
        'open it by its own name (<hostname>.local) or its IP address; to use another name, add it to the ' +
        'allowedHosts setting',
    });
  }
}

export class UnsupportedMediaType extends HearthError {
  constructor(type: string) {
    super('unsupported_media_type', `send the body as Content-Type: ${type}`);
  }
}

export class PayloadTooLarge extends HearthError {
  constructor(limit: number) {
    super('payload_too_large', `the request body is larger than ${limit} bytes`);
  }
}

export class CrossOrigin extends HearthError {
  constructor() {
    super('cross_origin', 'this call came from another site and was refused', {
      hint: 'call from the box’s own pages, or send the X-Hearth-Request header',
    });
  }
}
