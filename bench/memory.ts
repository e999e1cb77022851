// `make bench-memory`: the memory rows of `make bench` alone, measured the same way (the
// same functions, flags, settle times and loads as run.ts and packages.ts), for a quicker
// loop while working on memory (issue 12):
// - the floor (an idle node:http server with the binary's V8 flags), the daemon idle after
//   start, after setup, after 10k more calls (5k server.echo, 5k server.info with a read
//   token), each with its private part (RssAnon) and smaps_rollup's private pages; both
//   executables' cached pages are dropped first, as run.ts does (measure.ts);
// - with HEARTH_BENCH_RUNTIME=1 (root, LXC): hello-world installed on a daemon with a bridge
//   of its own (hbenchm, 10.233.9.0/24, hearth_benchm), and its container runtime's private
//   memory after 60 s idle, as packages.ts reads it.
// HEARTH_BENCH_ROUNDS=N repeats the daemon rows N times (a fresh daemon each), to see the noise.
// HEARTH_BENCH_MALLOC=1 runs the daemon with the runtime's malloc settings (launch.ts's
// RUNTIME_MALLOC_ENV), =arena or =trim with one of the two, to see what they do for it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSigningKey } from '#sdk/keys.ts';
import { hostBridge } from '../core/src/host/bridge.ts';
import { hostLxc } from '../core/src/host/lxc.ts';
import { hostMounts } from '../core/src/host/mounts.ts';
import { silentLogger as log } from '../core/src/log/log.ts';
import { RUNTIME_MALLOC_ENV } from '../core/src/runtime/launch.ts';
import { setUp, startTestDaemon, type TestDaemon } from '../core/test/daemon.ts';
import { restoreAfter } from '../core/test/lxc-harness.ts';
import { DEV_KEY, SERVICES } from '../core/test/services.ts';
import type { LoadResult, LoadSpec } from './load.ts';
import { dropCachedPages, EXEC_ARGV, fmt, median, memoryOf, privateOf } from './measure.ts';
import { childrenOf, containerSkipReason, descendantsOf } from './packages.ts';

const SETTLE_MS = 1000;
const CONCURRENCY = 32;
const RUNTIME_IDLE_MS = 60_000;
const NETWORK = { bridge: 'hbenchm', subnet: '10.233.9.0/24', nftTable: 'hearth_benchm' };
const REPO = path.resolve(import.meta.dirname, '..');
process.env['HEARTH_BIN'] ??= path.join(REPO, 'out/hearth-x86_64');
const ROUNDS = Number(process.env['HEARTH_BENCH_ROUNDS'] ?? 1);
const MALLOC_ENV: Record<string, Record<string, string>> = {
  '1': RUNTIME_MALLOC_ENV,
  arena: { MALLOC_ARENA_MAX: RUNTIME_MALLOC_ENV.MALLOC_ARENA_MAX },
  trim: { MALLOC_TRIM_THRESHOLD_: RUNTIME_MALLOC_ENV.MALLOC_TRIM_THRESHOLD_ },
};
const MALLOC = MALLOC_ENV[process.env['HEARTH_BENCH_MALLOC'] ?? ''];

const say = (msg: string) => process.stderr.write(`bench-memory: ${msg}\n`);
const undo: (() => unknown)[] = [];

const IDLE_NODE_SERVER = `const s = require('node:http').createServer();
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: s.address().port })));`;

interface Reading {
  rss: number;
  anon: number;
  private: number;
}
const read = (pid: number): Reading => ({ ...memoryOf(pid), private: privateOf(pid) });
const show = (r: Reading) => `${fmt(r.rss, 1)} (anon ${fmt(r.anon, 1)}, private ${fmt(r.private, 1)})`;

async function floor(): Promise<Reading> {
  dropCachedPages(process.execPath);
  const child = spawn(process.execPath, [...EXEC_ARGV, '-e', IDLE_NODE_SERVER], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('close', resolve));
  try {
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await sleep(SETTLE_MS);
    return read(child.pid!);
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

async function load(spec: LoadSpec): Promise<LoadResult> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'load.ts'), JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise((resolve) => child.once('close', resolve));
  if (code !== 0) throw new Error(`the load generator failed (exit ${code})`);
  const result = JSON.parse(out) as LoadResult;
  if (result.errors > 0) throw new Error(`${result.errors} requests failed: ${result.firstError}`);
  return result;
}

async function daemonRound(): Promise<{ start: Reading; setUp: Reading; after: Reading }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-mem-'));
  dropCachedPages(process.env['HEARTH_BIN']!);
  const d = await startTestDaemon({
    root,
    args: ['--calls-per-minute', '1000000', '--anonymous-calls-per-minute', '1000000'],
    ...(MALLOC ? { env: MALLOC } : {}),
  });
  try {
    await sleep(SETTLE_MS);
    const start = read(d.pid);
    await setUp(d);
    const admin = d.client({ bearer: d.localToken });
    const token = (await admin.call('auth.token.create', { name: 'bench read', scope: 'read' })).token;
    await admin.call('auth.token.create', { name: 'bench operate', scope: 'operate' });
    await sleep(SETTLE_MS);
    const afterSetUp = read(d.pid);
    const fiveK = (method: string, headers: Record<string, string>): LoadSpec => ({
      url: `${d.url}/rpc/v1`,
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method,
        params: method === 'server.echo' ? { message: 'bench' } : {},
      }),
      headers,
      concurrency: CONCURRENCY,
      warmupMs: 0,
      durationMs: 60_000,
      maxRequests: 5000,
    });
    await load(fiveK('server.echo', {}));
    await load(fiveK('server.info', { Authorization: `Bearer ${token}` }));
    await sleep(SETTLE_MS);
    const after = read(d.pid);
    return { start, setUp: afterSetUp, after };
  } finally {
    await d.cleanup();
  }
}

async function runtimeRow(): Promise<string> {
  const skip = containerSkipReason();
  if (skip) return `skipped: ${skip}`;
  restoreAfter((s) => undo.push(s), ['/etc/subuid', '/etc/subgid', '/proc/sys/net/ipv4/ip_forward']);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-mem-pkg-'));
  let d: TestDaemon | undefined;
  undo.push(async () => {
    // Stopped, not killed: the daemon takes its children (dnsmasq) down with it.
    await d?.stop();
    await d?.kill();
    const lxc = hostLxc({ lxcPath: path.join(root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
    for (const c of await lxc.list().catch(() => [])) await lxc.destroy(c.name);
    await hostMounts(log).unmountAll(root);
    await hostBridge(log).teardown(NETWORK);
    await d?.cleanup();
    fs.rmSync(root, { recursive: true, force: true });
  });
  d = await startTestDaemon({
    root,
    args: ['--bridge', NETWORK.bridge, '--subnet', NETWORK.subnet, '--nft-table', NETWORK.nftTable],
  });
  await setUp(d);
  const admin = d.client({ bearer: d.localToken });
  const key = await loadSigningKey(DEV_KEY);
  await admin.call('package.signer.add', { publicKey: key.publicKey, name: 'Hearth development' });
  say('install hello-world');
  await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
  const lxc = hostLxc({ lxcPath: path.join(root, 'run/hearth/lxc'), mounts: hostMounts(log), log });
  let initPid: number | null | undefined;
  for (let i = 0; i < 100 && !initPid; i++) {
    initPid = (await lxc.info('hearth-hello-world')).pid;
    if (!initPid) await sleep(100);
  }
  if (!initPid) throw new Error('hello-world has no init PID');
  const [runtimePid] = childrenOf(initPid);
  if (runtimePid === undefined) throw new Error('the container has no runtime');
  say(`runtime ${runtimePid}: ${RUNTIME_IDLE_MS / 1000} s idle`);
  await sleep(RUNTIME_IDLE_MS);
  const r = read(runtimePid);
  const daemons = descendantsOf(runtimePid).map((p) => memoryOf(p).rss);
  const stats = await admin.call('package.stats', { id: 'hello-world' });
  return (
    `runtime private ${fmt(r.private, 1)} MiB (RSS ${fmt(r.rss, 1)}, anonymous ${fmt(r.anon, 1)}); ` +
    `cgroup ${fmt((stats.memoryBytes ?? Number.NaN) / 2 ** 20, 1)} MiB; the package's daemons ${fmt(
      daemons.reduce((a, b) => a + b, 0),
      1,
    )} MiB RSS`
  );
}

async function main(): Promise<void> {
  const floors: Reading[] = [];
  const rounds: Awaited<ReturnType<typeof daemonRound>>[] = [];
  for (let i = 1; i <= ROUNDS; i++) {
    say(`round ${i}/${ROUNDS}`);
    floors.push(await floor());
    rounds.push(await daemonRound());
  }
  const lines = [
    `binary: ${process.env['HEARTH_BIN']}; flags ${EXEC_ARGV.join(' ')}${MALLOC ? `; ${JSON.stringify(MALLOC)}` : ''}; MiB`,
  ];
  for (const [i, r] of rounds.entries()) {
    const f = floors[i]!;
    lines.push(
      `round ${i + 1}: floor ${show(f)} | idle ${show(r.start)} = ${fmt(r.start.rss / f.rss, 2)}× | ` +
        `setup ${show(r.setUp)} | 10k ${show(r.after)} = ${fmt((r.after.rss / r.start.rss - 1) * 100, 1)} %`,
    );
  }
  if (ROUNDS > 1) {
    const ratio = median(rounds.map((r, i) => r.start.rss / floors[i]!.rss));
    const growth = median(rounds.map((r) => r.after.rss / r.start.rss - 1));
    lines.push(`median: idle ${fmt(ratio, 2)}× the floor, after 10k +${fmt(growth * 100, 1)} %`);
  }
  if (process.env['HEARTH_BENCH_RUNTIME'] === '1') lines.push(await runtimeRow());
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  await main();
} catch (error) {
  say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  for (const step of undo.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      say(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
