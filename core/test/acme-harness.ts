import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { selfSignedCertificate } from '../src/host/self-signed.ts';

/*
 * The real ACME pieces on loopback for the acme tests: Debian's pebble (the CA, validating
 * for real), pebble-challtestsrv (a DNS server that points every name at 127.0.0.1) and
 * knotd (an authoritative server taking RFC 2136 updates signed with TSIG). Every process
 * is tracked when spawned and killed by its PID by `stop`.
 */

export const haveAcmeTools = ['/usr/bin/pebble', '/usr/bin/pebble-challtestsrv', '/usr/sbin/knotd'].every(
  (f) => fs.existsSync(f),
);

export async function freePort(kind: 'tcp' | 'udp+tcp' = 'tcp'): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = net.createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    if (kind === 'tcp') return port;
    // A DNS server wants the same number free on UDP too.
    const dgram = await import('node:dgram');
    const ok = await new Promise<boolean>((resolve) => {
      const u = dgram.createSocket('udp4');
      u.once('error', () => resolve(false));
      u.bind(port, '127.0.0.1', () => u.close(() => resolve(true)));
    });
    if (ok) return port;
  }
}

export class Procs {
  readonly #children: ChildProcess[] = [];
  readonly output = new Map<string, string>();

  spawn(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#children.push(child);
    this.output.set(name, '');
    const add = (d: Buffer) => this.output.set(name, (this.output.get(name) ?? '') + d.toString());
    child.stdout!.on('data', add);
    child.stderr!.on('data', add);
    return child;
  }

  /** Kills every process started here, by PID, and waits for each to be gone. */
  async stop(): Promise<void> {
    await Promise.all(
      this.#children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null || c.pid === undefined) return;
        const gone = new Promise((r) => c.once('close', r));
        process.kill(c.pid, 'SIGKILL');
        await gone;
      }),
    );
  }
}

async function until(what: string, ok: () => Promise<boolean>, procs: Procs, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not start:\n${[...procs.output].join('\n')}`);
    await sleep(50);
  }
}

export interface Pebble {
  directoryUrl: string;
  /** pebble's own HTTPS certificate: the CA bundle the box must trust to talk to it. */
  caFile: string;
  /** The root that signs what pebble issues (changes at each start of pebble). */
  issuerRoot(): Promise<string>;
}

/** pebble on loopback, validating HTTP-01 on `httpPort` and resolving names through `dnsServer`. */
export async function startPebble(
  procs: Procs,
  dir: string,
  o: { httpPort: number; dnsServer: string },
): Promise<Pebble> {
  const { cert, key } = selfSignedCertificate();
  const caFile = path.join(dir, 'pebble-wfe.pem');
  fs.writeFileSync(caFile, cert);
  fs.writeFileSync(path.join(dir, 'pebble-wfe.key'), key);
  const [port, mgmt, tlsPort] = [await freePort(), await freePort(), await freePort()];
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${port}`,
      managementListenAddress: `127.0.0.1:${mgmt}`,
      certificate: caFile,
      privateKey: path.join(dir, 'pebble-wfe.key'),
      httpPort: o.httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
    },
  };
  fs.writeFileSync(path.join(dir, 'pebble.json'), JSON.stringify(config));
  procs.spawn(
    'pebble',
    '/usr/bin/pebble',
    ['-config', path.join(dir, 'pebble.json'), '-dnsserver', o.dnsServer],
    {
      // No random sleeps before validating; no nonces refused at random. (pebble 2.4 may still
      // reuse a valid authorization for a new order, at random, with no switch to stop it.)
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
    },
  );
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  await until('pebble', async () => (await get(directoryUrl, cert)).status === 200, procs);
  return {
    directoryUrl,
    caFile,
    issuerRoot: async () => (await get(`https://127.0.0.1:${mgmt}/roots/0`, cert)).body,
  };
}

/** pebble-challtestsrv as a DNS server only: every A query answers 127.0.0.1, no AAAA. */
export async function startChallTestSrv(procs: Procs): Promise<{ dnsServer: string }> {
  const [dns, mgmt] = [await freePort('udp+tcp'), await freePort()];
  procs.spawn('challtestsrv', '/usr/bin/pebble-challtestsrv', [
    ...['-dns01', `127.0.0.1:${dns}`, '-management', `127.0.0.1:${mgmt}`],
    ...['-http01', '', '-https01', '', '-tlsalpn01', '', '-defaultIPv6', ''],
  ]);
  await until('pebble-challtestsrv', () => tcpOpen(dns), procs);
  return { dnsServer: `127.0.0.1:${dns}` };
}

export interface Knot {
  port: number;
  zone: string;
  keyName: string;
  secret: string;
  /** The zone's TXT records at `name`, as knotc reads them. */
  txt(name: string): Promise<string[]>;
}

/** knotd authoritative for `zone` on loopback, taking updates signed with a fresh TSIG key. */
export async function startKnot(procs: Procs, dir: string, zone: string): Promise<Knot> {
  const port = await freePort('udp+tcp');
  const secret = randomBytes(32).toString('base64');
  const keyName = 'hearth-test';
  const storage = path.join(dir, 'knot');
  fs.mkdirSync(storage, { recursive: true });
  fs.writeFileSync(
    path.join(storage, `${zone}.zone`),
    [
      `$ORIGIN ${zone}.`,
      '$TTL 60',
      `@ SOA ns.${zone}. hostmaster.${zone}. 1 60 60 600 60`,
      `@ NS ns.${zone}.`,
      'ns A 127.0.0.1',
      '',
    ].join('\n'),
  );
  const conf = path.join(storage, 'knot.conf');
  fs.writeFileSync(
    conf,
    [
      'server:',
      `  listen: 127.0.0.1@${port}`,
      `  rundir: ${storage}`,
      'database:',
      `  storage: ${storage}`,
      'control:',
      `  listen: ${storage}/knot.sock`,
      'log:',
      '  - target: stderr',
      '    any: info',
      'key:',
      `  - id: ${keyName}`,
      '    algorithm: hmac-sha256',
      `    secret: ${secret}`,
      'acl:',
      '  - id: hearth-update',
      `    key: ${keyName}`,
      '    action: update',
      'zone:',
      `  - domain: ${zone}`,
      `    storage: ${storage}`,
      `    file: ${zone}.zone`,
      '    acl: hearth-update',
      '    zonefile-sync: -1',
      '    journal-content: none',
      '',
    ].join('\n'),
  );
  procs.spawn('knotd', '/usr/sbin/knotd', ['-c', conf]);
  await until('knotd', () => tcpOpen(port), procs);
  const knotc = (args: string[]) =>
    new Promise<string>((resolve, reject) => {
      const c = spawn('/usr/sbin/knotc', ['-c', conf, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      c.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      c.stderr.on('data', (d: Buffer) => {
        out += d.toString();
      });
      c.once('error', reject);
      c.once('close', (code) =>
        code === 0 ? resolve(out) : reject(new Error(`knotc ${args.join(' ')}: ${out}`)),
      );
    });
  return {
    port,
    zone,
    keyName,
    secret,
    txt: async (name) =>
      (await knotc(['zone-read', `${zone}.`, `${name}.`, 'TXT']).catch(() => ''))
        .split('\n')
        .map((l) => /TXT\s+"?([^"]*)"?\s*$/.exec(l)?.[1])
        .filter((v): v is string => v !== undefined),
  };
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .once('error', reject);
  });
}
