import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import type { Daemon } from '#sdk/manifest.ts';
import type { Logger } from '../log/log.ts';
import { parseGroup, parsePasswd, type ResolvedUser, resolveUser } from './passwd.ts';
import { restartDelay, startOrder } from './plan.ts';
import { killGroup, runProbe } from './probes.ts';

/**
 * The package's daemons inside the container: started in `requires` order (a daemon
 * starts once everything it requires is ready), their output forwarded line by line,
 * restarted with backoff when they exit on their own, stopped in reverse order.
 */

export type DaemonState = 'starting' | 'running' | 'exited' | 'failed';

export interface DaemonStatus {
  id: string;
  state: DaemonState;
  pid: number | null;
  restarts: number;
  exitCode: number | null;
}

export interface DaemonEvent {
  daemonId: string;
  state: DaemonState;
  exitCode?: number | null;
  message?: string;
}

/** What a daemon runs with when the manifest does not say. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Longest line forwarded as one; a longer one is cut into pieces of this size. */
const MAX_LINE = 16 * 1024;
const READY_POLL_MS = 250;

export interface DaemonsOptions {
  daemons: readonly Daemon[];
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  onState: (event: DaemonEvent) => void;
  log: Logger;
  /** The container's /etc/passwd and /etc/group, read at every start (init may add users). */
  readUsers?: () => { passwd: string; group: string };
  now?: () => number;
}

interface Run {
  spec: Daemon;
  /** `waiting`: not started yet, its requirements are not ready. */
  state: DaemonState | 'waiting';
  child: ChildProcess | null;
  pid: number | null;
  restarts: number;
  failures: number;
  exitCode: number | null;
  startedAt: number;
  restartTimer: NodeJS.Timeout | null;
  /** Settles when the current process has exited. */
  exited: Promise<void>;
  /** Bumped at every start, so a readiness loop of an older process stops. */
  generation: number;
}

export const readEtc = () => ({
  passwd: readOr('/etc/passwd'),
  group: readOr('/etc/group'),
});
const readOr = (file: string) => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

export class Daemons {
  readonly #o: Required<DaemonsOptions>;
  readonly #runs: Run[];
  #started = false;
  #stopping: Promise<void> | null = null;

  constructor(options: DaemonsOptions) {
    this.#o = { readUsers: readEtc, now: Date.now, ...options };
    // A cycle is refused here, before anything runs.
    this.#runs = startOrder(options.daemons).map((spec) => ({
      spec,
      state: 'waiting',
      child: null,
      pid: null,
      restarts: 0,
      failures: 0,
      exitCode: null,
      startedAt: 0,
      restartTimer: null,
      exited: Promise.resolve(),
      generation: 0,
    }));
  }

  /** Starts what can start now; the rest follows as requirements become ready. */
  start(): void {
    if (this.#started || this.#stopping) return;
    this.#started = true;
    this.#startReady();
  }

  status(): DaemonStatus[] {
    return this.#runs.map((r) => ({
      id: r.spec.id,
      state: r.state === 'waiting' ? 'starting' : r.state,
      pid: r.pid,
      restarts: r.restarts,
      exitCode: r.exitCode,
    }));
  }

  /**
   * Stops every daemon, last started first: SIGTERM to its process group, SIGKILL after
   * `timeoutMs`. Nothing restarts afterwards. A second call waits for the first.
   */
  shutdown(timeoutMs: number): Promise<void> {
    this.#stopping ??= this.#stopAll(timeoutMs);
    return this.#stopping;
  }

  get stopping(): boolean {
    return this.#stopping !== null;
  }

  /** SIGKILL to every daemon at once, synchronously: for a runtime about to die. */
  killAll(): void {
    for (const r of this.#runs) killGroup(r.pid ?? undefined, 'SIGKILL');
  }

  async #stopAll(timeoutMs: number): Promise<void> {
    for (const r of this.#runs) {
      if (r.restartTimer) clearTimeout(r.restartTimer);
      r.restartTimer = null;
    }
    for (const r of [...this.#runs].reverse()) {
      r.generation++;
      if (r.child) {
        const started = this.#o.now();
        killGroup(r.pid ?? undefined, 'SIGTERM');
        if (!(await settlesWithin(r.exited, timeoutMs))) {
          this.#o.log.warn('daemon ignored SIGTERM, killing it', { daemon: r.spec.id, timeoutMs });
          killGroup(r.pid ?? undefined, 'SIGKILL');
          await settlesWithin(r.exited, 5000);
        }
        this.#o.log.info('daemon stopped', { daemon: r.spec.id, ms: this.#o.now() - started });
      } else if (r.state !== 'exited') {
        this.#set(r, 'exited', { message: r.state === 'waiting' ? 'stopped before it started' : 'stopped' });
      }
    }
  }

  #startReady(): void {
    if (this.#stopping) return;
    const running = new Set(this.#runs.filter((r) => r.state === 'running').map((r) => r.spec.id));
    for (const r of this.#runs) {
      if (r.state === 'waiting' && r.spec.requires.every((id) => running.has(id))) this.#launch(r);
    }
  }

  #set(r: Run, state: DaemonState, extra: { exitCode?: number | null; message?: string } = {}): void {
    r.state = state;
    this.#o.onState({ daemonId: r.spec.id, state, ...extra });
  }

  #launch(r: Run): void {
    const { spec } = r;
    r.generation++;
    r.startedAt = this.#o.now();
    let child: ChildProcess;
    try {
      child = spawn(spec.command[0]!, spec.command.slice(1), {
        ...processOptions(spec, this.#o.readUsers()),
        // Its own process group: a stop reaches a shell script's children too.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      // A bad user or workdir: spawn throws at once. Retried like a crash: init may fix it.
      this.#onExit(r, null, null, (e as Error).message);
      return;
    }
    r.child = child;
    r.pid = child.pid ?? null;
    r.exitCode = null;
    // Its pid in the console: what an operator (and a test that must clean up) follows.
    if (r.pid !== null) this.#o.log.info('daemon spawned', { daemon: spec.id, pid: r.pid });
    let exited!: () => void;
    r.exited = new Promise((resolve) => {
      exited = resolve;
    });
    const prefix = `[${spec.id}] `;
    forwardLines(child.stdout!, prefix, this.#o.stdout);
    forwardLines(child.stderr!, prefix, this.#o.stderr);
    let failedToSpawn: string | null = null;
    child.once('error', (e: NodeJS.ErrnoException) => {
      failedToSpawn = `cannot run ${spec.command[0]}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`;
      // 'exit' does not always follow a failed spawn.
      if (r.child === child) {
        r.child = null;
        this.#onExit(r, null, null, failedToSpawn);
        exited();
      }
    });
    child.once('exit', (code, signal) => {
      if (r.child !== child) return;
      r.child = null;
      this.#onExit(r, code, signal, failedToSpawn);
      exited();
    });
    if (r.pid === null) return; // the 'error' event follows
    this.#set(r, 'starting', { message: `started as pid ${r.pid}` });
    if (spec.ready) void this.#waitReady(r, r.generation);
    else this.#ready(r);
  }

  #ready(r: Run): void {
    this.#set(r, 'running', { message: r.spec.ready ? 'ready' : 'started (no ready check)' });
    this.#startReady();
  }

  async #waitReady(r: Run, generation: number): Promise<void> {
    const probe = r.spec.ready!;
    const deadline = r.startedAt + r.spec.startTimeoutSeconds * 1000;
    let last = '';
    while (r.generation === generation && r.child && !this.#stopping) {
      const left = deadline - this.#o.now();
      if (left <= 0) {
        this.#o.log.warn('daemon not ready in time, killing it', { daemon: r.spec.id, last });
        this.#set(r, 'failed', {
          message: `not ready within ${r.spec.startTimeoutSeconds} s (${last})`.slice(0, 500),
        });
        killGroup(r.pid ?? undefined, 'SIGKILL');
        return;
      }
      const outcome = await runProbe(probe, Math.min(5000, left), { PATH: DEFAULT_PATH });
      if (r.generation !== generation || !r.child || this.#stopping) return;
      if (outcome.ok) {
        this.#ready(r);
        return;
      }
      last = outcome.message;
      await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
    }
  }

  #onExit(r: Run, code: number | null, signal: NodeJS.Signals | null, why: string | null): void {
    r.pid = null;
    r.exitCode = code;
    const how = why ?? (signal ? `killed by ${signal}` : `exited with ${code}`);
    if (this.#stopping) {
      this.#set(r, 'exited', { exitCode: code, message: `stopped (${how})` });
      return;
    }
    const next = restartDelay(r.failures, this.#o.now() - r.startedAt);
    r.failures = next.failures;
    this.#o.log.warn('daemon exited', { daemon: r.spec.id, how, restartInMs: next.delayMs });
    this.#set(r, 'failed', {
      exitCode: code,
      message: `${how}; starting again in ${next.delayMs / 1000} s`.slice(0, 500),
    });
    r.restartTimer = setTimeout(() => {
      r.restartTimer = null;
      if (this.#stopping) return;
      r.restarts++;
      this.#launch(r);
    }, next.delayMs);
  }
}

/**
 * Where and as whom a daemon (or a backup command) runs: the user's uid and gid (no
 * supplementary groups: Node's spawn drops them), a clean environment (PATH, HOME, USER,
 * LOGNAME, then the manifest's own variables; nothing of the runtime's), the workdir or
 * else the user's home if it exists, else /. Throws UnknownUser.
 */
export function processOptions(
  spec: { user?: string | undefined; env?: Record<string, string> | undefined; workdir?: string | undefined },
  etc: { passwd: string; group: string },
): { cwd: string; env: Record<string, string>; uid?: number; gid?: number } {
  const users = parsePasswd(etc.passwd);
  let user: ResolvedUser | undefined;
  if (spec.user !== undefined) user = resolveUser(spec.user, users, parseGroup(etc.group));
  else {
    const uid = process.getuid?.() ?? 0;
    const me = users.find((u) => u.uid === uid);
    if (me) user = { name: me.name, uid, gid: me.gid, home: me.home };
  }
  return {
    cwd: spec.workdir ?? (user && isDir(user.home) ? user.home : '/'),
    env: {
      PATH: DEFAULT_PATH,
      HOME: user?.home ?? '/',
      ...(user ? { USER: user.name, LOGNAME: user.name } : {}),
      ...spec.env,
    },
    ...(user && spec.user !== undefined ? { uid: user.uid, gid: user.gid } : {}),
  };
}

const isDir = (p: string) => {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
};

function settlesWithin(p: Promise<void>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    void p.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/**
 * Splits a byte stream into lines, each written with `prefix`; a line longer than
 * MAX_LINE goes out in pieces. When `out` is full the daemon's pipe is paused, so a
 * chatty daemon waits instead of filling the runtime's memory.
 */
export function forwardLines(
  stream: Readable,
  prefix: string,
  out: NodeJS.WritableStream,
  onLine?: (line: string) => void,
): void {
  let rest = '';
  const write = (raw: string) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    onLine?.(line);
    if (!out.write(`${prefix}${line}\n`)) {
      stream.pause();
      out.once('drain', () => stream.resume());
    }
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    rest += chunk;
    for (let nl = rest.indexOf('\n'); nl !== -1; nl = rest.indexOf('\n')) {
      write(rest.slice(0, nl));
      rest = rest.slice(nl + 1);
    }
    while (rest.length > MAX_LINE) {
      write(rest.slice(0, MAX_LINE));
      rest = rest.slice(MAX_LINE);
    }
  });
  stream.on('end', () => {
    if (rest) write(rest);
    rest = '';
  });
  stream.on('error', () => {});
}
