import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeTarget } from '../client/node-transport.ts';
import type { DaemonInfo } from '../daemon.ts';
import { HearthError } from '../errors.ts';
import { readLocalCookie } from '../host/local-cookie.ts';
import { makePaths } from '../paths.ts';

export interface TargetOptions {
  /** A remote box: `https://hearth.local`, `http://10.0.0.5:8080`. */
  host?: string | undefined;
  /** An API token (or `HEARTH_TOKEN`). */
  token?: string | undefined;
  root: string;
  runtimeDir?: string | undefined;
}

interface StoredSession {
  token: string;
  expiresAt: number;
}

/** Where `hearth login` keeps sessions: one per box URL, readable only by you. */
export const sessionsFile = (): string =>
  path.join(process.env['XDG_CONFIG_HOME'] ?? path.join(os.homedir(), '.config'), 'hearth', 'sessions.json');

function readSessions(): Record<string, StoredSession> {
  try {
    return JSON.parse(fs.readFileSync(sessionsFile(), 'utf8')) as Record<string, StoredSession>;
  } catch {
    return {};
  }
}

function writeSessions(sessions: Record<string, StoredSession>): void {
  const file = sessionsFile();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(sessions, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

export const normalizeHost = (host: string): string => {
  const withScheme = /^[a-z]+:\/\//.test(host) ? host : `http://${host}`;
  const u = new URL(withScheme);
  return `${u.protocol}//${u.host}`;
};

export function saveSession(host: string, session: StoredSession): void {
  writeSessions({ ...readSessions(), [normalizeHost(host)]: session });
}

export function forgetSession(host: string): void {
  const all = readSessions();
  delete all[normalizeHost(host)];
  writeSessions(all);
}

/** Where `make dev` keeps its daemon unless told otherwise (the Makefile's DEV_ROOT). */
const DEV_ROOT = '/tmp/hearth-dev';

/**
 * Where the CLI sends its calls and with which credential: a remote box with a token or
 * a stored login, or this box's daemon over its local socket with root's local cookie.
 */
export function resolveTarget(o: TargetOptions): NodeTarget {
  if (o.host) {
    const url = normalizeHost(o.host);
    const stored = readSessions()[url];
    const bearer = o.token ?? (stored && stored.expiresAt > Date.now() ? stored.token : undefined);
    return { url, bearer };
  }
  const paths = makePaths(o.root, { runtimeDir: o.runtimeDir });
  let info: DaemonInfo;
  try {
    info = JSON.parse(fs.readFileSync(path.join(paths.runtimeDir, 'daemon.json'), 'utf8')) as DaemonInfo;
  } catch {
    // `make dev` keeps its daemon under DEV_ROOT (default /tmp/hearth-dev): a CLI without
    // --root looks under / and would tell the reader to start what already runs.
    const dev = o.root === '/' && fs.existsSync(path.join(makePaths(DEV_ROOT).runtimeDir, 'daemon.json'));
    throw new HearthError(
      'unreachable',
      `no Hearth daemon is running here (nothing in ${paths.runtimeDir})`,
      {
        hint: dev
          ? `make dev's daemon runs under ${DEV_ROOT}: add --root ${DEV_ROOT}, or export HEARTH_ROOT=${DEV_ROOT}`
          : 'start it (systemctl start hearth, or make dev in a checkout), give --root for one with another root, or --host for another box',
      },
    );
  }
  return { socketPath: info.socket, bearer: o.token ?? readLocalCookie(paths.localCookie) };
}
