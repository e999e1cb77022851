import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import { CommandNotFound } from './run.ts';

/**
 * The containers' DNS server: Debian's dnsmasq, run by the daemon as its child with a
 * config and hosts file of ours in `dir`, restarted when it dies (1 s, doubling to 30 s).
 * A daemon killed outright leaves its dnsmasq behind holding the port: the next start
 * kills the one its pid file names, if that process is a dnsmasq of this directory.
 *
 * Package: dnsmasq-base (the binary alone; the dnsmasq package's own service stays off).
 */
export interface DnsServer {
  /** What is written and whether the process runs. */
  observe(): Promise<{ config: string | null; hosts: string | null; running: boolean }>;
  writeFiles(config: string, hosts: string): Promise<void>;
  /** Starts it and waits until it serves; rejects when it exits first. */
  start(): Promise<void>;
  restart(): Promise<void>;
  /** SIGHUP: the hosts file read again, the cache cleared. */
  reload(): Promise<void>;
  /** Stops it and keeps it stopped. */
  stop(): Promise<void>;
  /** The running process's pid (tests). */
  pid(): number | undefined;
}

export class DnsServerFailed extends HearthError {
  constructor(message: string, output: string) {
    super('dns_failed', message, {
      hint: `the containers' DNS server (dnsmasq) said: ${output.trim().split('\n').slice(-2).join(' | ')}`,
    });
  }
}

const START_TIMEOUT_MS = 5_000;
const MAX_DELAY_MS = 30_000;
/** Up this long, the next death restarts it at once again. */
const STABLE_MS = 60_000;

export function hostDnsmasq(o: { dir: string; log: Logger; binary?: string }): DnsServer {
  const { dir, log } = o;
  const config = path.join(dir, 'dnsmasq.conf');
  const hosts = path.join(dir, 'hosts');
  const pidFile = path.join(dir, 'dnsmasq.pid');
  let child: ChildProcess | undefined;
  let wanted = false;
  let delay = 1000;
  let timer: NodeJS.Timeout | undefined;

  const read = (f: string) => fs.readFile(f, 'utf8').catch(() => null);
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;

  /** A dnsmasq a killed daemon left behind still holds port 53 on the bridge. */
  const killLeftover = async () => {
    const pid = Number((await read(pidFile)) ?? '');
    if (!Number.isInteger(pid) || pid <= 1 || pid === child?.pid) return;
    const cmdline = await read(`/proc/${pid}/cmdline`);
    if (!cmdline?.includes('dnsmasq') || !cmdline.includes(config)) return;
    log.info('stopping the DNS server a previous daemon left running', { pid });
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
    for (let i = 0; i < 100 && (await read(`/proc/${pid}/cmdline`)) !== null; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const launch = async () => {
    await killLeftover();
    const argv = [
      o.binary ?? 'dnsmasq',
      '--keep-in-foreground',
      '--log-facility=-',
      `--conf-file=${config}`,
      `--pid-file=${pidFile}`,
    ];
    log.debug('run', { argv });
    const p = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    child = p;
    let output = '';
    const since = Date.now();
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new DnsServerFailed('dnsmasq did not start in time', output)),
        START_TIMEOUT_MS,
      );
      p.stderr!.on('data', (d: Buffer) => {
        const text = d.toString('utf8');
        // Bounded: a query flood with logging on must not grow this.
        output = (output + text).slice(-4096);
        if (/started, version/.test(output)) {
          clearTimeout(t);
          resolve();
        }
      });
      p.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(t);
        reject(e.code === 'ENOENT' ? new CommandNotFound('dnsmasq', 'dnsmasq-base') : e);
      });
      p.once('exit', (code, signal) => {
        clearTimeout(t);
        reject(new DnsServerFailed(`dnsmasq exited at start (${signal ?? code})`, output));
      });
    }).catch((e) => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      throw e;
    });
    p.once('exit', (code, signal) => {
      if (child === p) child = undefined;
      if (!wanted) return;
      if (Date.now() - since > STABLE_MS) delay = 1000;
      log.warn('the DNS server died; starting it again', {
        code,
        signal,
        inMs: delay,
        said: output.slice(-300),
      });
      timer = setTimeout(() => {
        timer = undefined;
        if (wanted && !alive())
          launch().catch((error) => log.warn('the DNS server did not start again', { error }));
      }, delay);
      timer.unref();
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    });
  };

  const halt = async () => {
    const p = child;
    child = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 2000);
    await gone;
    clearTimeout(t);
  };

  return {
    async observe() {
      return { config: await read(config), hosts: await read(hosts), running: alive() };
    },
    async writeFiles(text, names) {
      // Read by dnsmasq after it has dropped to nobody.
      await fs.mkdir(dir, { recursive: true, mode: 0o755 });
      for (const [file, body] of [
        [hosts, names],
        [config, text],
      ] as const) {
        await fs.writeFile(`${file}.new`, body, { mode: 0o644 });
        await fs.rename(`${file}.new`, file);
      }
    },
    async start() {
      wanted = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (!alive()) await launch();
    },
    async restart() {
      wanted = true;
      await halt();
      await launch();
    },
    async reload() {
      if (alive()) child!.kill('SIGHUP');
    },
    async stop() {
      wanted = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      await halt();
    },
    pid: () => (alive() ? child!.pid : undefined),
  };
}
