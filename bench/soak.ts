// `make soak`: the built daemon for a long while (HEARTH_SOAK_MINUTES, default 60) under a
// steady mixed load, its memory sampled every minute, to show whether it stays flat:
//
// - calls: CALLS_PER_SECOND JSON-RPC calls over HTTP, round-robin through reads (server.echo,
//   server.info with a read token, server.status, server.metrics, package.list, event.list)
//   and, every NOTIFY_EVERY-th call, a notification created then removed (a write through
//   SQLite, the state document and its patch to every subscriber, leaving nothing behind);
// - WebSocket subscribers: SUBSCRIBERS clients following the state document; each minute one
//   of them goes and a new one comes (connections and streams that end);
// - a log follower: server.logs with follow over the WebSocket, and the package's log too;
// - a package restarting: out/services/hello-world.hpk installed in a real unprivileged LXC
//   container (root and LXC needed; else, or with HEARTH_SOAK_PACKAGE=0, this part is
//   skipped and the table says so),
//   package.restart every RESTART_EVERY_S, on a bridge, subnet and nft table of the soak's own.
//
// Each sample (every SAMPLE_S, the first after WARMUP_S): VmRSS and RssAnon from /proc, the
// JavaScript heap used and total from server.metrics's `daemon`. Written to out/soak/: the
// table (soak.md) and a plot of both (soak.svg); growth is the last sample against the first,
// and the run exits non-zero when RSS grew by more than GROWTH_LIMIT (the issue's +10 %).
//   HEARTH_BIN=out/hearth-x86_64 HEARTH_SOAK_MINUTES=10 node bench/soak.ts
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSigningKey } from '#sdk/keys.ts';
import type { WsClient } from '../core/src/client/ws-client.ts';
import { hostBridge } from '../core/src/host/bridge.ts';
import { hostLxc } from '../core/src/host/lxc.ts';
import { hostMounts } from '../core/src/host/mounts.ts';
import { silentLogger as log } from '../core/src/log/log.ts';
import { setUp, startTestDaemon, type TestDaemon } from '../core/test/daemon.ts';
import { restoreAfter } from '../core/test/lxc-harness.ts';
import { DEV_KEY, REPO, SERVICES } from '../core/test/services.ts';
import { fmt, memoryOf } from './measure.ts';
import { type SoakSample, soakSvg, soakTable } from './soak-report.ts';

const MINUTES = Number(process.env['HEARTH_SOAK_MINUTES'] ?? 60);
const SAMPLE_S = Number(process.env['HEARTH_SOAK_SAMPLE_SECONDS'] ?? 60);
const WARMUP_S = 30;
const CALLS_PER_SECOND = 20;
const NOTIFY_EVERY = 20;
const SUBSCRIBERS = 10;
const RESTART_EVERY_S = 60;
const GROWTH_LIMIT = 0.1;
const OUT = path.join(REPO, 'out/soak');
// Not the bench's (hbench1) nor the tests': a soak may run beside them.
const NETWORK = { bridge: 'hsoak1', subnet: '10.233.7.0/24', nftTable: 'hearth_soak1' };

process.env['HEARTH_BIN'] ??= path.join(REPO, 'out/hearth-x86_64');
const say = (msg: string) => process.stderr.write(`soak: ${msg}\n`);
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

// --- cleanup (as bench/run.ts) ---------------------------------------------------

const undo: (() => unknown)[] = [];
let stopping = false;
async function cleanUp(): Promise<void> {
  stopping = true;
  for (const step of undo.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      say(`cleanup: ${message(error)}`);
    }
  }
}

function containerSkipReason(): string | false {
  const onPath = (t: string) =>
    ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => fs.existsSync(path.join(d, t)));
  const missing = [
    ...(process.getuid?.() === 0 ? [] : ['root']),
    ...['lxc-start', 'nft'].filter((t) => !onPath(t)),
    ...(fs.existsSync('/usr/sbin/init.lxc.static') ? [] : ['init.lxc.static']),
    ...(fs.existsSync(path.join(SERVICES, 'hello-world.hpk'))
      ? []
      : ['out/services/hello-world.hpk (make services)']),
    ...(fs.existsSync(DEV_KEY) ? [] : [DEV_KEY]),
  ];
  return missing.length > 0 ? `needs ${missing.join(', ')}` : false;
}

async function startDaemon(withPackage: boolean): Promise<TestDaemon> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-soak-'));
  // Retried: a container's mounts may take a moment to go after it is destroyed.
  undo.push(() => fs.rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 500 }));
  let d: TestDaemon | undefined;
  if (withPackage) {
    restoreAfter((step) => undo.push(step), ['/etc/subuid', '/etc/subgid', '/proc/sys/net/ipv4/ip_forward']);
    // Containers outlive the daemon by design: kill it, take them down, then the network.
    undo.push(async () => {
      await d?.kill();
      const lxc = hostLxc({ lxcPath: path.join(root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
      for (const c of await lxc.list().catch(() => [])) await lxc.destroy(c.name).catch(() => undefined);
      await hostMounts(log)
        .unmountAll(root)
        .catch((e: unknown) => say(`cleanup: unmount: ${message(e)}`));
      await hostBridge(log)
        .teardown(NETWORK)
        .catch((e: unknown) => say(`cleanup: network: ${message(e)}`));
    });
  }
  d = await startTestDaemon({
    root,
    args: [
      '--calls-per-minute',
      '1000000',
      ...(withPackage
        ? ['--bridge', NETWORK.bridge, '--subnet', NETWORK.subnet, '--nft-table', NETWORK.nftTable]
        : []),
    ],
  });
  undo.push(() => d?.cleanup());
  return d;
}

async function main(): Promise<void> {
  if (!fs.existsSync(process.env['HEARTH_BIN']!))
    throw new Error(`${process.env['HEARTH_BIN']} does not exist`);
  const skip = process.env['HEARTH_SOAK_PACKAGE'] === '0' ? 'HEARTH_SOAK_PACKAGE=0' : containerSkipReason();
  const d = await startDaemon(!skip);
  await setUp(d);
  const admin = d.client({ bearer: d.localToken });
  const read = (await admin.call('auth.token.create', { name: 'soak read', scope: 'read' })).token;
  const reader = d.client({ bearer: read });

  let restarts = 0;
  let failures = 0;
  const fails: string[] = [];
  const failed = (what: string) => (e: unknown) => {
    failures++;
    if (fails.length < 20) fails.push(`${what}: ${message(e)}`);
  };

  // The package, its log followed, restarted every RESTART_EVERY_S.
  const sockets: WsClient[] = [];
  undo.push(() => Promise.all(sockets.splice(0).map((ws) => ws.close().catch(() => undefined))));
  const follower = await d.ws({ bearer: read });
  sockets.push(follower);
  let logLines = 0;
  const daemonLog = (await follower.call('server.logs', { lines: 1, follow: true })) as { stream?: string };
  if (daemonLog.stream) follower.onStream(daemonLog.stream, () => void logLines++);
  if (!skip) {
    say('installing hello-world in a container');
    const key = await loadSigningKey(DEV_KEY);
    await admin.call('package.signer.add', { publicKey: key.publicKey, name: 'Hearth development' });
    await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    const pkgLog = (await follower.call('package.logs', { id: 'hello-world', lines: 1, follow: true })) as {
      stream?: string;
    };
    if (pkgLog.stream) follower.onStream(pkgLog.stream, () => void logLines++);
  } else {
    say(`no package restarts: ${skip}`);
  }

  // State subscribers; one replaced each minute.
  let patches = 0;
  const subscribe = async () => {
    const ws = await d.ws({ bearer: read });
    sockets.push(ws);
    const sub = (await ws.call('state.subscribe', {})) as { stream: string };
    ws.onStream(sub.stream, () => void patches++);
  };
  for (let i = 0; i < SUBSCRIBERS; i++) await subscribe();

  // The calls, at a steady rate, never more than a few in flight.
  const reads: [string, Record<string, unknown>][] = [
    ['server.echo', { message: 'soak' }],
    ['server.info', {}],
    ['server.status', {}],
    ['server.metrics', {}],
    ['package.list', {}],
    ['event.list', {}],
  ];
  let calls = 0;
  let inFlight = 0;
  const callLoop = async () => {
    const spacing = 1000 / CALLS_PER_SECOND;
    for (let next = performance.now(); !stopping; next += spacing) {
      const wait = next - performance.now();
      if (wait > 0) await sleep(wait);
      if (inFlight >= 8) continue;
      inFlight++;
      const n = calls++;
      const call =
        n % NOTIFY_EVERY === 0
          ? admin
              .call('notification.create', { title: `soak ${n}` })
              .then((note) => admin.call('notification.remove', { id: (note as { id: number }).id }))
          : reader.call(...(reads[n % reads.length] as [never, never]));
      void call.catch(failed('call')).finally(() => inFlight--);
    }
  };
  const loops = [callLoop()];

  const minute = async (elapsedS: number) => {
    const old = sockets.splice(1, 1)[0];
    await old?.close().catch(failed('close a subscriber'));
    await subscribe().catch(failed('subscribe'));
    if (!skip && elapsedS % RESTART_EVERY_S < SAMPLE_S) {
      await admin
        .call('package.restart', { id: 'hello-world' })
        .then(() => void restarts++, failed('package.restart'));
    }
  };

  const samples: SoakSample[] = [];
  const t0 = performance.now();
  const end = t0 + MINUTES * 60_000;
  say(`running for ${MINUTES} min, a sample every ${SAMPLE_S} s after ${WARMUP_S} s of warm-up`);
  await sleep(WARMUP_S * 1000);
  for (;;) {
    const m = memoryOf(d.pid);
    const heap = (await admin.call('server.metrics', {})).daemon;
    const sample: SoakSample = {
      minute: (performance.now() - t0) / 60_000,
      rssMiB: m.rss,
      anonMiB: m.anon,
      heapUsedMiB: heap.heapUsedBytes / 2 ** 20,
      heapTotalMiB: heap.heapTotalBytes / 2 ** 20,
      calls,
      restarts,
    };
    samples.push(sample);
    say(
      `${fmt(sample.minute, 1)} min: RSS ${fmt(m.rss, 1)} MiB (${fmt(m.anon, 1)} private), heap ${fmt(sample.heapUsedMiB, 1)}` +
        `/${fmt(sample.heapTotalMiB, 1)} MiB; ${calls} calls, ${restarts} restarts, ${patches} patches, ${logLines} log lines, ${failures} failures`,
    );
    if (performance.now() + SAMPLE_S * 1000 > end + 1000) break;
    await sleep(SAMPLE_S * 1000);
    await minute((performance.now() - t0) / 1000);
  }
  stopping = true;
  await Promise.all(loops);

  fs.mkdirSync(OUT, { recursive: true });
  const context = {
    minutes: MINUTES,
    load:
      `${CALLS_PER_SECOND} calls/s (1 in ${NOTIFY_EVERY} a notification created and removed), ${SUBSCRIBERS} state ` +
      `subscribers (one replaced per minute), the daemon's log followed` +
      (skip
        ? `; no package (${skip})`
        : `, hello-world in a container restarted every ${RESTART_EVERY_S} s and its log followed`),
    binary: process.env['HEARTH_BIN']!,
    failures: fails,
  };
  const { text, growth } = soakTable(samples, context);
  fs.writeFileSync(path.join(OUT, 'soak.md'), text);
  fs.writeFileSync(path.join(OUT, 'soak.svg'), soakSvg(samples));
  process.stdout.write(text);
  say(`wrote ${path.relative(REPO, OUT)}/soak.md and soak.svg`);
  if (growth.rss > GROWTH_LIMIT) {
    say(`RSS grew by ${fmt(growth.rss * 100, 1)} % (limit ${GROWTH_LIMIT * 100} %)`);
    process.exitCode = 1;
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (error) {
  if (!stopping) say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
