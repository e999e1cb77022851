import crypto from 'node:crypto';
import type { Identity } from './dispatch.ts';
import type { Caller } from './registry.ts';

/** A caller a capability can stand for: one with a credential of its own. */
export type CapabilityCaller = Extract<Caller, { kind: 'session' | 'token' | 'local' }>;

const KIND = { session: 's', token: 't', local: 'l' } as const;
const SEGMENT = /^~([stl])([0-9a-f]{1,32}|local)\.([A-Za-z0-9_-]{22})$/;

/**
 * Capability paths for packages' pages: `/app/<id>/~<caller>.<mac>/…`.
 *
 * A package's page is sandboxed into an opaque origin (app-proxy.ts), so the browser
 * treats its own requests — its stylesheets, scripts, its calls to its backend — as
 * cross-site and sends no SameSite cookie: the box's session cookie cannot authorize
 * them (which is the point: the page must not act with it on /rpc/v1). The owner's first
 * visit, made with the cookie, is redirected into a path that carries a capability
 * instead: an HMAC, under a key made at each start, of the caller and the package. It
 * opens that package's pages and nothing else, for as long as the session or token it
 * was made for lives (and this daemon runs).
 */
export class AppCapabilities {
  readonly #key = crypto.randomBytes(32);
  readonly #identify: (caller: CapabilityCaller) => Identity;

  /** `identify` says who a caller is now (undefined credentials come back anonymous). */
  constructor(identify: (caller: CapabilityCaller) => Identity) {
    this.#identify = identify;
  }

  /** The path segment that lets `caller` open package `app`'s pages. */
  mint(caller: CapabilityCaller, app: string): string {
    const id = caller.kind === 'local' ? 'local' : caller.id;
    return `~${KIND[caller.kind]}${id}.${this.#mac(caller.kind, id, app)}`;
  }

  /** Who a segment stands for, if it is a capability for `app` of a credential still alive. */
  verify(segment: string, app: string): Identity | undefined {
    const m = SEGMENT.exec(segment);
    if (!m) return undefined;
    const kind = (Object.keys(KIND) as (keyof typeof KIND)[]).find((k) => KIND[k] === m[1])!;
    const expected = Buffer.from(this.#mac(kind, m[2]!, app));
    const given = Buffer.from(m[3]!);
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) return undefined;
    const caller: CapabilityCaller =
      kind === 'local'
        ? { kind }
        : kind === 'session'
          ? { kind, id: m[2]! }
          : { kind, id: m[2]!, name: '', scope: 'read' };
    const identity = this.#identify(caller);
    return identity.caller.kind === 'anonymous' ? undefined : identity;
  }

  /** Whether a path segment has the form of a capability (valid or not). */
  static isCapability(segment: string): boolean {
    return segment.startsWith('~');
  }

  #mac(kind: string, id: string, app: string): string {
    return crypto
      .createHmac('sha256', this.#key)
      .update(`${kind}\n${id}\n${app}`)
      .digest('base64url')
      .slice(0, 22);
  }
}
