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

/**
 * Every error code the box itself gives, with the JSON-RPC error code it travels as: the
 * one mapping (rpc/errors.ts reads it), exhaustive because a code must be here to exist.
 * Spec codes first, then ours in the server-error range; -32000 is "a domain error".
 */
export const ERROR_CODES = {
  // The JSON-RPC spec's own.
  parse_error: -32700,
  invalid_request: -32600,
  unsupported_media_type: -32600,
  method_not_found: -32601,
  invalid_params: -32602,
  internal: -32603,
  // Who may call.
  unauthorized: -32001,
  invalid_token: -32001,
  forbidden: -32003,
  cross_origin: -32003,
  host_not_allowed: -32003,
  https_required: -32003,
  not_found: -32004,
  conflict: -32009,
  already_set_up: -32009,
  setup_required: -32010,
  second_factor_required: -32011,
  payload_too_large: -32013,
  batch_too_large: -32014,
  answer_too_large: -32015,
  rate_limited: -32029,
  unavailable: -32050,
  // Domain errors.
  wrong_password: -32000,
  wrong_code: -32000,
  not_a_session: -32000,
  invalid_setting: -32000,
  address_in_use: -32000,
  address_denied: -32000,
  database_too_new: -32000,
  cancelled: -32000,
  power_failed: -32000,
  unreachable: -32000,
  bad_answer: -32000,
  confirmation_required: -32000,
  confirmation_declined: -32000,
  download_failed: -32000,
  not_enough_space: -32000,
  path_not_reachable: -32000,
  invalid_package: -32000,
  // Packages and their containers.
  dependency_unmet: -32000,
  hearth_too_old: -32000,
  update_failed: -32000,
  action_not_found: -32000,
  runtime_unavailable: -32000,
  runtime_init_missing: -32000,
  runtime_library_missing: -32000,
  runtime_unknown_user: -32000,
  not_an_elf: -32000,
  package_code_invalid: -32000,
  package_code_failed: -32000,
  hook_command_failed: -32000,
  daemon_cycle: -32000,
  daemon_unknown_requirement: -32000,
  container_busy: -32000,
  container_not_running: -32000,
  container_start_failed: -32000,
  foreign_container: -32000,
  id_range_taken: -32000,
  idmapped_mounts_unsupported: -32000,
  invalid_mount_path: -32000,
  mount_conflict: -32000,
  network_conflict: -32000,
  dns_failed: -32000,
  unsupported_architecture: -32000,
  peer_closed: -32000,
  peer_timeout: -32000,
  peer_line_too_long: -32000,
  remote_error: -32000,
  host_unavailable: -32000,
  // Commands on the host.
  command_failed: -32000,
  command_not_found: -32000,
  // Drives.
  data_drive_invalid: -32000,
  data_drive_missing: -32000,
  partition_missing: -32000,
  system_drive: -32000,
  real_drive_in_dev: -32000,
  drive_in_use: -32000,
  drive_read_only: -32000,
  drive_unreadable: -32000,
  no_hearth_data: -32000,
  drive_has_hearth_data: -32000,
  drive_not_empty: -32000,
  drive_too_small: -32000,
  not_hearth_data: -32000,
  // Backups (restic): what a target's test answers, in codes.
  target_absent: -32000,
  target_unreachable: -32000,
  target_wrong_password: -32000,
  target_no_repository: -32000,
  target_full: -32000,
  target_read_only: -32000,
  backup_failed: -32000,
  restore_failed: -32000,
  // OS updates (update/).
  update_feed_refused: -32000,
  update_refused: -32000,
  // The box's checks.
  nothing_to_fix: -32000,
  // Sending off the box (notifications by mail and webhook).
  destination_refused: -32000,
  resolve_failed: -32000,
  connect_failed: -32000,
  send_timeout: -32000,
  tls_failed: -32000,
  starttls_unavailable: -32000,
  auth_unavailable: -32000,
  smtp_rejected: -32000,
  smtp_protocol: -32000,
  webhook_rejected: -32000,
  webhook_redirect: -32000,
  send_cancelled: -32000,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

declare const foreign: unique symbol;
/**
 * A code that comes from outside the box's own code: the SDK's refusals of a package
 * (`hpk_tampered_member`…), a package's own errors from its actions. Shown to callers as
 * it is, as a domain error (-32000); made only by `foreignCode`.
 */
export type ForeignCode = string & { readonly [foreign]: true };

/** A foreign code if it looks like one (lower-case, digits, underscores), else undefined. */
export function foreignCode(code: unknown): ForeignCode | undefined {
  return typeof code === 'string' && /^[a-z][a-z0-9_]{0,62}$/.test(code) ? (code as ForeignCode) : undefined;
}

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/** A code that came over a wire (the runtime's, a package's): ours if it is one, else foreign, else `fallback`. */
export function codeFrom(raw: unknown, fallback: ErrorCode): ErrorCode | ForeignCode {
  if (typeof raw === 'string' && isErrorCode(raw)) return raw;
  return foreignCode(raw) ?? fallback;
}

export class HearthError extends Error {
  readonly code: ErrorCode | ForeignCode;
  readonly hint: string | undefined;
  readonly data: Record<string, unknown> | undefined;

  constructor(code: ErrorCode | ForeignCode, message: string, options: HearthErrorOptions = {}) {
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
  /** `reserve`: what the box keeps free on top (minFreeSpaceMiB), when it counts. */
  constructor(need: number, free: number, reserve = 0) {
    const mib = (n: number) => `${Math.ceil(n / 1048576)} MiB`;
    super(
      'not_enough_space',
      reserve > 0
        ? `the data drive has ${mib(free)} free; this needs ${mib(need)} and the box keeps ${mib(reserve)} free`
        : `the data drive has ${mib(free)} free; this needs ${mib(need)}`,
      {
        hint: 'uninstall something or free space on the data drive (hearth status shows what is short)',
        data: { neededBytes: need, freeBytes: free, reservedBytes: reserve },
      },
    );
  }
}
