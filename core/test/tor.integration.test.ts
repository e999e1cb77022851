import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hostTor } from '../src/host/tor.ts';
import { silentLogger } from '../src/log/log.ts';
import { newOnionSeed, onionKey } from '../src/tor/onion-key.ts';
import { alive } from './processes.ts';
import { required } from './required.ts';

// Debian's tor, started by the daemon's adapter with the network off: nothing leaves the
// machine, but ADD_ONION works and tor answers with the ServiceID it derived itself.
const TOR = '/usr/sbin/tor';
const skip = required(!fs.existsSync(TOR) && `${TOR} is not installed (apt-get install tor)`, 'tor');

function torPids(dir: string): number[] {
  const out = execFileSync('pgrep', ['-f', dir], { encoding: 'utf8' }).trim();
  return out ? out.split('\n').map(Number) : [];
}

test(
  'the onion address we derive is tor’s ServiceID; tor stops with us',
  { skip, timeout: 60_000 },
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tor-'));
    const extra = path.join(dir, 'extra.torrc');
    fs.writeFileSync(extra, 'DisableNetwork 1\n');
    const exits: string[] = [];
    const tor = hostTor({
      binary: TOR,
      dataDir: path.join(dir, 'data'),
      runtimeDir: path.join(dir, 'run'),
      extraConfig: extra,
      onExit: (why) => exits.push(why),
      log: silentLogger,
    });
    t.after(async () => {
      await tor.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });
    await tor.start();
    assert.equal(tor.running, true);
    assert.equal((await tor.bootstrap()).progress < 100, true);

    for (let i = 0; i < 5; i++) {
      const key = onionKey(newOnionSeed());
      const { serviceId } = await tor.addOnion(key.addOnionKey, [
        { virtualPort: 80, target: '127.0.0.1:8080' },
      ]);
      assert.equal(serviceId, key.serviceId);
    }
    const key = onionKey(Buffer.alloc(32, 42));
    await tor.addOnion(key.addOnionKey, [{ virtualPort: 80, target: '10.73.0.2:80' }]);
    assert.ok((await tor.onions()).includes(key.serviceId));
    assert.equal((await tor.onions()).length, 6);
    await tor.delOnion(key.serviceId);
    assert.equal((await tor.onions()).includes(key.serviceId), false);
    await assert.rejects(tor.delOnion(key.serviceId), /552/);

    // Our cookie file and control socket are private to us.
    assert.equal(fs.statSync(path.join(dir, 'run')).mode & 0o077, 0);
    assert.equal(fs.statSync(path.join(dir, 'data')).mode & 0o077, 0);

    const [pid] = torPids(path.join(dir, 'run'));
    assert.ok(pid && alive(pid));
    await tor.stop();
    assert.equal(alive(pid), false);
    assert.equal(tor.running, false);
    assert.deepEqual(exits, [], 'a stop of ours is not an unexpected exit');
  },
);

test('a tor that dies is reported, and starts again', { skip, timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tor-'));
  const extra = path.join(dir, 'extra.torrc');
  fs.writeFileSync(extra, 'DisableNetwork 1\n');
  let exited: (why: string) => void = () => {};
  const tor = hostTor({
    binary: TOR,
    dataDir: path.join(dir, 'data'),
    runtimeDir: path.join(dir, 'run'),
    extraConfig: extra,
    onExit: (why) => exited(why),
    log: silentLogger,
  });
  t.after(async () => {
    await tor.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  await tor.start();
  const [pid] = torPids(path.join(dir, 'run'));
  assert.ok(pid);
  const why = new Promise<string>((r) => {
    exited = r;
  });
  process.kill(pid, 'SIGKILL');
  assert.equal(await why, 'killed by SIGKILL');
  assert.equal(tor.running, false);
  await assert.rejects(tor.bootstrap(), /not running/);
  await tor.start();
  assert.equal(tor.running, true);
});

test('a daemon killed with SIGKILL leaves no tor behind', { skip, timeout: 60_000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-tor-'));
  const extra = path.join(dir, 'extra.torrc');
  fs.writeFileSync(extra, 'DisableNetwork 1\n');
  const owner = spawn(
    process.execPath,
    [path.join(import.meta.dirname, 'tor-owner.ts'), path.join(dir, 'data'), path.join(dir, 'run'), extra],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let torPid = 0;
  t.after(() => {
    owner.kill('SIGKILL');
    if (torPid && alive(torPid)) process.kill(torPid, 'SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  torPid = await new Promise<number>((resolve, reject) => {
    owner.stdout.setEncoding('utf8');
    owner.stdout.once('data', (line: string) => resolve(Number(line.trim())));
    owner.once('exit', (code) => reject(new Error(`the owner exited (${code})`)));
  });
  assert.ok(torPid > 0 && alive(torPid));
  owner.kill('SIGKILL');
  // Our control connection owned tor (TAKEOWNERSHIP): it closes, tor exits.
  const deadline = Date.now() + 20_000;
  while (alive(torPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(alive(torPid), false, 'tor outlived the daemon');
});
