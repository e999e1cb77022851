import { z } from 'zod';
import type { HearthError } from './errors.ts';

/*
 * The vocabulary of calls that the domains and the surfaces share: who calls and what
 * they may do, over what, with what effect, how far a long call has come, and the marks
 * on a schema that say a field is secret. It imports nothing of either side, so the
 * domains can speak of callers and progress without depending on the surfaces.
 */

/**
 * Who may call a method:
 * - `public`: anyone, always (also in setup mode);
 * - `setup`: anyone, but only while the box is in setup mode;
 * - `read` / `operate` / `admin`: a login session, root's local CLI, or an API token
 *   whose scope is at least this level;
 * - `local`: only root on the box itself (its local socket): what stands in for the
 *   owner's password when it is lost, such as resetting it from the console.
 */
export type Access = 'public' | 'setup' | 'read' | 'operate' | 'admin' | 'local';
export type Scope = 'read' | 'operate' | 'admin';
export const SCOPES: readonly Scope[] = ['read', 'operate', 'admin'];

export interface Annotations {
  /** Changes nothing. */
  readOnly: boolean;
  /** May destroy data or interrupt service; clients should confirm with the person. */
  destructive: boolean;
  /** Calling it twice with the same params has the effect of calling it once. */
  idempotent: boolean;
  /** Reaches beyond the box (downloads, remote hosts). */
  openWorld: boolean;
}

export type Surface = 'http' | 'ws' | 'local' | 'mcp';

export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'session'; id: string }
  | { kind: 'token'; id: string; name: string; scope: Scope }
  | { kind: 'local' };

/** How far a long call has come, sent to callers that can hear it (WebSocket). */
export interface Progress {
  /** What is being done now, one word: `download`, `verify`, `unpack`, `start`. */
  step: string;
  done?: number;
  total?: number;
}

/** Who is calling, as the surface found out from the request. */
export interface Identity {
  caller: Caller;
  /** The session came from a browser cookie (cross-site requests are possible). */
  viaCookie: boolean;
  /** A credential was presented but is not valid: calls that need one fail with this. */
  error?: HearthError;
}

/** How a destructive call was confirmed: asked by the client (elicitation) or said in an argument. */
export type Confirmation = 'elicitation' | 'argument';

/**
 * Marks a schema as a secret (a password, a token): redacted in the audit log, asked for
 * without echo by the CLI, `writeOnly` with `x-secret` in the JSON Schema.
 */
export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ writeOnly: true, 'x-secret': true }) as T;
}

export const isSecret = (schema: z.ZodType): boolean => z.globalRegistry.get(schema)?.['x-secret'] === true;
