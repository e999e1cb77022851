import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSigningKey } from '#sdk/keys.ts';
import { type Bridge, hostBridge, type NetworkSpec } from '../src/host/bridge.ts';
import { type ContainerSpec, idRangeForSlot, type Lxc, MAX_SLOT } from '../src/host/containers.ts';
import { hostLxc } from '../src/host/lxc.ts';
import { hostMounts, type Mounts } from '../src/host/mounts.ts';
import { run } from '../src/host/run.ts';
import { silentLogger } from '../src/log/log.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { alive } from './processes.ts';
import { DEV_KEY } from './services.ts';

/**
 * What the tests on real LXC share: LIFO cleanups, scratch dirs that are unmounted before
 * removal, a busybox squashfs image, a bridge of the test's own, host files put back.
 */

export const log = silentLogger;
export const BUSYBOX = '/bin/busybox';
const tools = ['lxc-start', 'mksquashfs', 'nft', 'perl'];

/** Why LXC tests cannot run here (false when they can). */
export function lxcSkipReason(): string | false {
  const missing = [
    ...(process.getuid?.() === 0 ? [] : ['root']),
    ...tools.filter(
      (t) => !['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => fs.existsSync(path.join(d, t))),
    ),
    ...(fs.existsSync(BUSYBOX) ? [] : ['busybox-static']),
  ];
  return missing.length > 0 ? `needs ${missing.join(', ')}` : false;
}

const LEASES = '/run/hearth-test-networks';

/**
 * A bridge, subnet and NAT table that no other test process on this machine holds, so a
 * real hearth0 is never touched and two checkouts' test runs (or `make test-fault` beside
 * `make test`) cannot take each other's network away. Leased by a file holding this
 * process's pid under /run/hearth-test-networks (a dead holder's is taken over), given
 * back when the process exits.
 */
export function leaseNetwork(): NetworkSpec {
  fs.mkdirSync(LEASES, { recursive: true });
  const start = process.pid % 250;
  for (let i = 0; i < 250; i++) {
    const n = 1 + ((start + i) % 250);
    const file = path.join(LEASES, String(n));
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(fs.readFileSync(file, 'utf8'));
      if (holder && alive(holder)) continue;
      fs.rmSync(file, { force: true });
      i--;
      continue;
    }
    process.once('exit', () => fs.rmSync(file, { force: true }));
    return { bridge: `hts${n}`, subnet: `10.236.${n}.0/24`, nftTable: `hearth_ts${n}` };
  }
  throw new Error(`no free test network: ${LEASES} holds 250 leases`);
}

export const INDEX = '<h1>hello from a hearth container</h1>\n';

export type Cleanup = (undo: () => unknown) => void;

/**
 * Undo steps run last-registered first (t.after runs hooks in registration order), each
 * one even when an earlier one failed: the container goes before its directory does.
 */
export function cleanups(t: test.TestContext): Cleanup {
  const stack: (() => unknown)[] = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (let undo = stack.pop(); undo; undo = stack.pop())
      await Promise.resolve(undo()).catch((e) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  });
  return (undo) => stack.push(undo);
}

/** A temp dir that is unmounted (deepest first) before it is removed, even after a failure. */
export function scratch(cleanup: Cleanup, mounts: Mounts): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-lxc-'));
  // The containers' roots (mapped uids) must be able to reach the lxcpath inside it.
  fs.chmodSync(dir, 0o755);
  cleanup(async () => {
    await mounts.unmountAll(dir);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const APPLETS = ['sh', 'httpd', 'cat', 'echo', 'id', 'ls', 'sleep', 'touch'];

/** busybox with a few applet links and a web root, owned by 0 as in any image. */
export async function buildImage(
  dir: string,
  o: { applets?: string[]; files?: Record<string, string> } = {},
): Promise<string> {
  const root = path.join(dir, 'image-root');
  for (const d of ['bin', 'www', 'etc', 'proc', 'sys', 'dev', 'tmp', 'root', 'usr/lib']) {
    fs.mkdirSync(path.join(root, d), { recursive: true });
  }
  fs.copyFileSync(BUSYBOX, path.join(root, 'bin/busybox'));
  fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
  for (const applet of o.applets ?? APPLETS) {
    fs.symlinkSync('busybox', path.join(root, 'bin', applet));
  }
  fs.writeFileSync(path.join(root, 'www/index.html'), INDEX);
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  for (const [file, text] of Object.entries(o.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), text);
  }
  const image = path.join(dir, 'image.sqfs');
  await run(['mksquashfs', root, image, '-noappend', '-quiet', '-all-root', '-no-progress'], { log });
  return image;
}

/** Files the test may change on the host, put back as they were. */
export function restoreAfter(cleanup: Cleanup, files: string[]) {
  const saved = files.map((f) => ({ f, text: fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : undefined }));
  cleanup(() => {
    for (const { f, text } of saved) {
      if (text === undefined) fs.rmSync(f, { force: true });
      else if (fs.readFileSync(f, 'utf8') !== text) fs.writeFileSync(f, text);
    }
  });
}

export async function upBridge(cleanup: Cleanup, bridge: Bridge, spec: NetworkSpec): Promise<NetworkSpec> {
  restoreAfter(cleanup, ['/proc/sys/net/ipv4/ip_forward']);
  cleanup(() => bridge.teardown(spec));
  await bridge.ensure(spec);
  return spec;
}

/**
 * Everything a container test needs: its own lxcpath in a scratch dir, a bridge of its
 * own, an image, a stand-in hearth binary, /etc/subuid and /etc/subgid put back after.
 * Containers made by specFor are destroyed before the rest is taken down.
 */
export async function containerHost(
  t: test.TestContext,
  o: { network: NetworkSpec; image?: Parameters<typeof buildImage>[1] },
) {
  const mounts = hostMounts(log);
  const bridge = hostBridge(log);
  const cleanup = cleanups(t);
  const dir = scratch(cleanup, mounts);
  const lxcPath = path.join(dir, 'lxc');
  const lxc: Lxc = hostLxc({ lxcPath, mounts, log });
  restoreAfter(cleanup, ['/etc/subuid', '/etc/subgid']);
  const net = await upBridge(cleanup, bridge, o.network);
  const image = await buildImage(dir, o.image);
  const hearthBinary = path.join(dir, 'hearth');
  fs.writeFileSync(hearthBinary, '#!/bin/sh\necho hearth stand-in\n', { mode: 0o755 });
  let slot = MAX_SLOT;
  const specFor = (name: string, address: string, rest: Partial<ContainerSpec>): ContainerSpec => {
    cleanup(() => lxc.destroy(name));
    return {
      name,
      image,
      dataDir: path.join(dir, 'containers', name),
      idmap: idRangeForSlot(slot--),
      volumes: [],
      hearthBinary,
      init: ['/bin/sh', '-c', "trap 'exit 0' TERM; httpd -f -p 80 -h /www & wait"],
      memoryMiB: 64,
      cpus: 1,
      network: { bridge: net.bridge, subnet: net.subnet, address },
      ...rest,
    };
  };
  return { lxc, mounts, bridge, net, dir, lxcPath, image, specFor, cleanup };
}

export async function httpGet(url: string, deadlineMs: number): Promise<string> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return await res.text();
    } catch (e) {
      if (Date.now() > until) throw e;
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${deadlineMs} ms`);
    await sleep(25);
  }
}

export async function timed<T>(times: Record<string, number>, key: string, f: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const r = await f();
  times[key] = Math.round(performance.now() - t0);
  return r;
}

/**
 * A daemon that runs packages on a network of the test's own, set up, with the
 * development signer trusted. `done()` kills it, then takes down what outlives it by
 * design — its containers, their mounts, the bridge — puts back the host files LXC
 * changed, and removes its root.
 */
export async function packagesDaemon(
  network: NetworkSpec,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<{ d: TestDaemon; done: () => Promise<void> }> {
  const undo: (() => unknown)[] = [];
  restoreAfter((u) => undo.push(u), ['/etc/subuid', '/etc/subgid', '/proc/sys/net/ipv4/ip_forward']);
  const d = await startTestDaemon({
    args: ['--bridge', network.bridge, '--subnet', network.subnet, '--nft-table', network.nftTable, ...args],
    env,
  });
  const done = async () => {
    await d.kill();
    killLeftoverDnsmasq(d.root);
    const lxc = hostLxc({ lxcPath: path.join(d.root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
    for (const c of await lxc.list().catch(() => [])) await lxc.destroy(c.name).catch(() => {});
    await hostMounts(log)
      .unmountAll(d.root)
      .catch(() => {});
    await hostBridge(log)
      .teardown(network)
      .catch(() => {});
    for (const u of undo.reverse())
      await Promise.resolve()
        .then(u)
        .catch(() => {});
    await d.cleanup();
  };
  try {
    await setUp(d);
    const key = await loadSigningKey(DEV_KEY);
    await d
      .client({ bearer: d.localToken })
      .call('package.signer.add', { publicKey: key.publicKey, name: 'Hearth development' });
  } catch (e) {
    await done();
    throw e;
  }
  return { d, done };
}

/** The process below `ancestor` whose command line holds `needle` (a container's daemon). */
export function descendantRunning(ancestor: number, needle: string): number {
  const parentOf = (pid: number) =>
    Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
  for (const name of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (!fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) continue;
      for (let p = Number(name); p > 1; p = parentOf(p)) if (p === ancestor) return Number(name);
    } catch {}
  }
  throw new Error(`no process with ${JSON.stringify(needle)} below ${ancestor}`);
}

/**
 * The daemon's DNS server (host/dnsmasq.ts) is its child: a daemon killed outright leaves
 * it running, holding its port, until the next start on the same root. A test's is killed.
 */
export function killLeftoverDnsmasq(root: string): void {
  const pidFile = path.join(root, 'run/hearth/dns/dnsmasq.pid');
  const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').trim() : '');
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    if (fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(pidFile.replace(/dnsmasq\.pid$/, ''))) {
      process.kill(pid, 'SIGKILL');
    }
  } catch {}
}
