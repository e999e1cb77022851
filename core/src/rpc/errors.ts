import { ERROR_CODES, HearthError, isErrorCode } from '../errors.ts';

/** JSON-RPC 2.0 error codes: the spec's own, then ours in the server-error range. */
export const RPC = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internal: -32603,
} as const;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: { code: string; hint?: string; [key: string]: unknown };
}

export function toRpcError(err: unknown): RpcErrorObject {
  if (err instanceof HearthError) {
    return {
      // ERROR_CODES is the one mapping; a foreign code (the SDK's, a package's) is a domain error.
      code: isErrorCode(err.code) ? ERROR_CODES[err.code] : -32000,
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

export class HttpsRequired extends HearthError {
  constructor(url: string) {
    super('https_required', 'the API answers other machines over HTTPS only', {
      hint: `use ${url} (trust the box's CA first: /hearth-ca.crt)`,
    });
  }
}
