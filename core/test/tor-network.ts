import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/*
 * A private Tor network on 127.0.0.1 for tests (TestingTorNetwork): three directory
 * authorities (also relays), two exit relays that exit only to loopback, and a client with
 * a SOCKS port. Keys are made here — tor-gencert for the authorities' v3 keys, `tor
 * --list-fingerprint` for their identities — and every process is a child of the test,
 * tracked from the moment it is spawned and told our PID (__OwningControllerProcess), so a
 * test that dies leaves none behind. Nothing reaches the real Tor network: no tor here
 * knows its authorities, only ours.
 *
 * The timing options follow tor's chutney (fast votes, every relay voted Guard, Exit and
 * HSDir): a network that bootstraps in about half a minute.
 */

export interface TorNetwork {
  /** torrc lines a tor needs to join this network (the box's tor gets them through a setting). */
  clientConfig: string;
  /** The client's SOCKS port, for curl --socks5-hostname. */
  socksPort: number;
  /** Resolves when every tor says "Bootstrapped 100%". */
  ready: Promise<void>;
  pids: number[];
  stop(): Promise<void>;
}

const TOR = '/usr/sbin/tor';

export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve) => {
          const s = net.createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

const COMMON = [
  'TestingTorNetwork 1',
  'AssumeReachable 1',
  'PathsNeededToBuildCircuits 0.67',
  'TestingDirAuthVoteExit *',
  'TestingDirAuthVoteHSDir *',
  'TestingDirAuthVoteGuard *',
  'TestingMinExitFlagThreshold 0',
  'V3AuthNIntervalsValid 3',
];

export async function startTorNetwork(
  dir: string,
  log: (line: string) => void = () => {},
): Promise<TorNetwork> {
  const ports = await freePorts(11);
  const p = (i: number) => ports[i] as number;
  const children: ChildProcess[] = [];
  const nodes: { name: string; torrc: string[] }[] = [];

  const authorities: string[] = [];
  for (let i = 0; i < 3; i++) {
    const name = `auth${i}`;
    const data = path.join(dir, name);
    const orPort = p(i * 2);
    const dirPort = p(i * 2 + 1);
    fs.mkdirSync(path.join(data, 'keys'), { recursive: true, mode: 0o700 });
    // The authority's v3 identity and signing keys; an empty passphrase on stdin.
    execFileSync(
      'tor-gencert',
      ['--create-identity-key', '--passphrase-fd', '0', '-m', '12', '-a', `127.0.0.1:${dirPort}`],
      { cwd: path.join(data, 'keys'), input: '\n', stdio: ['pipe', 'ignore', 'ignore'] },
    );
    const cert = fs.readFileSync(path.join(data, 'keys', 'authority_certificate'), 'utf8');
    const v3ident = /^fingerprint ([0-9A-F]{40})$/m.exec(cert)?.[1];
    execFileSync(
      TOR,
      ['--list-fingerprint', '--DataDirectory', data, '--ORPort', String(orPort), '--quiet'],
      {
        stdio: 'ignore',
      },
    );
    const fingerprint = fs.readFileSync(path.join(data, 'fingerprint'), 'utf8').trim().split(' ')[1];
    if (!v3ident || !fingerprint) throw new Error(`could not make the keys of ${name}`);
    authorities.push(
      `DirAuthority ${name} orport=${orPort} no-v2 v3ident=${v3ident} 127.0.0.1:${dirPort} ${fingerprint}`,
    );
    nodes.push({
      name,
      torrc: [
        `ORPort ${orPort}`,
        `DirPort ${dirPort}`,
        'Address 127.0.0.1',
        'SocksPort 0',
        'AuthoritativeDirectory 1',
        'V3AuthoritativeDirectory 1',
        `ContactInfo ${name}@test.invalid`,
        'ExitPolicy reject *:*',
        // Votes every 20 s, each consensus valid for three: a loaded machine (two cores, other
        // tests beside) once let a 10 s consensus lapse before the next was made.
        'TestingV3AuthInitialVotingInterval 10',
        'V3AuthVotingInterval 20',
        'TestingV3AuthInitialVoteDelay 2',
        'V3AuthVoteDelay 4',
        'TestingV3AuthInitialDistDelay 2',
        'V3AuthDistDelay 4',
      ],
    });
  }
  for (let i = 0; i < 2; i++) {
    nodes.push({
      name: `relay${i}`,
      torrc: [
        `ORPort ${p(6 + i * 2)}`,
        `DirPort ${p(7 + i * 2)}`,
        'Address 127.0.0.1',
        'SocksPort 0',
        'ExitRelay 1',
        // Exits to loopback only: the network cannot carry anything off this machine.
        'ExitPolicy accept 127.0.0.0/8:*',
        'ExitPolicy reject *:*',
        'ExitPolicyRejectPrivate 0',
      ],
    });
  }
  const socksPort = p(10);
  nodes.push({ name: 'client', torrc: [`SocksPort 127.0.0.1:${socksPort}`] });

  const clientConfig = [...COMMON, ...authorities].join('\n');
  const ready: Promise<void>[] = [];
  for (const node of nodes) {
    const data = path.join(dir, node.name);
    fs.mkdirSync(data, { recursive: true, mode: 0o700 });
    const torrc = path.join(data, 'torrc');
    fs.writeFileSync(
      torrc,
      [
        clientConfig,
        `DataDirectory ${data}`,
        `Nickname ${node.name}`,
        `__OwningControllerProcess ${process.pid}`,
        'ShutdownWaitLength 0',
        'SafeLogging 0',
        'Log notice stdout',
        ...node.torrc,
      ].join('\n'),
    );
    const child = spawn(TOR, ['-f', torrc, '--defaults-torrc', '/dev/null'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    ready.push(
      new Promise((resolve, reject) => {
        let text = '';
        child.stdout?.setEncoding('utf8');
        child.stdout?.on('data', (chunk: string) => {
          for (const line of chunk.split('\n')) if (line) log(`${node.name}: ${line}`);
          text = (text + chunk).slice(-4096);
          if (/Bootstrapped 100%/.test(text)) resolve();
        });
        child.once('exit', (code, signal) => reject(new Error(`${node.name} exited (${signal ?? code})`)));
      }),
    );
  }
  const stop = async () => {
    await Promise.all(
      children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        const t = setTimeout(() => c.kill('SIGKILL'), 3_000);
        await exited;
        clearTimeout(t);
      }),
    );
  };
  const all = Promise.all(ready).then(() => {});
  // A tor that exits before it is stopped fails `ready`; later exits are the stop's.
  all.catch(() => {});
  return { clientConfig, socksPort, ready: all, pids: children.map((c) => c.pid as number), stop };
}
