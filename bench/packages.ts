// The service-package rows of `make bench` (see run.ts's header): packing with the SDK, and
// the built daemon running out/services/hello-world.hpk in a real unprivileged LXC container
// on a bridge, subnet and nft table of the bench's own (never a real hearth0). Traffic stays
// on that bridge and loopback: the images come from the SDK's cache, and a pack that would
// have to download one is stopped before it starts.
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSigningKey } from '#sdk/keys.ts';
import { packDir } from '#sdk/pack/pack-dir.ts';
import { hostBridge } from '../core/src/host/bridge.ts';
import { hostLxc } from '../core/src/host/lxc.ts';
import { hostMounts } from '../core/src/host/mounts.ts';
import { silentLogger as log } from '../core/src/log/log.ts';
import { setUp, startTestDaemon, type TestDaemon } from '../core/test/daemon.ts';
import { restoreAfter } from '../core/test/lxc-harness.ts';
import { DEV_KEY, IMAGE_CACHE, REPO, SERVICES } from '../core/test/services.ts';
import { lanProxyRows } from './lan.ts';
import { fmt, type Memory, median, memoryOf, privateOf } from './measure.ts';
import type { Row } from './run.ts';

const NETWORK = { bridge: 'hbench1', subnet: '10.233.1.0/24', nftTable: 'hearth_bench1' };
const CONTAINER = 'hearth-hello-world';
/** Packages packed by the pack rows, in order; the first one's pack must work. */
const PACKED = ['hello-world', 'radicale'];
const RUNS = 3;
const HEALTH_POLL_MS = 10;
const HEALTH_TIMEOUT_MS = 60_000;
const SETTLE_MS = 1000;
/** The runtime's private memory is read after this long idle (issue 12: after 60 s idle). */
const RUNTIME_IDLE_MS = 60_000;
const RUNTIME_PRIVATE_TARGET_MIB = 15;
const INSTALL_TARGET_MS = 3000;

export interface PackageBenchHost {
  /** Registers an undo step, run last-registered first at the bench's cleanup. */
  undo(step: () => unknown): void;
  tempDir(prefix: string): string;
  say(msg: string): void;
}

export interface PackageBench {
  rows: Row[];
  notes: string[];
  /** Why a row could not be measured; the bench then exits non-zero after printing the table. */
  failed?: string;
}

/** Why the container rows cannot run on this machine (false when they can). */
export function containerSkipReason(): string | false {
  const onPath = (t: string) =>
    ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => fs.existsSync(path.join(d, t)));
  const missing = [
    ...(process.getuid?.() === 0 ? [] : ['root']),
    ...['lxc-start', 'nft', 'mksquashfs'].filter((t) => !onPath(t)),
    ...(fs.existsSync('/usr/sbin/init.lxc.static') ? [] : ['init.lxc.static (apt-get install lxc)']),
    ...(fs.existsSync(path.join(SERVICES, 'hello-world.hpk'))
      ? []
      : ['out/services/hello-world.hpk (make services)']),
    ...(fs.existsSync(DEV_KEY) ? [] : [DEV_KEY]),
  ];
  return missing.length > 0 ? `needs ${missing.join(', ')}` : false;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export async function packageBench(host: PackageBenchHost): Promise<PackageBench> {
  const rows: Row[] = [];
  const notes: string[] = [];
  let failed: string | undefined;

  // --- .hpk packs (no daemon, no root needed) ---
  if (!fs.existsSync(DEV_KEY)) {
    rows.push({ metric: '.hpk pack', value: `skipped: needs ${DEV_KEY}` });
  } else {
    const key = await loadSigningKey(DEV_KEY);
    const outDir = host.tempDir('hearth-bench-pack-');
    for (const id of PACKED) {
      host.say(`pack ${id}`);
      const cached: string[] = [];
      try {
        const t0 = performance.now();
        const r = await packDir({
          dir: path.join(REPO, 'services', id),
          out: path.join(outDir, `${id}.hpk`),
          key,
          cacheDir: IMAGE_CACHE,
          sdkDir: path.join(REPO, 'sdk'),
          progress: (line) => {
            if (line.startsWith('image ')) cached.push(line);
          },
          // Only a cache miss runs mmdebstrap: stop there rather than download a distribution.
          trace: (argv) => {
            if (path.basename(argv[0] ?? '') === 'mmdebstrap') {
              throw new Error(`its image is not in ${IMAGE_CACHE} (run make services)`);
            }
          },
        });
        const ms = performance.now() - t0;
        rows.push({
          metric: `${id} .hpk pack time, cache hit (size)`,
          value: `${fmt(ms)} ms (${fmt(r.size / 2 ** 20, 1)} MiB)`,
        });
        notes.push(`${id} pack: ${cached.map((l) => l.replace(/^image /, '')).join('; ')}`);
      } catch (e) {
        rows.push({ metric: `${id} .hpk pack`, value: `skipped: ${message(e)}` });
      }
    }
  }

  // --- hello-world in a container ---
  const skip = containerSkipReason();
  if (skip) {
    rows.push({ metric: 'hello-world container rows', value: `skipped: ${skip}` });
    return { rows, notes };
  }

  // Files the daemon changes on the host are put back last, after the network is gone.
  restoreAfter(host.undo, ['/etc/subuid', '/etc/subgid', '/proc/sys/net/ipv4/ip_forward']);
  const root = host.tempDir('hearth-bench-pkg-');
  let d: TestDaemon | undefined;
  // Containers outlive the daemon by design: kill it, take them down and unmount, then the
  // network; its root goes last (tempDir's own step, registered before this one).
  host.undo(async () => {
    const steps: [string, () => Promise<unknown>][] = [
      ['kill the daemon', async () => d?.kill()],
      [
        'destroy containers',
        async () => {
          const lxc = hostLxc({ lxcPath: path.join(root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
          for (const c of await lxc.list().catch(() => [])) await lxc.destroy(c.name);
        },
      ],
      ['unmount', () => hostMounts(log).unmountAll(root)],
      ['tear the network down', () => hostBridge(log).teardown(NETWORK)],
      ['remove the root', async () => d?.cleanup()],
    ];
    for (const [what, step] of steps) {
      await step().catch((e: unknown) => host.say(`cleanup: ${what}: ${message(e)}`));
    }
  });

  const install = `install-to-healthy (median of ${RUNS})`;
  const start = `start-to-healthy (median of ${RUNS})`;
  const memory = 'hello-world container memory';
  try {
    host.say('packages: starting a daemon with its own bridge');
    d = await startTestDaemon({
      root,
      args: [
        '--bridge',
        NETWORK.bridge,
        '--subnet',
        NETWORK.subnet,
        '--nft-table',
        NETWORK.nftTable,
        '--lan-ports',
        '29000-29099',
      ],
    });
    await setUp(d);
    const admin = d.client({ bearer: d.localToken });
    const key = await loadSigningKey(DEV_KEY);
    await admin.call('package.signer.add', { publicKey: key.publicKey, name: 'Hearth development' });
    const hpk = path.join(SERVICES, 'hello-world.hpk');

    // Every check has reported success since `since` (Date.now): a stopped package keeps its
    // last results, so an older success says nothing about this start.
    const healthy = async (id: string, since: number) => {
      const deadline = performance.now() + HEALTH_TIMEOUT_MS;
      for (;;) {
        const pkg = await admin.call('package.get', { id });
        const checks = Object.values((pkg.health ?? {}) as Record<string, { status: string; at: number }>);
        if (checks.length > 0 && checks.every((c) => c.status === 'success' && c.at >= since)) return;
        if (performance.now() > deadline) {
          const logs = await admin.call('package.logs', { id, lines: 30 });
          throw new Error(
            `${id} is not healthy after ${HEALTH_TIMEOUT_MS / 1000} s (${JSON.stringify(pkg.health)}, ` +
              `${pkg.status}):\n${logs.lines.join('\n')}`,
          );
        }
        await sleep(HEALTH_POLL_MS);
      }
    };

    // Install → healthy; uninstall between runs, the last one stays for the other rows.
    const installs: { call: number; healthy: number }[] = [];
    for (let i = 1; i <= RUNS; i++) {
      host.say(`hello-world install ${i}/${RUNS}`);
      const since = Date.now();
      const t0 = performance.now();
      await admin.call('package.install', { path: hpk });
      const call = performance.now() - t0;
      await healthy('hello-world', since);
      installs.push({ call, healthy: performance.now() - t0 });
      if (i < RUNS) await admin.call('package.uninstall', { id: 'hello-world' });
    }
    const installMs = median(installs.map((r) => r.healthy));
    rows.push({
      metric: `hello-world ${install}`,
      value: `${fmt(installMs)} ms`,
      target: { text: `≤ ${fmt(INSTALL_TARGET_MS)} ms`, met: installMs <= INSTALL_TARGET_MS },
    });
    notes.push(
      `hello-world install: healthy after ${installs.map((r) => fmt(r.healthy)).join(', ')} ms; ` +
        `package.install answered after ${installs.map((r) => fmt(r.call)).join(', ')} ms ` +
        `(health polled every ${HEALTH_POLL_MS} ms; the check runs every 2 s while starting)`,
    );

    // Memory, once it has settled: the container's cgroup, and the processes in it.
    host.say('hello-world memory');
    await sleep(SETTLE_MS);
    const stats = await admin.call('package.stats', { id: 'hello-world' });
    const lxc = hostLxc({ lxcPath: path.join(root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
    const initPid = (await lxc.info(CONTAINER)).pid;
    if (!initPid) throw new Error(`${CONTAINER} has no init PID`);
    const [runtimePid, ...others] = childrenOf(initPid);
    if (runtimePid === undefined) throw new Error(`${CONTAINER}'s init (${initPid}) has no child`);
    const runtime = memoryOf(runtimePid);
    const daemons = descendantsOf(runtimePid).map((pid) => ({ pid, name: commOf(pid), m: memoryOf(pid) }));
    const init = memoryOf(initPid);
    const mem = (m: Memory) => `${fmt(m.rss, 1)} MiB (${fmt(m.anon, 1)} private)`;
    const cgroupMiB = (stats.memoryBytes ?? Number.NaN) / 2 ** 20;
    rows.push(
      { metric: `${memory} (cgroup, package.stats)`, value: `${fmt(cgroupMiB, 1)} MiB` },
      {
        metric: 'container runtime RSS per container (hello-world)',
        value: mem(runtime),
        baseline: `${fmt(
          daemons.reduce((s, p) => s + p.m.rss, 0),
          1,
        )} MiB the package's own daemons`,
      },
    );
    // Private_Clean + Private_Dirty: the binary's file pages are shared with the daemon (the
    // container bind-mounts the same file), so this is what each container adds.
    host.say(`hello-world runtime: ${RUNTIME_IDLE_MS / 1000} s idle`);
    await sleep(RUNTIME_IDLE_MS - SETTLE_MS);
    const runtimePrivate = privateOf(runtimePid);
    const runtimeIdle = memoryOf(runtimePid);
    rows.push({
      metric: `container runtime private memory after ${RUNTIME_IDLE_MS / 1000} s idle (smaps_rollup)`,
      value: `${fmt(runtimePrivate, 1)} MiB (RSS ${fmt(runtimeIdle.rss, 1)}, anonymous ${fmt(runtimeIdle.anon, 1)})`,
      target: {
        text: `≤ ${RUNTIME_PRIVATE_TARGET_MIB} MiB`,
        met: runtimePrivate <= RUNTIME_PRIVATE_TARGET_MIB,
      },
    });
    notes.push(
      `hello-world memory: runtime ${commOf(runtimePid)} (pid ${runtimePid}) ${mem(runtime)}; ` +
        `init.lxc.static ${mem(init)}; daemons ${daemons.map((p) => `${p.name} ${mem(p.m)}`).join(', ') || 'none'}` +
        (others.length > 0 ? `; init has ${others.length} more children` : '') +
        '. The cgroup figure also counts page cache charged to the container (the binary, the image)',
    );

    // Stop, then start → healthy.
    const starts: number[] = [];
    const stops: number[] = [];
    for (let i = 1; i <= RUNS; i++) {
      host.say(`hello-world stop/start ${i}/${RUNS}`);
      const s0 = performance.now();
      await admin.call('package.stop', { id: 'hello-world' });
      stops.push(performance.now() - s0);
      const since = Date.now();
      const t0 = performance.now();
      await admin.call('package.start', { id: 'hello-world' });
      await healthy('hello-world', since);
      starts.push(performance.now() - t0);
    }
    rows.push({ metric: `hello-world ${start}`, value: `${fmt(median(starts))} ms` });
    notes.push(
      `hello-world start: healthy after ${starts.map((ms) => fmt(ms)).join(', ')} ms; ` +
        `package.stop before each took ${stops.map((ms) => fmt(ms)).join(', ')} ms`,
    );

    host.say('hello-world over its LAN port');
    const [web] = await admin.call('interface.list', { package: 'hello-world' });
    const ca = await (await fetch(`${d.url}/hearth-ca.crt`)).text();
    const address = (await admin.call('package.get', { id: 'hello-world' })).address;
    if (!web?.lanPort) throw new Error('hello-world has no LAN port');
    const servername = 'testbox-hello-world.local';
    rows.push(
      ...(await lanProxyRows({
        lanPort: web.lanPort,
        servername,
        ca,
        container: { host: address, port: 8080 },
      })),
    );

    await admin.call('package.uninstall', { id: 'hello-world' });
  } catch (e) {
    failed = `hello-world in a container: ${message(e)}`;
    for (const metric of [`hello-world ${install}`, `${memory}`, `hello-world ${start}`]) {
      if (!rows.some((r) => r.metric.startsWith(metric))) rows.push({ metric, value: 'failed (see notes)' });
    }
    notes.push(failed);
  }
  return failed ? { rows, notes, failed } : { rows, notes };
}

/** The children of every thread of `pid`, in the order the kernel lists them. */
export function childrenOf(pid: number): number[] {
  const tasks = fs.readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((t) =>
    fs
      .readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number),
  );
}

export function descendantsOf(pid: number): number[] {
  return childrenOf(pid).flatMap((c) => [c, ...descendantsOf(c)]);
}

function commOf(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
}
