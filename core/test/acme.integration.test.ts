import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, haveAcmeTools, Procs, startChallTestSrv, startPebble } from './acme-harness.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { required } from './required.ts';

/*
 * HTTP-01 end to end: a real daemon answers pebble's validation on its own HTTP listener;
 * pebble (Debian's, on loopback) resolves the custom domain through pebble-challtestsrv,
 * which points every name at 127.0.0.1. Then the daemon restarts and keeps the certificate.
 */

const skip = required(
  !haveAcmeTools && 'pebble and knot are not installed (apt-get install pebble knot)',
  'acme',
);
const DOMAIN = 'cloud.hearth-test.example';

function getPath(
  port: number,
  p: string,
  host: string,
  method = 'GET',
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
    req.end();
  });
}

type Domain = {
  name: string;
  state: string;
  notAfter: number | null;
  issuedAt: number | null;
  lastError: string | null;
};

async function settled(d: TestDaemon, name: string): Promise<Domain> {
  const admin = d.client({ bearer: d.localToken });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const found = (await admin.call('acme.domain.list')).find((x) => x.name === name);
    if (found && found.state !== 'pending') return found;
    if (Date.now() > deadline) throw new Error(`no certificate for ${name} in 60 s:\n${d.output()}`);
    await sleep(200);
  }
}

test(
  'HTTP-01: pebble validates against the daemon’s own listener; a restart keeps the certificate',
  { skip },
  async (t) => {
    const procs = new Procs();
    t.after(() => procs.stop());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-acme-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));

    // pebble validates HTTP-01 on one port for every name: the daemon's listener is on it.
    const port = await freePort();
    const dns = await startChallTestSrv(procs);
    const pebble = await startPebble(procs, dir, { httpPort: port, dnsServer: dns.dnsServer });
    const env = { HEARTH_ACME_DIRECTORY_URL: pebble.directoryUrl, HEARTH_ACME_CA_FILE: pebble.caFile };
    let d = await startTestDaemon({ args: ['--port', String(port)], env });
    t.after(() => d.cleanup());
    assert.equal(d.port, port);
    await setUp(d);

    // Before it is a custom domain, the name gets nothing from the box, challenge path or not.
    assert.equal((await getPath(port, '/.well-known/acme-challenge/abc', DOMAIN)).status, 421);

    const admin = d.client({ bearer: d.localToken });
    const added = await admin.call('acme.domain.add', { name: DOMAIN });
    assert.equal(added.challenge, 'http-01');
    const t0 = performance.now();
    const issued = await settled(d, DOMAIN);
    assert.equal(issued.state, 'valid', `${issued.lastError}`);
    assert.ok(issued.notAfter! > Date.now() + 60 * 86_400_000, 'pebble issues for years by default');
    t.diagnostic(`issued in ${Math.round(performance.now() - t0)} ms`);

    // A token not under way, and the domain's other paths: 404, never the web UI or the API.
    assert.equal((await getPath(port, '/.well-known/acme-challenge/abc', DOMAIN)).status, 404);

    // The restart keeps it: the same certificate, not a new order.
    await d.stop();
    d = await d.restart();
    const after = await settled(d, DOMAIN);
    assert.equal(after.state, 'valid');
    assert.equal(after.issuedAt, issued.issuedAt);
    assert.equal(after.notAfter, issued.notAfter);
  },
);
