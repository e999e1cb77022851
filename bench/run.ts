// `make bench`: measures the built daemon and prints one markdown table (progress goes to
// stderr). Each row, all measured in the same run:
//
// - cold start: spawn HEARTH_BIN as `hearth daemon` on a fresh temp root and time from the
//   spawn until `server.echo` first answers (daemon.json polled every 2 ms, then one call on
//   a new connection). Median of COLD_RUNS; the time until daemon.json appears is in the notes.
// - idle RSS: VmRSS of the daemon from /proc/<pid>/status after SETTLE_MS of quiet, three
//   times: right after start (before setup), after setup (argon2id hashing at 64 MiB), and
//   after 10k more calls (5k server.echo, 5k server.info). No GC is forced: it is what a
//   box would show. The private part (RssAnon) is shown beside it: the rest is pages of the
//   executable itself, shared and reclaimable. Both executables' cached pages are dropped
//   first (measure.ts's dropCachedPages): a binary just written by make build would
//   otherwise be mapped in the large folios it was written in, ~15 MiB more resident. Baseline: an idle node:http server on the
//   same Node (plain JavaScript, so Node's TypeScript stripper is not counted) — the floor —
//   with the V8 flags the binary has (build/exec-argv.json). Targets (issue 12): idle after
//   start ≤ 1.3× the floor; after 10k calls within +10 % of idle after start.
// - throughput: requests per second answered by the daemon for `server.echo` (public) and
//   `server.info` (a `read` API token as bearer: one SHA-256 and one SQLite lookup per call),
//   against bench/bare-server.ts, a bare node:http JSON handler on the same Node and V8 flags, loaded with
//   the same requests by the same generator (bench/load.ts, its own process: CONCURRENCY in
//   flight over keep-alive connections, WARMUP_MS then DURATION_MS counted). Runs alternate
//   bare/daemon ROUNDS times and the best of each is kept, to damp a shared machine's noise.
//   The ratio cell adds the ratio of server CPU time per request (bare over daemon), which
//   does not depend on the load generator keeping up: with 2 cores it saturates its own core
//   before the bare server does, which flatters the req/s ratio. Details in the notes.
// - patch fan-out: SUBSCRIBERS WsClients (in this process, each on its own connection)
//   subscribe to the state document; CHANGES `notification.create` calls go out over HTTP,
//   one every SPACING_MS without waiting for the previous answer. A sample is the time from
//   just before a call is sent until a subscriber's handler gets the patch carrying that
//   notification (found by its title), so it spans the whole path: HTTP request, auth,
//   validation, the SQLite writes, rebuilding and diffing the state document, one WebSocket
//   frame per subscriber, and this process reading it. All subscribers share this event
//   loop, so the last of 100 also waits for the other 99 to be parsed here. p50 and p99 over
//   every (subscriber, change) pair. Measured before the throughput rows, whose hundreds of
//   thousands of calls would leave a bigger heap (longer GC pauses) and audit table behind.
// - binary size of out/hearth-x86_64 and out/hearth-arm64.
// - MCP (bench/mcp.ts): tools/list latency, and a tools/call round trip against the same
//   call over JSON-RPC, on a daemon of its own.
// - under attack (bench/attack.ts): RSS and the owner's server.echo p99 while anonymous
//   clients flood, and the password guesses one address gets checked, on a daemon of its
//   own with the default limits.
// - TLS (bench/tls.ts): full handshakes per second on the daemon's HTTPS port against a bare
//   node:tls server with the same certificate.
// - the web UI (bench/web.ts): gzipped JS and CSS of each page against its budget, and the
//   dashboard's time until it shows live data in Chromium, 4× CPU-throttled against not.
// - service packages (bench/packages.ts), measured last, after the CPU note's window:
//   - .hpk pack time and size of services/hello-world and services/radicale with the SDK's
//     packDir and the development key, images from the SDK's cache (a pack that would run
//     mmdebstrap is stopped before it downloads anything and its row says so).
//   - hello-world install-to-healthy: a second daemon on a bridge, subnet and nft table of
//     its own (hbench1, 10.233.1.0/24, hearth_bench1) and the development signer; from
//     sending package.install of out/services/hello-world.hpk until every health check has
//     reported success since (package.get polled every 10 ms). Median of 3, uninstalled
//     between runs. The check runs every 2 s while starting, so a run is ~1 s or ~3 s.
//   - memory with hello-world running, after SETTLE_MS: the container's cgroup usage
//     (package.stats memoryBytes), and the RSS of the runtime (the child of the container's
//     init, whose PID lxc-info gives) with its private part; init's and the package's
//     daemons' in the notes.
//   - hello-world start-to-healthy: package.stop, then from package.start until healthy as
//     above. Median of 3.
//   Without root or LXC these rows say skipped. A container row that fails is printed as
//   such and the bench exits non-zero after the table.
//
// - OS images (bench/image.ts), last: build from scratch and after a change in core/,
//   compressed sizes, boot to wizard against a bare Debian root (HEARTH_BENCH_IMAGES=0: none).
//
// Targets are informational: a missed one is marked ✗, never a failing exit. The exit code
// is non-zero only when the bench itself (or a row of it) cannot run. The last note says how much CPU other
// processes took meanwhile: on a shared machine that is the first thing to check. Every
// process and temp directory the bench creates is removed at the end, also on failure or
// Ctrl-C.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HearthClient } from '../core/src/client/client.ts';
import { nodeTransport } from '../core/src/client/node-transport.ts';
import type { WsClient } from '../core/src/client/ws-client.ts';
import type { DaemonInfo } from '../core/src/daemon.ts';
import type { StateMessage } from '../core/src/state/state-doc.ts';
import { setUp, startTestDaemon, type TestDaemon } from '../core/test/daemon.ts';
import { attackBench } from './attack.ts';
import { imageBench } from './image.ts';
import type { LoadResult, LoadSpec } from './load.ts';
import { mcpBench } from './mcp.ts';
import {
  cpuMsOf,
  dropCachedPages,
  EXEC_ARGV,
  fmt,
  type Memory,
  machineCpuMs,
  median,
  memoryOf,
  percentile,
} from './measure.ts';
import { packageBench } from './packages.ts';
import { tlsBench } from './tls.ts';
import { webBench } from './web.ts';

const COLD_RUNS = 5;
const SETTLE_MS = 1000;
const CONCURRENCY = 32;
const WARMUP_MS = 500;
const DURATION_MS = 3000;
const ROUNDS = 2;
const SUBSCRIBERS = 100;
const CHANGES = 200;
const SPACING_MS = 10;

const REPO = path.resolve(import.meta.dirname, '..');
// The harness runs whatever HEARTH_BIN names; without it, it would run the sources.
process.env['HEARTH_BIN'] ??= path.join(REPO, 'out/hearth-x86_64');
const BINARIES: [arch: string, file: string][] = [
  ['x86_64', process.env['HEARTH_BIN']],
  ['arm64', process.env['HEARTH_ARM64_BIN'] ?? path.join(REPO, 'out/hearth-arm64')],
];

const ECHO_BODY = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'server.echo',
  params: { message: 'bench' },
});
const INFO_BODY = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server.info', params: {} });

const say = (msg: string) => process.stderr.write(`bench: ${msg}\n`);

// --- cleanup -------------------------------------------------------------------

/** What to undo for everything started or created so far, run last first. */
const undo: (() => unknown)[] = [];
// Set by cleanUp: from then on nothing new may start (a signal can arrive mid-run).
let stopping = false;

async function cleanUp(): Promise<void> {
  stopping = true;
  for (const step of undo.splice(0).reverse()) {
    try {
      await step();
    } catch (error) {
      say(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function tempDir(prefix: string): string {
  if (stopping) throw new Error('stopping');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  undo.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs this Node with `args`; the child is killed by its pid at cleanup if still running. */
function spawnNode(args: string[]): { child: ChildProcess; exited: Promise<number | null> } {
  if (stopping) throw new Error('stopping');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  undo.push(async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL');
      await exited;
    }
  });
  return { child, exited };
}

async function startDaemon(): Promise<TestDaemon> {
  // The throughput rows measure the call path, not the budget that refuses a flood (the
  // attack rows, bench/attack.ts, run a daemon with the default limits).
  const d = await startTestDaemon({
    root: tempDir('hearth-bench-'),
    args: ['--calls-per-minute', '1000000', '--anonymous-calls-per-minute', '1000000'],
  });
  undo.push(() => d.cleanup());
  return d;
}

// --- measurements --------------------------------------------------------------

async function coldStart(): Promise<{ firstAnswerMs: number; listeningMs: number }> {
  const root = tempDir('hearth-bench-cold-');
  const infoFile = path.join(root, 'run/hearth/daemon.json');
  // startTestDaemon spawns before its first await, so t0 is just before the spawn. It polls
  // daemon.json every 20 ms, too coarse here: we poll it ourselves every 2 ms as well.
  const t0 = performance.now();
  const starting = startTestDaemon({ root });
  let failed: unknown;
  starting.catch((error: unknown) => {
    failed = error;
  });
  try {
    let port: number | undefined;
    let listeningMs = 0;
    while (port === undefined) {
      if (failed) throw failed;
      if (performance.now() - t0 > 30_000) throw new Error('the daemon did not write daemon.json in 30 s');
      try {
        port = (JSON.parse(fs.readFileSync(infoFile, 'utf8')) as DaemonInfo).port;
        listeningMs = performance.now() - t0;
      } catch {
        await sleep(2);
      }
    }
    await new HearthClient(nodeTransport({ url: `http://127.0.0.1:${port}` })).call('server.echo', {
      message: 'hi',
    });
    return { firstAnswerMs: performance.now() - t0, listeningMs };
  } finally {
    // Failed: the harness has already killed it. Otherwise kill it now (the root goes at cleanup).
    const d = await starting.catch(() => undefined);
    await d?.cleanup();
  }
}

async function runLoad(spec: LoadSpec, o: { niced?: boolean } = {}): Promise<LoadResult> {
  const { child, exited } = spawnNode([path.join(import.meta.dirname, 'load.ts'), JSON.stringify(spec)]);
  // An attacker's own CPU is not on the box: niced, the generator takes only what is idle.
  if (o.niced && child.pid !== undefined) os.setPriority(child.pid, 19);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), spec.warmupMs + spec.durationMs + 15_000);
  const code = await exited;
  clearTimeout(timer);
  if (code !== 0) throw new Error(`the load generator failed (exit ${code})`);
  const result = JSON.parse(out) as LoadResult;
  if (result.errors > 0) throw new Error(`${result.errors} requests failed; the first: ${result.firstError}`);
  return result;
}

interface Server {
  url: string;
  pid: number;
  stop: () => Promise<void>;
}

/**
 * Starts a Node server that prints `{"port": N}` on its first line once it listens, with the
 * binary's V8 flags.
 */
async function startServer(args: string[]): Promise<Server> {
  const { child, exited } = spawnNode([...EXEC_ARGV, ...args]);
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
    });
    void exited.then((code) => reject(new Error(`${args.join(' ')} exited (${code}) before it listened`)));
  });
  const { port } = JSON.parse(line) as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

const startBareServer = () => startServer([path.join(import.meta.dirname, 'bare-server.ts')]);

// The RSS floor: the least a Node HTTP server takes, as JavaScript (no TypeScript stripper).
const IDLE_NODE_SERVER = `const s = require('node:http').createServer();
s.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: s.address().port })));`;

/** Alternates bare and daemon runs of the same request; keeps the best of each. */
async function compare(
  name: string,
  body: string,
  headers: Record<string, string>,
  bare: { url: string; pid: number },
  daemon: TestDaemon,
): Promise<{ bare: LoadResult; daemon: LoadResult }> {
  const spec = (url: string, serverPid: number): LoadSpec => ({
    url: `${url}/rpc/v1`,
    body,
    headers,
    concurrency: CONCURRENCY,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
    serverPid,
  });
  const best = (a: LoadResult | undefined, b: LoadResult) => (a && a.rps >= b.rps ? a : b);
  let b: LoadResult | undefined;
  let h: LoadResult | undefined;
  for (let round = 1; round <= ROUNDS; round++) {
    say(`${name}: round ${round}/${ROUNDS}`);
    b = best(b, await runLoad(spec(bare.url, bare.pid)));
    h = best(h, await runLoad(spec(daemon.url, daemon.pid)));
  }
  return { bare: b!, daemon: h! };
}

/** The index of the bench change a patch carries (its notification's title), if any. */
function changeOf(m: StateMessage): number | undefined {
  if (m.kind !== 'patch') return undefined;
  for (const op of m.patch) {
    if (op.op !== 'add') continue;
    const v = op.value;
    const title = v && typeof v === 'object' && !Array.isArray(v) ? v['title'] : undefined;
    const change = /^bench (\d+)$/.exec(String(title))?.[1];
    if (change !== undefined) return Number(change);
  }
  return undefined;
}

async function fanOut(d: TestDaemon, readToken: string, operateToken: string) {
  const subscribers: WsClient[] = [];
  undo.push(() => Promise.all(subscribers.map((ws) => ws.close())));
  const sent: number[] = [];
  const latencies: number[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    const ws = await d.ws({ bearer: readToken });
    subscribers.push(ws);
    const sub = (await ws.call('state.subscribe', {})) as { stream: string; revision: number };
    ws.onStream(sub.stream, (data) => {
      const at = performance.now();
      const change = changeOf(data as StateMessage);
      if (change !== undefined) latencies.push(at - sent[change]!);
    });
  }

  const writer = d.client({ bearer: operateToken });
  const roundTrips: number[] = [];
  const calls: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < CHANGES; i++) {
    const wait = start + i * SPACING_MS - performance.now();
    if (wait > 0) await sleep(wait);
    const at = performance.now();
    sent[i] = at;
    calls.push(
      writer
        .call('notification.create', { title: `bench ${i}` })
        .then(() => void roundTrips.push(performance.now() - at)),
    );
  }
  await Promise.all(calls);
  const expected = SUBSCRIBERS * CHANGES;
  const deadline = performance.now() + 10_000;
  while (latencies.length < expected && performance.now() < deadline) await sleep(10);
  await Promise.all(subscribers.splice(0).map((ws) => ws.close()));

  latencies.sort((a, b) => a - b);
  roundTrips.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? Number.NaN,
    received: latencies.length,
    expected,
    callP50: percentile(roundTrips, 50),
    callP99: percentile(roundTrips, 99),
  };
}

// --- the table -----------------------------------------------------------------

export interface Row {
  metric: string;
  value: string;
  baseline?: string;
  ratio?: string;
  /** The target as text and whether it is met; none for informational rows. */
  target?: { text: string; met: boolean };
}

function printTable(rows: Row[]): void {
  const cells = [
    ['metric', 'value', 'baseline', 'ratio', 'target'],
    ...rows.map((r) => [
      r.metric,
      r.value,
      r.baseline ?? '–',
      r.ratio ?? '–',
      r.target ? `${r.target.text} ${r.target.met ? '✓' : '✗'}` : '–',
    ]),
  ];
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => [...row[c]!].length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, c) => cell + ' '.repeat(widths[c]! - [...cell].length)).join(' | ')} |`;
  const out = [
    line(cells[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.slice(1).map(line),
  ];
  process.stdout.write(`${out.join('\n')}\n`);
}

// --- the run -------------------------------------------------------------------

async function main(): Promise<void> {
  for (const [, file] of BINARIES) {
    if (!fs.existsSync(file)) throw new Error(`${file} does not exist — run make build`);
  }
  const notes: string[] = [];
  const started = { wall: performance.now(), machine: machineCpuMs(), ours: cpuMsOf('self', true) };

  const cold: { firstAnswerMs: number; listeningMs: number }[] = [];
  for (let i = 1; i <= COLD_RUNS; i++) {
    say(`cold start ${i}/${COLD_RUNS}`);
    cold.push(await coldStart());
  }
  notes.push(
    `cold start: first answers after ${cold.map((c) => fmt(c.firstAnswerMs)).join(', ')} ms; ` +
      `daemon.json written after ${fmt(median(cold.map((c) => c.listeningMs)))} ms (median)`,
  );

  say('memory');
  // Both executables paged in by their own faults, as on a box after a boot (measure.ts).
  dropCachedPages(process.execPath);
  dropCachedPages(process.env['HEARTH_BIN']!);
  const floorServer = await startServer(['-e', IDLE_NODE_SERVER]);
  await sleep(SETTLE_MS);
  const floor = memoryOf(floorServer.pid);
  await floorServer.stop();

  const d = await startDaemon();
  await sleep(SETTLE_MS);
  const memStart = memoryOf(d.pid);
  await setUp(d);
  const admin = d.client({ bearer: d.localToken });
  const readToken = (await admin.call('auth.token.create', { name: 'bench read', scope: 'read' })).token;
  const operate = await admin.call('auth.token.create', { name: 'bench operate', scope: 'operate' });
  await sleep(SETTLE_MS);
  const memSetUp = memoryOf(d.pid);

  const authHeaders = { Authorization: `Bearer ${readToken}` };
  const fiveK = (body: string, headers: Record<string, string>): LoadSpec => ({
    url: `${d.url}/rpc/v1`,
    body,
    headers,
    concurrency: CONCURRENCY,
    warmupMs: 0,
    durationMs: 60_000,
    maxRequests: 5000,
  });
  await runLoad(fiveK(ECHO_BODY, {}));
  await runLoad(fiveK(INFO_BODY, authHeaders));
  await sleep(SETTLE_MS);
  const mem10k = memoryOf(d.pid);

  say(`fan-out: ${SUBSCRIBERS} subscribers, ${CHANGES} changes`);
  const f = await fanOut(d, readToken, operate.token);
  notes.push(
    `fan-out: ${f.received}/${f.expected} patches received, max ${fmt(f.max, 2)} ms; ` +
      `notification.create round trip p50 ${fmt(f.callP50, 2)} ms, p99 ${fmt(f.callP99, 2)} ms`,
  );

  const bare = await startBareServer();
  const throughput = [
    { name: 'server.echo', ...(await compare('server.echo', ECHO_BODY, {}, bare, d)) },
    {
      name: 'server.info (read API token)',
      ...(await compare('server.info', INFO_BODY, authHeaders, bare, d)),
    },
  ];
  await bare.stop();
  const describe = (r: LoadResult) =>
    `${fmt(r.serverCpuUsPerRequest ?? Number.NaN)} µs CPU/req, latency p50 ${fmt(r.latencyP50Ms, 2)} ms ` +
    `p99 ${fmt(r.latencyP99Ms, 2)} ms, load generator at ${fmt(r.loadCpu * 100)}% of a core`;
  // Server CPU time per request, bare over daemon: what the ratio would be if the load
  // generator always kept up (on 2 cores it saturates its own core before the bare server).
  const cpuRatio = (t: { bare: LoadResult; daemon: LoadResult }) =>
    (t.bare.serverCpuUsPerRequest ?? Number.NaN) / (t.daemon.serverCpuUsPerRequest ?? Number.NaN);
  for (const t of throughput) notes.push(`${t.name}: daemon ${describe(t.daemon)}; bare ${describe(t.bare)}`);

  const mem = (m: Memory) => `${fmt(m.rss, 1)} MiB (${fmt(m.anon, 1)} private)`;
  const flags = EXEC_ARGV.length > 0 ? ` (${EXEC_ARGV.join(' ')})` : '';
  const firstAnswer = median(cold.map((c) => c.firstAnswerMs));
  const rows: Row[] = [
    {
      metric: `cold start to first server.echo answer (median of ${COLD_RUNS})`,
      value: `${fmt(firstAnswer)} ms`,
      target: { text: '≤ 150 ms', met: firstAnswer <= 150 },
    },
    {
      metric: 'idle RSS after start',
      value: mem(memStart),
      baseline: `${mem(floor)} idle node:http${flags}`,
      ratio: fmt(memStart.rss / floor.rss, 2),
      target: { text: '≤ 1.3× the baseline', met: memStart.rss <= 1.3 * floor.rss },
    },
    {
      metric: 'idle RSS after setup',
      value: mem(memSetUp),
      baseline: `${fmt(memStart.rss, 1)} MiB idle after start`,
      ratio: fmt(memSetUp.rss / memStart.rss, 2),
    },
    {
      metric: 'idle RSS after 10k more calls',
      value: mem(mem10k),
      baseline: `${fmt(memStart.rss, 1)} MiB idle after start`,
      ratio: fmt(mem10k.rss / memStart.rss, 2),
      target: { text: '≤ 1.10× idle after start', met: mem10k.rss <= 1.1 * memStart.rss },
    },
    ...throughput.map((t): Row => {
      const ratio = t.daemon.rps / t.bare.rps;
      return {
        metric: `${t.name} req/s (${CONCURRENCY} in flight)`,
        value: fmt(t.daemon.rps),
        baseline: `${fmt(t.bare.rps)} bare node:http`,
        ratio: `${fmt(ratio, 2)} (${fmt(cpuRatio(t), 2)} by CPU)`,
        target: { text: '≥ 0.6', met: ratio >= 0.6 },
      };
    }),
    {
      metric: `patch fan-out p50 (${SUBSCRIBERS} subscribers × ${CHANGES} changes)`,
      value: `${fmt(f.p50, 2)} ms`,
    },
    {
      metric: `patch fan-out p99 (${SUBSCRIBERS} subscribers × ${CHANGES} changes)`,
      value: `${fmt(f.p99, 2)} ms`,
      target: { text: '≤ 10 ms', met: f.p99 <= 10 },
    },
    ...BINARIES.map(
      ([arch, file]): Row => ({
        metric: `binary size ${arch}`,
        value: `${fmt(fs.statSync(file).size / 2 ** 20, 1)} MiB`,
      }),
    ),
  ];

  const mcp = await mcpBench({ undo: (step) => undo.push(step), tempDir, say });
  rows.push(...mcp.rows);
  notes.push(...mcp.notes);
  const attack = await attackBench({ undo: (step) => undo.push(step), tempDir, say, runLoad });
  rows.push(...attack.rows);
  notes.push(...attack.notes);
  const web = await webBench({ undo: (step) => undo.push(step), tempDir, say });
  rows.push(...web.rows);
  notes.push(...web.notes);
  const secure = await tlsBench({ undo: (step) => undo.push(step), tempDir, say });
  rows.push(...secure.rows);
  notes.push(...secure.notes);

  // Everything we started has exited and been waited for (so it is in our children's
  // time), except the daemon that is still running.
  const machine = machineCpuMs();
  const wall = performance.now() - started.wall;
  const others =
    machine.busy - started.machine.busy - (cpuMsOf('self', true) - started.ours) - cpuMsOf(d.pid);
  notes.push(
    `machine: ${os.availableParallelism()} cores; during the run other processes used ${fmt(Math.max(0, others) / wall, 2)} ` +
      `cores on average and the hypervisor took ${fmt((machine.steal - started.machine.steal) / wall, 2)} ` +
      `(steal): more than a little of either skews the numbers, the p99s most`,
  );
  // Measured after the note above, whose window it would blur: containers' processes are
  // not ours, so their CPU time would count as other processes'.
  const pkg = await packageBench({ undo: (step) => undo.push(step), tempDir, say });
  rows.push(...pkg.rows);
  notes.splice(notes.length - 1, 0, ...pkg.notes);
  const image = await imageBench({
    undo: (step) => undo.push(step),
    tempDir,
    say,
    cache: process.env['HEARTH_CACHE'] ?? '/var/cache/hearth-build',
    node: process.execPath,
  });
  rows.push(...image.rows);
  notes.splice(notes.length - 1, 0, ...image.notes);
  printTable(rows);
  if (pkg.failed) {
    say(`failed: ${pkg.failed}`);
    process.exitCode = 1;
  }
  process.stdout.write(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
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
  // After a signal, whatever was under way fails as its processes go: not worth a word.
  if (!stopping) say(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
