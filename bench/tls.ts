// The TLS row of `make bench` (see run.ts's header): full TLS handshakes per second against
// the daemon's HTTPS port (its own CA's ECDSA P-256 leaf, chosen by SNI), against a bare
// node:tls server holding the same certificate and key on the same Node, in its own process.
// The client is this process: CONCURRENCY handshakes in flight, each a new connection that
// verifies the chain up to the box's root and is closed once the handshake is done (no
// session resumption), for DURATION_MS; runs alternate ROUNDS times, the best of each kept.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { setUp, startTestDaemon } from '../core/test/daemon.ts';
import { fmt } from './measure.ts';
import type { PackageBenchHost } from './packages.ts';
import type { Row } from './run.ts';

const CONCURRENCY = 8;
const DURATION_MS = 4000;
const ROUNDS = 2;

async function handshakes(port: number, ca: string, servername: string): Promise<number> {
  let done = 0;
  let failed = 0;
  const end = performance.now() + DURATION_MS;
  const one = () =>
    new Promise<void>((resolve) => {
      const s = tls.connect({ port, host: '127.0.0.1', ca, servername, session: undefined }, () => {
        done++;
        s.destroy();
        resolve();
      });
      s.on('error', () => {
        failed++;
        s.destroy();
        resolve();
      });
    });
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  if (failed > 0) throw new Error(`${failed} handshakes failed`);
  return done / ((performance.now() - started) / 1000);
}

/** The certificates a TLS server sends, leaf first, as PEM (the root left out). */
function servedChain(port: number, ca: string, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ port, host: '127.0.0.1', ca, servername }, () => {
      const pems: string[] = [];
      let c: tls.DetailedPeerCertificate | undefined = s.getPeerCertificate(true);
      while (c?.raw && c.issuerCertificate !== c) {
        pems.push(
          `-----BEGIN CERTIFICATE-----\n${c.raw.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`,
        );
        c = c.issuerCertificate;
      }
      s.destroy();
      resolve(pems.join(''));
    });
    s.on('error', reject);
  });
}

export async function tlsBench(host: PackageBenchHost): Promise<{ rows: Row[]; notes: string[] }> {
  host.say('TLS handshakes');
  const root = host.tempDir('hearth-bench-tls-');
  const d = await startTestDaemon({ root, args: ['--https-port', '0'] });
  host.undo(() => d.cleanup());
  await setUp(d);
  const infoFile = path.join(root, 'run/hearth/daemon.json');
  let httpsPort: number | undefined;
  for (let i = 0; i < 500 && httpsPort === undefined; i++) {
    httpsPort = (JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { httpsPort?: number }).httpsPort;
    if (httpsPort === undefined) await new Promise((r) => setTimeout(r, 20));
  }
  if (httpsPort === undefined) throw new Error('the daemon did not open HTTPS');
  const ca = await (await fetch(`${d.url}/hearth-ca.crt`)).text();
  // The same chain and key for the bare server: the chain as the daemon serves it, the key
  // where the daemon keeps it.
  const servername = 'testbox.local';
  const cert = await servedChain(httpsPort, ca, servername);
  const keysDir = path.join(root, 'var/lib/hearth/tls');
  const keyFile = fs.readdirSync(keysDir).find((f) => f.startsWith('box-'))!;
  const bare = spawn(
    process.execPath,
    [
      '-e',
      `const tls = require('node:tls');
       const s = tls.createServer({ cert: process.env.CERT, key: process.env.KEY }, (c) => c.end());
       s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
    ],
    {
      env: { ...process.env, CERT: cert, KEY: fs.readFileSync(path.join(keysDir, keyFile), 'utf8') },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  host.undo(() => bare.kill('SIGKILL'));
  const barePort = await new Promise<number>((resolve) =>
    bare.stdout!.once('data', (b: Buffer) => resolve(Number(String(b).trim()))),
  );
  let best = { daemon: 0, bare: 0 };
  for (let i = 0; i < ROUNDS; i++) {
    best = {
      bare: Math.max(best.bare, await handshakes(barePort, ca, servername)),
      daemon: Math.max(best.daemon, await handshakes(httpsPort, ca, servername)),
    };
  }
  bare.kill('SIGKILL');
  return {
    rows: [
      {
        metric: `TLS handshakes/s (ECDSA P-256, SNI, ${CONCURRENCY} in flight)`,
        value: fmt(best.daemon),
        baseline: `${fmt(best.bare)} bare node:tls`,
        ratio: fmt(best.daemon / best.bare, 2),
      },
    ],
    notes: [
      `TLS: full handshakes without resumption, the client verifying the chain to the box's root, in the bench's process`,
    ],
  };
}
