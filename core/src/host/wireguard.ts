import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from '../log/log.ts';
import { run } from './run.ts';

/**
 * The VPN's WireGuard interface: wireguard-go (this machine, and any kernel without the
 * module) as the daemon's child, configured over its UAPI socket — keys go in the socket,
 * never on a command line —; its address with `ip`, its fence and NAT with `nft -f -`.
 * Everything may run in a network namespace (`netns`), which is how the tests put the box
 * on a network of their own.
 *
 * A wireguard-go left by a daemon that was killed keeps the interface; it is taken over
 * (its socket answers), and `stop` deletes the link, which ends it as well as our own.
 */
export interface WireGuard {
  readonly iface: string;
  running(): Promise<boolean>;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The UAPI `get` answer, as text. */
  get(): Promise<string>;
  /** A UAPI `set` (its `set=1` lines and the blank line). */
  set(lines: string): Promise<void>;
  hasAddress(cidr: string): Promise<boolean>;
  setAddress(cidr: string): Promise<void>;
  natListing(table: string): Promise<string | null>;
  applyNat(script: string): Promise<void>;
  removeNat(table: string): Promise<void>;
  /** The networks on the interface of the default route: the home LAN. */
  lanSubnets(): Promise<string[]>;
}

/** `ip -4 route show default` and `ip -4 route show dev <d> scope link` → the LAN's networks, pure. */
export function parseLanRoutes(defaults: string, links: (dev: string) => string): string[] {
  const dev = /\bdev (\S+)/.exec(defaults.split('\n')[0] ?? '')?.[1];
  if (!dev) return [];
  return links(dev)
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((net) => /^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(net));
}

export class WireGuardFailed extends Error {
  override name = 'WireGuardFailed';
}

/** Where wireguard-go puts its UAPI sockets (fixed in wireguard-go). */
export const SOCKET_DIR = '/var/run/wireguard';
const MAX_ANSWER = 1 << 20;

export function hostWireGuard(o: {
  iface: string;
  /** A network namespace to run in (`ip netns`); empty: the daemon's own. */
  netns: string;
  binary: string;
  onExit?: (why: string) => void;
  log: Logger;
}): WireGuard {
  const { iface, log } = o;
  const socket = `${SOCKET_DIR}/${iface}.sock`;
  const inNs = (argv: string[]) => (o.netns ? ['ip', 'netns', 'exec', o.netns, ...argv] : argv);
  const ip = (argv: string[]) =>
    run(['ip', ...(o.netns ? ['-n', o.netns] : []), ...argv], { log, debianPackage: 'iproute2' });
  const nft = (argv: string[], input?: string) =>
    run(inNs(['nft', ...argv]), {
      log,
      debianPackage: 'nftables',
      ...(input === undefined ? {} : { input }),
    });
  let child: ChildProcess | undefined;
  let stopping = false;

  const uapi = (request: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const conn = net.connect(socket);
      let answer = '';
      const done = (error?: Error) => {
        conn.destroy();
        if (error) reject(error);
        else resolve(answer);
      };
      conn.setTimeout(5_000, () => done(new WireGuardFailed('wireguard-go did not answer in time')));
      conn.setEncoding('utf8');
      conn.on('data', (chunk: string) => {
        answer += chunk;
        if (answer.length > MAX_ANSWER) done(new WireGuardFailed('wireguard-go answered too much'));
        // Every answer ends with errno=N and a blank line.
        else if (/(^|\n)errno=-?\d+\n\n$/.test(answer)) done();
      });
      conn.on('error', (error) => done(error));
      conn.on('end', () => done(new WireGuardFailed('wireguard-go closed its socket before answering')));
      conn.write(request);
    });

  const answers = async (): Promise<boolean> => {
    if (!fs.existsSync(socket)) return false;
    try {
      await uapi('get=1\n\n');
      return true;
    } catch {
      return false;
    }
  };

  return {
    iface,
    running: answers,
    async start() {
      if (await answers()) return;
      fs.mkdirSync(SOCKET_DIR, { recursive: true, mode: 0o755 });
      // A socket a dead wireguard-go left behind, and its link if the tun survived it.
      fs.rmSync(socket, { force: true });
      await ip(['link', 'del', iface]).catch(() => {});
      const argv = inNs([o.binary, '-f', iface]);
      log.info('starting wireguard-go', { argv });
      const c = spawn(argv[0] as string, argv.slice(1), {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' },
      });
      child = c;
      stopping = false;
      let exit: string | undefined;
      c.once('error', (error) => {
        exit = `could not start: ${error.message}`;
      });
      c.once('exit', (code, signal) => {
        exit ??= signal ? `killed by ${signal}` : `exited with ${code}`;
        if (child !== c) return;
        child = undefined;
        if (!stopping) {
          log.warn('wireguard-go exited', { why: exit });
          o.onExit?.(exit);
        }
      });
      for (const s of [c.stdout, c.stderr]) {
        s?.setEncoding('utf8');
        s?.on('data', (d: string) => log.info('wireguard-go', { line: d.slice(0, 2048).trim() }));
      }
      const deadline = Date.now() + 10_000;
      while (!(await answers())) {
        if (exit !== undefined) throw new WireGuardFailed(`wireguard-go ${exit}`);
        if (Date.now() > deadline) {
          c.kill('SIGKILL');
          throw new WireGuardFailed('wireguard-go did not open its socket in time');
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      await ip(['link', 'set', iface, 'up']);
      log.info('wireguard-go is running', { pid: c.pid, iface });
    },
    async stop() {
      const c = child;
      stopping = true;
      const exited =
        c && c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined;
      // The link gone, wireguard-go ends by itself (ours or one a killed daemon left).
      await ip(['link', 'del', iface]).catch(() => {});
      if (c && exited) {
        const timer = setTimeout(() => c.kill('SIGKILL'), 5_000);
        c.kill('SIGTERM');
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(socket, { force: true });
    },
    get: () => uapi('get=1\n\n'),
    async set(lines) {
      const answer = await uapi(lines);
      const errno = /errno=(-?\d+)/.exec(answer)?.[1];
      if (errno !== '0')
        throw new WireGuardFailed(`wireguard-go refused the settings (errno ${errno ?? '?'})`);
    },
    async hasAddress(cidr) {
      const out = (await ip(['-o', '-4', 'addr', 'show', 'dev', iface])).stdout;
      return out.split('\n').some((l) => l.includes(` inet ${cidr} `));
    },
    async setAddress(cidr) {
      await ip(['addr', 'replace', cidr, 'dev', iface]);
    },
    async natListing(table) {
      const tables = (await nft(['list', 'tables'])).stdout.split('\n').map((l) => l.trim());
      if (!tables.includes(`table ip ${table}`)) return null;
      return (await nft(['list', 'table', 'ip', table])).stdout;
    },
    async applyNat(script) {
      // The LAN peers' packets are forwarded: routing is on where the box routes for them.
      await run(inNs(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']), { log, debianPackage: 'procps' });
      await nft(['-f', '-'], script);
    },
    async lanSubnets() {
      const defaults = (await ip(['-4', 'route', 'show', 'default'])).stdout;
      const dev = /\bdev (\S+)/.exec(defaults)?.[1];
      if (!dev) return [];
      const links = (await ip(['-4', 'route', 'show', 'dev', dev, 'scope', 'link'])).stdout;
      return parseLanRoutes(defaults, () => links);
    },
    async removeNat(table) {
      const tables = (await nft(['list', 'tables'])).stdout.split('\n').map((l) => l.trim());
      if (tables.includes(`table ip ${table}`)) await nft(['delete', 'table', 'ip', table]);
    },
  };
}
