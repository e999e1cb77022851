// A small closed-loop HTTP load generator for bench/run.ts, run in its own process so it
// never shares an event loop with the server it measures:
//   node bench/load.ts '<LoadSpec as JSON>'   → prints one LoadResult as JSON on stdout
// `concurrency` requests are in flight at all times over keep-alive connections (one per
// in-flight request). Bounded by `durationMs` (after `warmupMs`) and by `maxRequests`.
import http from 'node:http';
import { cpuMsOf, percentile } from './measure.ts';

export interface LoadSpec {
  /** Loopback only: the bench never points this anywhere else. */
  url: string;
  /** The request body, sent as is (application/json). */
  body: string;
  headers: Record<string, string>;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  /** Stop after this many requests (counted from the start, warm-up included). */
  maxRequests?: number;
  /** The server's pid: its CPU time over the measured window is read from /proc. */
  serverPid?: number;
  /** Send from these loopback addresses in turn (machines on a LAN); default the usual one. */
  localAddresses?: string[];
  /** Count any JSON-RPC answer as answered, refusals too (a flood is mostly refused). */
  anyAnswer?: boolean;
}

export interface LoadResult {
  /** Answered without error inside the measured window. */
  requests: number;
  errors: number;
  firstError: string | undefined;
  seconds: number;
  rps: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Our own CPU time over the window divided by its length: near 1 means we were the bottleneck. */
  loadCpu: number;
  /** The server's CPU time per answered request (µs); undefined without serverPid. */
  serverCpuUsPerRequest: number | undefined;
}

async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost')
    throw new Error(`not loopback: ${spec.url}`);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const body = Buffer.from(spec.body);
  const headers = {
    ...spec.headers,
    'Content-Type': 'application/json',
    'Content-Length': String(body.length),
  };

  const start = performance.now();
  const windowStart = start + spec.warmupMs;
  const windowEnd = windowStart + spec.durationMs;
  const latencies: number[] = [];
  let issued = 0;
  let requests = 0;
  let errors = 0;
  let firstError: string | undefined;
  let cpuAtWindow: { own: NodeJS.CpuUsage; server: number | undefined } | undefined;

  const fail = (why: string) => {
    errors += 1;
    firstError ??= why;
  };
  const one = (worker: number) =>
    new Promise<void>((resolve) => {
      const sent = performance.now();
      const from = spec.localAddresses?.[worker % spec.localAddresses.length];
      const req = http.request(
        url,
        { method: 'POST', agent, headers, ...(from ? { localAddress: from } : {}) },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const done = performance.now();
            const text = Buffer.concat(chunks).toString('utf8');
            // With anyAnswer, the box's refusal of a flood (429 and its JSON-RPC error) is an answer too.
            let ok = res.statusCode === 200 || (spec.anyAnswer === true && res.statusCode === 429);
            try {
              const answer = JSON.parse(text) as object;
              ok &&= spec.anyAnswer === true || 'result' in answer;
            } catch {
              ok = false;
            }
            if (!ok) fail(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`);
            else if (done >= windowStart && done < windowEnd) {
              requests += 1;
              latencies.push(done - sent);
            }
            resolve();
          });
        },
      );
      req.on('error', (e) => {
        fail(e.message);
        resolve();
      });
      req.end(body);
    });

  const more = () =>
    performance.now() < windowEnd && (spec.maxRequests === undefined || issued < spec.maxRequests);
  const worker = async (n: number) => {
    while (more()) {
      issued += 1;
      await one(n);
    }
  };
  const windowTimer = setTimeout(() => {
    cpuAtWindow = { own: process.cpuUsage(), server: spec.serverPid ? cpuMsOf(spec.serverPid) : undefined };
  }, spec.warmupMs);
  await Promise.all(Array.from({ length: spec.concurrency }, (_, n) => worker(n)));
  clearTimeout(windowTimer);
  const end = Math.min(performance.now(), windowEnd);
  agent.destroy();

  const seconds = Math.max(0, end - windowStart) / 1000;
  const own = cpuAtWindow ? process.cpuUsage(cpuAtWindow.own) : undefined;
  const serverMs =
    cpuAtWindow?.server !== undefined && spec.serverPid
      ? cpuMsOf(spec.serverPid) - cpuAtWindow.server
      : undefined;
  latencies.sort((a, b) => a - b);
  return {
    requests,
    errors,
    firstError,
    seconds,
    rps: seconds > 0 ? requests / seconds : 0,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    loadCpu: own && seconds > 0 ? (own.user + own.system) / 1e6 / seconds : Number.NaN,
    serverCpuUsPerRequest: serverMs !== undefined && requests > 0 ? (serverMs * 1000) / requests : undefined,
  };
}

if (import.meta.main) {
  const spec = JSON.parse(process.argv[2] ?? '') as LoadSpec;
  const result = await runLoad(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
