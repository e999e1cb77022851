import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Credentials } from '../auth/auth.ts';
import type { Logger } from '../log/log.ts';
import type { Identity } from '../rpc/dispatch.ts';
import type { Caller } from '../rpc/registry.ts';
import { VERSION } from '../version.ts';
import { INSTRUCTIONS } from './prompt.ts';

// A session nobody has used for this long, with no stream open, is ended.
const IDLE_MS = 30 * 60_000;
// Past this many sessions per credential, the least recently used one is ended.
const SESSIONS_PER_CALLER = 16;

export interface Session {
  id?: string;
  /** The credential that opened it: only the same one may use it. */
  owner: string;
  creds: Credentials;
  server: Server;
  transport: WebStandardStreamableHTTPServerTransport;
  subscriptions: Set<string>;
  /** Subscribed resources changed since the last notification went out. */
  changed: Set<string>;
  listChanged: boolean;
  timer: NodeJS.Timeout | undefined;
  lastSeen: number;
  /** Responses still streaming (a GET stream, a call under way). */
  open: number;
}

export interface SessionTableOptions {
  identify: (creds: Credentials) => Identity;
  /** Puts the protocol's handlers on a new session's server, before it connects. */
  serve: (session: Session) => void;
  log: Logger;
}

/** Who a session belongs to: one API token or one login, whatever request it comes in. */
export const ownerOf = (caller: Caller): string =>
  caller.kind === 'token' || caller.kind === 'session' ? `${caller.kind}:${caller.id}` : caller.kind;

/**
 * The open MCP sessions, in memory, each bound to the credential that opened it: at most
 * a few per credential, ended when idle, when their credential ends, or at the stop.
 */
export class SessionTable {
  readonly #o: SessionTableOptions;
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: SessionTableOptions) {
    this.#o = options;
    this.#sweeper = setInterval(() => this.#sweep(), 60_000);
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  values(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  /** A new session for `owner`; it is in the table once the transport has given it an id. */
  async open(owner: string, creds: Credentials): Promise<Session> {
    const mine = [...this.#sessions.values()].filter((s) => s.owner === owner);
    if (mine.length >= SESSIONS_PER_CALLER) {
      const oldest = mine.reduce((a, b) => (a.lastSeen <= b.lastSeen ? a : b));
      await this.#end(oldest);
    }
    const server = new Server(
      { name: 'hearth', title: 'Hearth', version: VERSION },
      {
        capabilities: {
          tools: {},
          resources: { subscribe: true, listChanged: true },
          prompts: {},
        },
        instructions: INSTRUCTIONS,
      },
    );
    const session: Session = {
      owner,
      creds,
      server,
      transport: new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          session.id = id;
          this.#sessions.set(id, session);
        },
      }),
      subscriptions: new Set(),
      changed: new Set(),
      listChanged: false,
      timer: undefined,
      lastSeen: Date.now(),
      open: 0,
    };
    session.transport.onclose = () => this.#forget(session);
    this.#o.serve(session);
    await server.connect(session.transport);
    return session;
  }

  /** Ends the sessions whose credential has ended (revoked, killed, expired): their streams close. */
  recheck(): void {
    for (const s of this.#sessions.values()) {
      if (ownerOf(this.#o.identify(s.creds).caller) !== s.owner) void this.#end(s);
    }
  }

  /** Ends every session: streams close, calls waiting on a person fail. */
  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await Promise.all([...this.#sessions.values()].map((s) => this.#end(s)));
  }

  #forget(session: Session): void {
    clearTimeout(session.timer);
    if (session.id && this.#sessions.get(session.id) === session) this.#sessions.delete(session.id);
  }

  async #end(session: Session): Promise<void> {
    this.#forget(session);
    await session.server
      .close()
      .catch((error) => this.#o.log.warn('could not close an MCP session', { error }));
  }

  #sweep(): void {
    const now = Date.now();
    for (const s of this.#sessions.values()) {
      if (s.open === 0 && now - s.lastSeen > IDLE_MS) void this.#end(s);
    }
  }
}
