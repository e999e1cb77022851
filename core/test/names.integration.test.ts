import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { containerName } from '../src/host/containers.ts';
import { hostLxc } from '../src/host/lxc.ts';
import { hostMounts } from '../src/host/mounts.ts';
import { run } from '../src/host/run.ts';
import { addressForSlot } from '../src/packages/checks.ts';
import { type TestDaemon, untilHealthy } from './daemon.ts';
import { leaseNetwork, log, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { required } from './required.ts';
import { packVariant, SERVICES } from './services.ts';

/**
 * Container DNS and isolation end to end: the built daemon, three variants of
 * hello-world in real containers on a bridge of this test's own, the daemon's own dnsmasq,
 * and a second dnsmasq on loopback standing in for the internet's resolvers.
 *   iso-b   serves, declares nothing
 *   iso-a   declares iso-b as a dependency: may reach it
 *   iso-c   declares nothing: reaches no one
 */
const NETWORK = leaseNetwork();
const GATEWAY = NETWORK.subnet.replace(/0\/24$/, '1');

const skip = required(
  lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'hello-world.hpk')) ? false : 'needs `make services`') ||
    (fs.existsSync('/usr/sbin/dnsmasq') ? false : 'needs dnsmasq-base') ||
    (fs.existsSync('/usr/bin/getent') ? false : 'needs getent (libc-bin)'),
  'the names and isolation tests on real LXC',
);

describe('container DNS and isolation on real LXC', { skip }, () => {
  let d: TestDaemon;
  let done: () => Promise<void>;
  let upstream: ChildProcess | undefined;
  let upstreamPort = 0;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-names-'));
  const lxc = () => hostLxc({ lxcPath: path.join(d.root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
  const address: Record<string, string> = {};
  const dnsmasqPid = () => {
    const file = path.join(d.root, 'run/hearth/dns/dnsmasq.pid');
    return Number(fs.readFileSync(file, 'utf8').trim());
  };

  /** glibc's getent, run by the loader the runtime directory brings into every container. */
  const getent = async (id: string, name: string) => {
    const r = await lxc().exec(containerName(id), [
      '/bin/busybox',
      'sh',
      '-c',
      'exec /usr/lib/hearth/rt/lib/ld-linux-x86-64.so.2 --library-path /usr/lib/hearth/rt/lib /data/www/getent hosts "$0"',
      name,
    ]);
    return r.exitCode === 0 ? r.stdout.trim().split(/\s+/)[0] : undefined;
  };
  /**
   * An HTTP GET from inside a container with busybox's nc (its wget crashes with SIGSEGV
   * under lxc-attach's cleared environment): the answer, or '' when none came.
   */
  const get = async (from: string, host: string, port: number, prelude = '') => {
    const r = await lxc().exec(containerName(from), [
      '/bin/busybox',
      'sh',
      '-c',
      `${prelude}printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 "$0" "$1"`,
      host,
      String(port),
    ]);
    if (process.env['HEARTH_TEST_VERBOSE']) console.log(from, host, r);
    return r.stdout;
  };
  /** Whether `from` opens a TCP connection to `to`'s web port and gets the page. */
  const reaches = async (from: string, to: string) => /Hello from Hearth/.test(await get(from, to, 8080));

  before(async () => {
    // The stand-in upstream: answers outside.test, refuses the rest (no internet here).
    upstreamPort = 20000 + (process.pid % 20000);
    upstream = spawn(
      '/usr/sbin/dnsmasq',
      [
        '--keep-in-foreground',
        '--no-resolv',
        '--no-hosts',
        '--bind-interfaces',
        '--listen-address=127.0.0.1',
        `--port=${upstreamPort}`,
        '--address=/outside.test/192.0.2.7',
        `--pid-file=${path.join(work, 'upstream.pid')}`,
        '--conf-file=/dev/null',
      ],
      { stdio: 'ignore' },
    );
    const daemon = await packagesDaemon(NETWORK, ['--dns-upstream', `127.0.0.1#${upstreamPort}`]);
    d = daemon.d;
    done = daemon.done;
    const admin = d.client({ bearer: d.localToken });
    const variant = async (id: string, deps: string) =>
      packVariant(
        'hello-world',
        work,
        [
          ["id: 'hello-world'", `id: '${id}'`],
          ['  resources:', `  dependencies: ${deps},\n  resources:`],
        ],
        path.join(work, `${id}.hpk`),
      );
    for (const [id, deps] of [
      ['iso-b', '[]'],
      ['iso-a', "[{ id: 'iso-b', versionRange: '*' }]"],
      ['iso-c', '[]'],
    ] as const) {
      const pkg = await admin.call('package.install', { path: await variant(id, deps) });
      await untilHealthy(admin, id, { since: 0, timeoutMs: 60_000, pollMs: 200 });
      address[id] = pkg.address;
      // glibc's getent in the package's volume, for the DNS checks (busybox has none).
      const volume = fs
        .readdirSync(path.join(d.root, 'var/lib/hearth/packages', id), { recursive: true, encoding: 'utf8' })
        .find((p) => p.endsWith(path.join('volumes', 'www')));
      assert.ok(volume, `no www volume of ${id}`);
      const file = path.join(d.root, 'var/lib/hearth/packages', id, volume, 'getent');
      fs.copyFileSync('/usr/bin/getent', file);
      fs.chmodSync(file, 0o755);
    }
  });

  after(async () => {
    // SIGTERM: the daemon stops its dnsmasq itself; done() kills what a kill leaves.
    await d?.stop();
    await done?.();
    upstream?.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
    const tables = (await run(['nft', 'list', 'tables'], { log })).stdout;
    assert.doesNotMatch(tables, new RegExp(`table \\w+ ${NETWORK.nftTable}\\n`));
  });

  test('a container resolves another as <id>.internal (and <id> by the search domain)', async () => {
    assert.equal(await getent('iso-a', 'iso-b.internal'), address['iso-b']);
    assert.equal(await getent('iso-c', 'iso-a.internal'), address['iso-a']);
    assert.equal(await getent('iso-a', 'iso-c'), address['iso-c']);
    assert.equal(await getent('iso-a', 'nothing-here.internal'), undefined);
    assert.equal(address['iso-b'], addressForSlot(NETWORK.subnet, 0));
  });

  test('a name outside .internal is forwarded upstream', async () => {
    assert.equal(await getent('iso-a', 'outside.test'), '192.0.2.7');
  });

  test('a container reaches the package it declares, and no other', async () => {
    // By address: the names are getent's, above.
    // Up to three tries: one run in about five had the first connection time out (the
    // proxied ARP answer is what the first packet waits for; not understood yet).
    let ok = false;
    for (let i = 0; i < 3 && !ok; i++) ok = await reaches('iso-a', address['iso-b']!);
    assert.equal(ok, true, 'iso-a declares iso-b');
    assert.equal(await reaches('iso-c', address['iso-b']!), false, 'iso-c declares nothing');
    assert.equal(await reaches('iso-b', address['iso-a']!), false, 'a dependency opens one direction');
    assert.equal(await reaches('iso-c', address['iso-a']!), false);
    // The box's own ports on the bridge are closed too, DNS aside: a server of the host's.
    const server = http.createServer((_, res) => res.end('Hello from the host\n'));
    await new Promise<void>((r) => server.listen(0, GATEWAY, r));
    try {
      const port = (server.address() as AddressInfo).port;
      assert.equal(await get('iso-c', GATEWAY, port), '');
    } finally {
      server.close();
    }
  });

  test('a container cannot pass for another by taking its address', async () => {
    // iso-c has root in its own network namespace: it may change its address to iso-a's.
    const answer = await get(
      'iso-c',
      address['iso-b']!,
      8080,
      [
        'busybox ip addr flush dev eth0',
        `busybox ip addr add ${address['iso-a']}/24 dev eth0`,
        `busybox ip route add default via ${GATEWAY}`,
        '',
      ].join(' && '),
    );
    assert.equal(answer, '');
  });

  test('a flood of queries and a kill: dnsmasq is started again and answers', async () => {
    const before = dnsmasqPid();
    const socket = dgram.createSocket('udp4');
    // A query for <random>.internal: header, one question, type A, class IN.
    const query = (i: number) => {
      const label = Buffer.from(`flood${i}`);
      const suffix = Buffer.from('internal');
      return Buffer.concat([
        Buffer.from([i >> 8, i & 255, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, label.length]),
        label,
        Buffer.from([suffix.length]),
        suffix,
        Buffer.from([0, 0, 1, 0, 1]),
      ]);
    };
    for (let i = 0; i < 20_000; i++) {
      socket.send(query(i), 53, GATEWAY);
      if (i % 500 === 0) await sleep(1);
    }
    socket.close();
    assert.equal(dnsmasqPid(), before, 'the flood did not kill it');
    assert.equal(await getent('iso-a', 'iso-b.internal'), address['iso-b']);
    process.kill(before, 'SIGKILL');
    const until = Date.now() + 15_000;
    let after = before;
    while (Date.now() < until) {
      await sleep(100);
      try {
        after = dnsmasqPid();
        if (after !== before && fs.existsSync(`/proc/${after}`)) break;
      } catch {}
    }
    assert.notEqual(after, before, 'dnsmasq was not started again');
    let answer: string | undefined;
    while (Date.now() < until && answer === undefined) answer = await getent('iso-a', 'iso-b.internal');
    assert.equal(answer, address['iso-b']);
  });

  test('a package removed: its name and its rules go', async () => {
    const admin = d.client({ bearer: d.localToken });
    await admin.call('package.uninstall', { id: 'iso-c' });
    const until = Date.now() + 10_000;
    let answer = await getent('iso-a', 'iso-c.internal');
    while (answer !== undefined && Date.now() < until) {
      await sleep(200);
      answer = await getent('iso-a', 'iso-c.internal');
    }
    assert.equal(answer, undefined);
    const gone = new RegExp(address['iso-c']!.replace(/\./g, '\\.'));
    const rules = async () =>
      (await run(['nft', 'list', 'table', 'bridge', NETWORK.nftTable], { log })).stdout;
    let text = await rules();
    while (gone.test(text) && Date.now() < until) {
      await sleep(200);
      text = await rules();
    }
    assert.doesNotMatch(text, gone);
  });
});
