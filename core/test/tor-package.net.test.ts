import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { TestDaemon } from './daemon.ts';
import { leaseNetwork, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { required } from './required.ts';
import { SERVICES } from './services.ts';
import { startTorNetwork } from './tor-network.ts';

/*
 * The whole box: the built daemon with hello-world in a real LXC container on a bridge of
 * this test's own, its tor joined to a private Tor network on loopback (tor-network.ts)
 * through the setting torExtraConfig. A client of that network reaches the container's
 * page at the onion address interface.tor.enable answered, and at the same address after
 * the daemon is stopped and started again.
 */

const TOR = '/usr/sbin/tor';
const skip = required(
  (!fs.existsSync(TOR) && `${TOR} is not installed (apt-get install tor)`) ||
    lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test-net`') ||
    (fs.existsSync(path.join(SERVICES, 'hello-world.hpk')) ? false : 'needs `make services`'),
  'an onion to a package on real LXC',
);

function curl(socksPort: number, url: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '30', '--socks5-hostname', `127.0.0.1:${socksPort}`, url],
      (error, stdout) => resolve(error ? undefined : stdout),
    );
  });
}

async function until<T>(what: string, ms: number, f: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`${what} did not happen in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The daemon's tor, found by its torrc under the daemon's root. */
function torPidsUnder(root: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', `${root}/run/hearth/tor/torrc`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

test(
  'hello-world’s page at its onion address, from a client of a private Tor network, across a daemon restart',
  { skip, timeout: 600_000 },
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-torpkg-'));
    const network = await startTorNetwork(path.join(dir, 'net'));
    const extra = path.join(dir, 'test-network.torrc');
    fs.writeFileSync(extra, `${network.clientConfig}\n`);
    const box = await packagesDaemon(leaseNetwork(), ['--tor-extra-config', extra]);
    let d: TestDaemon = box.d;
    const root = d.root;
    t.after(async () => {
      // The daemon of the restart first (box.done knows only the first one), then its tor
      // should it have outlived it, then the rest.
      await d.kill().catch(() => {});
      for (const pid of torPidsUnder(root)) process.kill(pid, 'SIGKILL');
      await box.done();
      await network.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    let admin = d.client({ bearer: d.localToken });
    await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await network.ready;

    const onion = await admin.call('interface.tor.enable', { package: 'hello-world', interface: 'web' });
    assert.match(onion.address, /^[a-z2-7]{56}\.onion$/);
    assert.equal(onion.port, 80);
    let started = performance.now();
    const page = await until('the page through the onion', 240_000, () =>
      curl(network.socksPort, `http://${onion.address}/`),
    );
    // What hello-world's init writes in its volume, served by busybox httpd in the container.
    assert.match(page, /Hello from Hearth!/);
    t.diagnostic(`reached ${onion.address} ${Math.round(performance.now() - started)} ms after enabling it`);

    // Stopped and started again: the same address, from the database, and it answers.
    await d.stop();
    assert.deepEqual(torPidsUnder(root), [], 'tor stops with the daemon');
    d = await d.restart();
    admin = d.client({ bearer: d.localToken });
    const status = await until('tor carrying the onion again', 60_000, async () => {
      const s = await admin.call('tor.status', {});
      return s.onions[0]?.active ? s : undefined;
    });
    assert.equal(status.onions[0]?.address, onion.address);
    started = performance.now();
    assert.match(
      await until('the page after the restart', 240_000, () =>
        curl(network.socksPort, `http://${onion.address}/`),
      ),
      /Hello from Hearth!/,
    );
    t.diagnostic(`reached again ${Math.round(performance.now() - started)} ms after the restart`);
  },
);
