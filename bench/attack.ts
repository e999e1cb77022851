// The rows of `make bench` for a box under attack from its LAN (see run.ts's header), on a
// daemon of their own with the default limits:
//
// - RSS under an anonymous flood: the daemon's VmRSS settled after setup (the baseline),
//   then its highest value, sampled every SAMPLE_MS, while FLOODERS connections from four
//   addresses send batches of 100 `rpc.discover` calls without a credential, as fast as
//   they are answered (bench/load.ts in its own process, niced: an attacker's CPU is not
//   the box's, nor the owner's client's), for FLOOD_MS. Goal: ≤ 1.5× idle.
// - the owner's `server.echo` p99 during that flood: one call every OWNER_EVERY_MS with the
//   owner's session, against the same measured with no flood just before (the baseline).
//   Goal: ≤ 50 ms.
// - password guesses from one address: auth.login with wrong passwords, one after the
//   other as fast as answered, for GUESS_MS; how many were checked (wrong_password) and not
//   refused unchecked (rate_limited), and the rate after the first five. Goal: ≤ 1 per 10 s.
import { setTimeout as sleep } from 'node:timers/promises';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from '../core/test/daemon.ts';
import type { LoadResult, LoadSpec } from './load.ts';
import { fmt, memoryOf, percentile } from './measure.ts';
import type { PackageBenchHost } from './packages.ts';
import type { Row } from './run.ts';

const FLOOD_MS = 15_000;
const FLOODERS = 32;
const SAMPLE_MS = 250;
const OWNER_EVERY_MS = 100;
const QUIET_CALLS = 100;
const GUESS_MS = 30_000;
const SETTLE_MS = 1000;

export interface AttackBenchHost extends PackageBenchHost {
  runLoad(spec: LoadSpec, o?: { niced?: boolean }): Promise<LoadResult>;
}

export async function attackBench(host: AttackBenchHost): Promise<{ rows: Row[]; notes: string[] }> {
  const d = await startTestDaemon({ root: host.tempDir('hearth-bench-attack-') });
  host.undo(() => d.cleanup());
  const owner = d.client({ bearer: await setUp(d) });
  await sleep(SETTLE_MS);
  const idle = memoryOf(d.pid);

  host.say('attack: the owner’s calls on a quiet box');
  const quiet = await ownerLatencies(owner, (n) => n < QUIET_CALLS);

  host.say(`attack: anonymous flood for ${FLOOD_MS / 1000} s`);
  const batch = JSON.stringify(
    Array.from({ length: 100 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'rpc.discover' })),
  );
  const flood = host.runLoad(
    {
      url: `${d.url}/rpc/v1`,
      body: batch,
      headers: {},
      concurrency: FLOODERS,
      warmupMs: 0,
      durationMs: FLOOD_MS,
      localAddresses: ['127.0.6.1', '127.0.6.2', '127.0.6.3', '127.0.6.4'],
      anyAnswer: true,
    },
    { niced: true },
  );
  let peak = idle;
  let flooding = true;
  const sampler = (async () => {
    while (flooding) {
      const m = memoryOf(d.pid);
      if (m.rss > peak.rss) peak = m;
      await sleep(SAMPLE_MS);
    }
  })();
  const until = performance.now() + FLOOD_MS - 500;
  const under = await ownerLatencies(owner, () => performance.now() < until);
  const load = await flood;
  flooding = false;
  await sampler;
  await sleep(SETTLE_MS);
  const after = memoryOf(d.pid);

  host.say(`attack: password guesses from one address for ${GUESS_MS / 1000} s`);
  const guesses = await guess(d, GUESS_MS);

  const p99 = percentile(under, 99);
  const quietP99 = percentile(quiet, 99);
  const rssRatio = peak.rss / idle.rss;
  const afterFive = Math.max(0, guesses.checked - 5);
  const per10s = (afterFive / (GUESS_MS / 1000)) * 10;
  return {
    rows: [
      {
        metric: `RSS under an anonymous flood (${FLOODERS} connections, batches of 100 rpc.discover)`,
        value: `${fmt(peak.rss, 1)} MiB peak`,
        baseline: `${fmt(idle.rss, 1)} MiB idle`,
        ratio: fmt(rssRatio, 2),
        target: { text: '≤ 1.5×', met: rssRatio <= 1.5 },
      },
      {
        metric: 'the owner’s server.echo p99 during that flood',
        value: `${fmt(p99, 2)} ms`,
        baseline: `${fmt(quietP99, 2)} ms quiet`,
        ratio: fmt(p99 / quietP99, 2),
        target: { text: '≤ 50 ms', met: p99 <= 50 },
      },
      {
        metric: `password guesses checked from one address (${GUESS_MS / 1000} s of trying)`,
        value: `${guesses.checked} checked of ${guesses.sent}`,
        ratio: `${fmt(per10s, 2)} per 10 s after the first five`,
        target: { text: '≤ 1 per 10 s', met: per10s <= 1 },
      },
    ],
    notes: [
      `flood: ${fmt(load.requests)} batches answered in ${fmt(load.seconds, 1)} s (${fmt(load.rps)}/s), ` +
        `p50 ${fmt(load.latencyP50Ms, 2)} ms; RSS ${fmt(after.rss, 1)} MiB a second after it; ` +
        `the owner's calls: ${under.length} during, p50 ${fmt(percentile(under, 50), 2)} ms (quiet p50 ` +
        `${fmt(percentile(quiet, 50), 2)} ms)`,
      `password guesses: ${guesses.sent} sent, ${guesses.checked} checked, ${guesses.refused} refused unchecked`,
    ],
  };
}

/** The owner's server.echo round trips (sorted), one every OWNER_EVERY_MS while `more(n)`. */
async function ownerLatencies(
  owner: ReturnType<TestDaemon['client']>,
  more: (done: number) => boolean,
): Promise<number[]> {
  const out: number[] = [];
  while (more(out.length)) {
    const t = performance.now();
    await owner.call('server.echo', { message: 'owner' });
    out.push(performance.now() - t);
    await sleep(OWNER_EVERY_MS);
  }
  return out.sort((a, b) => a - b);
}

async function guess(d: TestDaemon, ms: number): Promise<{ sent: number; checked: number; refused: number }> {
  const attacker = d.client({ localAddress: '127.0.7.1' });
  let sent = 0;
  let checked = 0;
  let refused = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    sent += 1;
    try {
      await attacker.call('auth.login', { password: `not ${PASSWORD} ${sent}` });
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'wrong_password') checked += 1;
      else if (code === 'rate_limited') refused += 1;
      else throw e;
    }
  }
  return { sent, checked, refused };
}
