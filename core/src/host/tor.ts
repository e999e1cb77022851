import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log/log.ts';
import { connectTorControl, type OnionPort, type TorControl } from './tor-control.ts';
import type { Bootstrap } from './tor-control-protocol.ts';

/*
 * Debian's tor as the daemon's child: a torrc we write, its own DataDirectory, the
 * control port on a unix socket with cookie authentication. Tor exits with us twice over:
 * it is told our PID (__OwningControllerProcess) and our control connection owns it
 * (TAKEOWNERSHIP), so a daemon killed with SIGKILL leaves no tor behind.
 *
 * tor is long-lived, so it is spawned here rather than through run(), which is for
 * commands that finish; its argv is an array all the same.
 */

export interface Tor {
  /** Starts tor if it is not running and connects to it; resolves once it takes commands. */
  start(): Promise<void>;
  /** Stops tor (SIGTERM, then SIGKILL) and waits for it to exit. */
  stop(): Promise<void>;
  readonly running: boolean;
  /** Why the last tor exited, when it was not stopped by us. */
  readonly lastExit: string | undefined;
  bootstrap(): Promise<Bootstrap>;
  onions(): Promise<string[]>;
  addOnion(key: string, ports: OnionPort[]): Promise<{ serviceId: string }>;
  delOnion(serviceId: string): Promise<void>;
}

export interface HostTorOptions {
  binary: string;
  /** Tor's DataDirectory: its state and caches, never an onion key (those are in the database). */
  dataDir: string;
  /** Holds the control socket; made 0700. */
  runtimeDir: string;
  /** A file of extra torrc lines, included at the end (a private test network's settings). */
  extraConfig?: string;
  /** Called when tor exits without being asked to. */
  onExit?: (why: string) => void;
  log: Logger;
  startTimeoutMs?: number;
}

export class TorNotInstalled extends Error {
  override name = 'TorNotInstalled';
}

export function hostTor(o: HostTorOptions): Tor {
  return new HostTor(o);
}

/** The torrc we write; pure, so its test reads it. */
export function renderTorrc(o: {
  dataDir: string;
  controlSocket: string;
  ownerPid: number;
  extraConfig?: string;
}): string {
  const lines = [
    '# Written by hearthd at every start of tor; changes here are lost.',
    `DataDirectory ${o.dataDir}`,
    `ControlSocket ${o.controlSocket}`,
    'CookieAuthentication 1',
    `CookieAuthFile ${path.join(o.dataDir, 'control_auth_cookie')}`,
    // Only onion services: no SOCKS for anyone, no relaying.
    'SocksPort 0',
    'ORPort 0',
    `__OwningControllerProcess ${o.ownerPid}`,
    'Log notice stdout',
    // Bounds what a busy onion can cost the box's disk.
    'AvoidDiskWrites 1',
  ];
  if (o.extraConfig) lines.push(`%include ${o.extraConfig}`);
  return `${lines.join('\n')}\n`;
}

class HostTor implements Tor {
  readonly #o: HostTorOptions;
  #child: ChildProcess | undefined;
  #control: TorControl | undefined;
  #starting: Promise<void> | undefined;
  #stopping = false;
  #lastExit: string | undefined;

  constructor(o: HostTorOptions) {
    this.#o = o;
  }

  get running(): boolean {
    return this.#control !== undefined;
  }

  get lastExit(): string | undefined {
    return this.#lastExit;
  }

  start(): Promise<void> {
    if (this.#control) return Promise.resolve();
    this.#starting ??= this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    const { log } = this.#o;
    if (!fs.existsSync(this.#o.binary)) throw new TorNotInstalled(`${this.#o.binary} is not installed`);
    fs.mkdirSync(this.#o.dataDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.#o.dataDir, 0o700);
    fs.mkdirSync(this.#o.runtimeDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.#o.runtimeDir, 0o700);
    const controlSocket = path.join(this.#o.runtimeDir, 'control');
    fs.rmSync(controlSocket, { force: true });
    const torrc = path.join(this.#o.runtimeDir, 'torrc');
    fs.writeFileSync(
      torrc,
      renderTorrc({
        dataDir: this.#o.dataDir,
        controlSocket,
        ownerPid: process.pid,
        ...(this.#o.extraConfig ? { extraConfig: this.#o.extraConfig } : {}),
      }),
      { mode: 0o600 },
    );
    const argv = [this.#o.binary, '-f', torrc, '--defaults-torrc', '/dev/null'];
    log.info('starting tor', { argv });
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#stopping = false;
    const exited = new Promise<string>((resolve) => {
      child.once('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exited with ${code}`));
      child.once('error', (error) => resolve(`could not start: ${error.message}`));
    });
    forwardLines(child.stdout, (line) => log.info('tor', { line }));
    forwardLines(child.stderr, (line) => log.warn('tor', { line }));
    void exited.then((why) => {
      if (this.#child !== child) return;
      this.#child = undefined;
      this.#control?.close();
      this.#control = undefined;
      if (this.#stopping) return;
      this.#lastExit = why;
      log.warn('tor exited', { why });
      this.#o.onExit?.(why);
    });

    const deadline = Date.now() + (this.#o.startTimeoutMs ?? 30_000);
    let control: TorControl | undefined;
    let lastError: unknown;
    while (!control) {
      if (this.#child !== child) throw new Error(`tor ${this.#lastExit ?? 'exited while starting'}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`tor did not open its control socket in time: ${String(lastError)}`);
      }
      try {
        control = await connectTorControl({ socket: controlSocket });
      } catch (error) {
        lastError = error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    try {
      await control.takeOwnership();
    } catch (error) {
      // A tor we cannot own would outlive us: it goes now.
      control.close();
      child.kill('SIGKILL');
      throw error;
    }
    this.#control = control;
    void control.closed.then(() => {
      if (this.#control === control) this.#control = undefined;
    });
    log.info('tor is running', { pid: child.pid });
  }

  async stop(): Promise<void> {
    await this.#starting?.catch(() => {});
    const child = this.#child;
    if (!child) return;
    this.#stopping = true;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  #connected(): TorControl {
    if (!this.#control) throw new Error('tor is not running');
    return this.#control;
  }

  async bootstrap(): Promise<Bootstrap> {
    return this.#connected().bootstrap();
  }

  async onions(): Promise<string[]> {
    return this.#connected().detachedOnions();
  }

  async addOnion(key: string, ports: OnionPort[]): Promise<{ serviceId: string }> {
    return this.#connected().addOnion(key, ports);
  }

  async delOnion(serviceId: string): Promise<void> {
    return this.#connected().delOnion(serviceId);
  }
}

/** Calls `each` per line, lines cut at 2 KiB so a chatty tor cannot grow our memory. */
function forwardLines(stream: NodeJS.ReadableStream | null, each: (line: string) => void): void {
  if (!stream) return;
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    rest += chunk;
    const lines = rest.split('\n');
    rest = (lines.pop() ?? '').slice(-2048);
    for (const line of lines) if (line.trim()) each(line.slice(0, 2048));
  });
}
