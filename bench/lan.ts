// The LAN port row of `make bench` (see run.ts's header): requests per second to
// hello-world's page through its LAN port — HTTPS with the box's certificate for
// `<hostname>-hello-world.local`, proxied by the daemon to the container — against plain
// HTTP straight to the container's address on the bridge, in the same run. The client runs
// in its own process (this file run as a script): CONCURRENCY requests in flight over
// keep-alive connections for DURATION_MS, GETs of `/`; runs alternate ROUNDS times, the
// best of each kept. busybox httpd closes each connection after its answer, so the plain
// side opens a TCP connection per request, and so does the proxy towards the container.
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { fmt } from './measure.ts';
import type { Row } from './run.ts';

const CONCURRENCY = 8;
const DURATION_MS = 4000;
const ROUNDS = 3;

interface Spec {
  url: string;
  ca?: string;
  servername?: string;
  concurrency: number;
  durationMs: number;
}

async function load(spec: Spec): Promise<{ rps: number; errors: number; firstError?: string }> {
  const url = new URL(spec.url);
  const secure = url.protocol === 'https:';
  const agent = secure
    ? new https.Agent({ keepAlive: true, ca: spec.ca, servername: spec.servername ?? '' })
    : new http.Agent({ keepAlive: true });
  let ok = 0;
  let errors = 0;
  let firstError: string | undefined;
  const one = () =>
    new Promise<void>((resolve) => {
      const req = (secure ? https : http).request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          agent,
          headers: { host: spec.servername ? `${spec.servername}:${url.port}` : url.host },
          ...(secure ? { servername: spec.servername, ca: spec.ca } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) ok++;
            else errors++;
            resolve();
          });
        },
      );
      req.on('error', (e) => {
        errors++;
        firstError ??= e.message;
        resolve();
      });
      req.end();
    });
  const started = performance.now();
  const end = started + spec.durationMs;
  await Promise.all(
    Array.from({ length: spec.concurrency }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  agent.destroy();
  return { rps: ok / ((performance.now() - started) / 1000), errors, ...(firstError ? { firstError } : {}) };
}

/** One closed-loop run in a process of its own. */
function run(spec: Spec): Promise<{ rps: number; errors: number; firstError?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [import.meta.filename, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b;
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`the load client exited ${code}`)),
    );
  });
}

/** The row: the daemon's LAN port for hello-world's page against the container itself. */
export async function lanProxyRows(o: {
  lanPort: number;
  servername: string;
  ca: string;
  container: { host: string; port: number };
}): Promise<Row[]> {
  const base = { concurrency: CONCURRENCY, durationMs: DURATION_MS };
  let best = { proxied: 0, plain: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    const plain = await run({ ...base, url: `http://${o.container.host}:${o.container.port}/` });
    const proxied = await run({
      ...base,
      url: `https://127.0.0.1:${o.lanPort}/`,
      ca: o.ca,
      servername: o.servername,
    });
    for (const r of [plain, proxied])
      if (r.errors > 0) throw new Error(`${r.errors} requests failed: ${r.firstError}`);
    best = { proxied: Math.max(best.proxied, proxied.rps), plain: Math.max(best.plain, plain.rps) };
  }
  const ratio = best.proxied / best.plain;
  return [
    {
      metric: `hello-world page over its LAN port, HTTPS proxied (requests/s, ${CONCURRENCY} in flight)`,
      value: fmt(best.proxied),
      baseline: `${fmt(best.plain)} plain HTTP to the container`,
      ratio: fmt(ratio, 2),
      target: { text: '≥ 0.6', met: ratio >= 0.6 },
    },
  ];
}

if (process.argv[1] === import.meta.filename && process.argv[2]) {
  load(JSON.parse(process.argv[2]) as Spec).then((r) => process.stdout.write(JSON.stringify(r)));
}
