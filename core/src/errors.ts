/**
 * The error hierarchy. Every error a person or a client may see is a HearthError with a
 * stable `code`; surfaces map codes to their own form (JSON-RPC codes in rpc/errors.ts,
 * a one-line message and a hint in the CLI). Never compare messages, compare codes.
 */
export interface HearthErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Extra machine-readable facts safe to show to the caller. */
  data?: Record<string, unknown>;
}

export class HearthError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: HearthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HearthError';
    this.code = code;
    this.hint = options.hint;
    this.data = options.data;
  }
}

export const isHearthError = (e: unknown): e is HearthError => e instanceof HearthError;

export class InvalidParams extends HearthError {
  constructor(message: string, options: HearthErrorOptions = {}) {
    super('invalid_params', message, options);
  }
}

export class NotFound extends HearthError {
  constructor(what: string, id: string, options: HearthErrorOptions = {}) {
    super('not_found', `${what} '${id}' does not exist`, options);
  }
}

export class Unauthorized extends HearthError {
  constructor(message = 'this call needs you to log in', options: HearthErrorOptions = {}) {
    super('unauthorized', message, {
      hint: 'log in with auth.login, or send an API token as Authorization: Bearer',
      ...options,
    });
  }
}

export class Forbidden extends HearthError {
  constructor(message: string, options: HearthErrorOptions = {}) {
    super('forbidden', message, options);
  }
}

export class Conflict extends HearthError {
  constructor(message: string, options: HearthErrorOptions = {}) {
    super('conflict', message, options);
  }
}

export class RateLimited extends HearthError {
  constructor(retryAfterSeconds: number, options: HearthErrorOptions = {}) {
    super('rate_limited', `too many attempts — try again in ${retryAfterSeconds} s`, {
      ...options,
      data: { retryAfterSeconds, ...options.data },
    });
  }
}

export class Unavailable extends HearthError {
  constructor(message: string, options: HearthErrorOptions = {}) {
    super('unavailable', message, options);
  }
}

/** The data drive cannot take what an operation would write. */
export class NotEnoughSpace extends HearthError {
  constructor(need: number, free: number) {
    const mib = (n: number) => `${Math.ceil(n / 1048576)} MiB`;
    super('not_enough_space', `the data drive has ${mib(free)} free; this needs ${mib(need)}`, {
      hint: 'uninstall something or free space on the data drive',
      data: { neededBytes: need, freeBytes: free },
    });
  }
}
