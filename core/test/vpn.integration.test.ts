import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '../src/client/client.ts';
import { run } from '../src/host/run.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';
import { required } from './required.ts';

/*
 * The VPN end to end with the real wireguard-go on both ends. Three network namespaces: the
 * box (where the daemon puts its WireGuard interface and nft table: --vpn-netns), a peer
 * joined to it by a veth pair (the "internet"), and a host on the box's home LAN (a second
 * veth). The peer is configured only from the config vpn.peer.add answers — its [Interface]
 * Address and DNS applied with ip as wg-quick would, the rest with `wg setconf` — and pings
 * the box through the tunnel; a "box only" peer is fenced off the LAN even when it routes
 * there itself; a "box and LAN" peer reaches the LAN host; a revoked peer's handshake fails.
 */

const skip = required(
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !fs.existsSync('/usr/bin/wireguard-go') || !fs.existsSync('/usr/bin/wg')
      ? 'needs wireguard-go and wireguard-tools (make deps)'
      : false,
  'the VPN test',
);

const tag = randomBytes(3).toString('hex');
const BOX = `hvb-${tag}`;
const PEER = `hvp-${tag}`;
const LAN = `hvl-${tag}`;
const BOX_WG = `wgb${tag}`;
const PEER_WG = `wgp${tag}`;
const BOX_INET = '10.99.0.1';
const LAN_HOST = '192.168.77.2';
const PORT = 51820;

let d: TestDaemon;
let tmp: string;
const peers = new Set<ChildProcess>();
const sh = (argv: string[], input?: string) => run(argv, input === undefined ? {} : { input });
const inPeer = (argv: string[]) => sh(['ip', 'netns', 'exec', PEER, ...argv]);

/** A ping from the peer; false when no reply came in three tries. */
const ping = async (to: string): Promise<boolean> => {
  for (let i = 0; i < 3; i++) {
    try {
      await inPeer(['ping', '-c', '1', '-W', '2', to]);
      return true;
    } catch {}
  }
  return false;
};

/** The peer's side from nothing but the generated config, as wg-quick up would do it. */
async function peerUp(config: string): Promise<void> {
  await peerDown();
  const lines = config.split('\n');
  const value = (key: string) =>
    lines
      .filter((l) => l.startsWith(`${key} = `))
      .flatMap((l) => l.slice(key.length + 3).split(','))
      .map((s) => s.trim());
  const conf = path.join(tmp, 'peer.conf');
  // wg-quick's strip: what only wg-quick reads leaves the file wg setconf takes.
  fs.writeFileSync(conf, lines.filter((l) => !/^(Address|DNS) = /.test(l)).join('\n'), { mode: 0o600 });
  const child = spawn('ip', ['netns', 'exec', PEER, 'wireguard-go', '-f', PEER_WG], {
    stdio: 'ignore',
    env: { ...process.env, WG_PROCESS_FOREGROUND: '1' },
  });
  peers.add(child);
  child.once('exit', () => peers.delete(child));
  while (!fs.existsSync(`/var/run/wireguard/${PEER_WG}.sock`)) {
    if (child.exitCode !== null) throw new Error('the peer’s wireguard-go exited');
    await sleep(50);
  }
  await inPeer(['wg', 'setconf', PEER_WG, conf]);
  for (const a of value('Address')) await sh(['ip', '-n', PEER, 'addr', 'add', a, 'dev', PEER_WG]);
  await sh(['ip', '-n', PEER, 'link', 'set', PEER_WG, 'up']);
  for (const net of value('AllowedIPs'))
    await sh(['ip', '-n', PEER, 'route', 'replace', net, 'dev', PEER_WG]);
}

async function peerDown(): Promise<void> {
  await sh(['ip', '-n', PEER, 'link', 'del', PEER_WG]).catch(() => {});
  for (const c of peers) {
    c.kill('SIGTERM');
    await new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)));
  }
}

const removeNamespaces = async () => {
  for (const ns of [BOX, PEER, LAN]) await sh(['ip', 'netns', 'del', ns]).catch(() => {});
};

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-vpn-'));
  for (const ns of [BOX, PEER, LAN]) await sh(['ip', 'netns', 'add', ns]);
  for (const ns of [BOX, PEER, LAN]) await sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
  // The "internet": box ↔ peer.
  await sh(['ip', '-n', BOX, 'link', 'add', 'inet0', 'type', 'veth', 'peer', 'name', 'inet1', 'netns', PEER]);
  await sh(['ip', '-n', BOX, 'addr', 'add', `${BOX_INET}/24`, 'dev', 'inet0']);
  await sh(['ip', '-n', PEER, 'addr', 'add', '10.99.0.2/24', 'dev', 'inet1']);
  // The home LAN: box ↔ a host that knows nothing of the VPN's network.
  await sh(['ip', '-n', BOX, 'link', 'add', 'lan0', 'type', 'veth', 'peer', 'name', 'lan1', 'netns', LAN]);
  await sh(['ip', '-n', BOX, 'addr', 'add', '192.168.77.1/24', 'dev', 'lan0']);
  await sh(['ip', '-n', LAN, 'addr', 'add', `${LAN_HOST}/24`, 'dev', 'lan1']);
  for (const [ns, dev] of [
    [BOX, 'inet0'],
    [BOX, 'lan0'],
    [PEER, 'inet1'],
    [LAN, 'lan1'],
  ] as const) {
    await sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
  }
  d = await startTestDaemon({
    args: [
      ...['--vpn-netns', BOX, '--vpn-interface', BOX_WG, '--vpn-endpoint', BOX_INET],
      ...['--vpn-port', String(PORT), '--vpn-lan-subnets', '192.168.77.0/24'],
    ],
  });
  await setUp(d);
});

after(async () => {
  await peerDown();
  // Stopped, not killed: the daemon takes its wireguard-go down with it. Should one be left
  // (the daemon died first), it goes by the PID the daemon logged when it started it.
  await d?.stop();
  for (const m of d?.output().matchAll(/wireguard-go is running pid=(\d+)/g) ?? []) {
    try {
      if (fs.readFileSync(`/proc/${m[1]}/comm`, 'utf8').trim() === 'wireguard-go')
        process.kill(Number(m[1]), 'SIGKILL');
    } catch {}
  }
  await d?.cleanup();
  // Also ends a wireguard-go of the box's, should the daemon have left one: its link goes.
  await removeNamespaces();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('a "box only" peer pings the box through the tunnel, and is fenced off the LAN', { skip }, async () => {
  const admin = d.client({ bearer: d.localToken });
  assert.equal((await admin.call('vpn.peer.list', {})).running, false, 'no peer, no VPN');
  const phone = await admin.call('vpn.peer.add', { name: 'phone' });
  assert.match(phone.config, /^DNS = 10\.74\.0\.1$/m);
  assert.match(phone.config, new RegExp(`^Endpoint = ${BOX_INET.replace(/\./g, '\\.')}:${PORT}$`, 'm'));
  assert.match(phone.config, /^AllowedIPs = 10\.74\.0\.1\/32$/m);
  assert.match(phone.qrSvg, /^<svg[\s\S]*<\/svg>$/);

  await peerUp(phone.config);
  assert.ok(await ping('10.74.0.1'), 'the box answers through the tunnel');
  const listed = await admin.call('vpn.peer.list', {});
  assert.equal(listed.running, true);
  const [p] = listed.peers;
  assert.equal(p?.name, 'phone');
  assert.equal(p?.access, 'box');
  assert.ok(p?.lastHandshake, 'a handshake was seen');
  assert.ok((p?.rxBytes ?? 0) > 0 && (p?.txBytes ?? 0) > 0, 'traffic counted');
  // The box's public key in the config is the interface's (what wg shows in the box's namespace).
  const shown = (await sh(['ip', 'netns', 'exec', BOX, 'wg', 'show', BOX_WG, 'public-key'])).stdout.trim();
  assert.equal(shown, listed.publicKey);

  // The peer routes to the LAN on its own: the box forwards nothing of a "box only" peer.
  await sh(['ip', '-n', PEER, 'route', 'replace', '192.168.77.0/24', 'dev', PEER_WG]);
  assert.equal(await ping(LAN_HOST), false, 'a box-only peer must not reach the LAN');
  // Its private key is in no log line and no event.
  const privateKey = /^PrivateKey = (.+)$/m.exec(phone.config)?.[1] ?? '';
  assert.ok(privateKey.length === 44);
  assert.ok(!d.output().includes(privateKey));
  const events = JSON.stringify(await admin.call('event.list', {}));
  assert.ok(!events.includes(privateKey));
  await peerDown();
  await admin.call('vpn.peer.remove', { name: 'phone' });
});

test('a "box and LAN" peer reaches a LAN host; revoked, its handshake fails', { skip }, async () => {
  const admin = d.client({ bearer: d.localToken });
  const laptop = await admin.call('vpn.peer.add', { name: 'laptop', access: 'lan' });
  assert.match(laptop.config, /^AllowedIPs = 10\.74\.0\.1\/32, 192\.168\.77\.0\/24$/m);
  await peerUp(laptop.config);
  assert.ok(await ping(LAN_HOST), 'the LAN host answers the peer, through the box');
  assert.ok(await ping('10.74.0.1'));

  await admin.call('vpn.peer.remove', { name: 'laptop' });
  // The same device, from the same config, afresh: no handshake, no reply.
  await peerUp(laptop.config);
  assert.equal(await ping('10.74.0.1'), false);
  const handshakes = (await inPeer(['wg', 'show', PEER_WG, 'latest-handshakes'])).stdout.trim().split(/\s+/);
  assert.equal(handshakes[1], '0', 'no handshake with a revoked key');
  assert.ok(!(await admin.call('vpn.peer.list', {})).peers.some((p) => p.name === 'laptop'));
  await peerDown();
});

test('after the daemon is killed and started again, the peer gets through again', { skip }, async () => {
  const desk = await d.client({ bearer: d.localToken }).call('vpn.peer.add', { name: 'desk' });
  await peerUp(desk.config);
  assert.ok(await ping('10.74.0.1'));
  await d.kill();
  d = await d.restart();
  const admin = d.client({ bearer: d.localToken });
  // The start-up pass has run once the list says so; the peer's session may need a new handshake.
  for (let i = 0; i < 50 && !(await admin.call('vpn.peer.list', {})).running; i++) await sleep(100);
  assert.ok(await ping('10.74.0.1'), 'the box answers through the tunnel after the restart');
  assert.deepEqual(
    (await admin.call('vpn.peer.list', {})).peers.map((p) => p.name),
    ['desk'],
  );
  await peerDown();
  await admin.call('vpn.peer.remove', { name: 'desk' });
});

test('names are checked; the last peer gone, the VPN stops', { skip }, async () => {
  const admin = d.client({ bearer: d.localToken });
  for (const name of ['', '../x', 'a\nb', 'x'.repeat(40), 'rm -rf /;']) {
    await assert.rejects(
      admin.call('vpn.peer.add', { name }),
      (e: unknown) => e instanceof RpcError && e.data.code === 'invalid_params',
      JSON.stringify(name),
    );
  }
  await admin.call('vpn.peer.add', { name: 'twice' });
  await assert.rejects(
    admin.call('vpn.peer.add', { name: 'twice' }),
    (e: unknown) => e instanceof RpcError && e.data.code === 'conflict',
  );
  await assert.rejects(
    admin.call('vpn.peer.remove', { name: 'nobody' }),
    (e: unknown) => e instanceof RpcError && e.data.code === 'not_found',
  );
  await admin.call('vpn.peer.add', { name: 'tablet' });
  assert.equal((await admin.call('vpn.peer.list', {})).running, true);
  for (const p of (await admin.call('vpn.peer.list', {})).peers)
    await admin.call('vpn.peer.remove', { name: p.name });
  assert.equal((await admin.call('vpn.peer.list', {})).running, false);
  const links = (await sh(['ip', '-n', BOX, '-o', 'link', 'show'])).stdout;
  assert.ok(!links.includes(BOX_WG), 'the interface is gone');
  const tables = (await sh(['ip', 'netns', 'exec', BOX, 'nft', 'list', 'tables'])).stdout;
  assert.ok(!tables.includes('hearth_vpn'), 'and so is the nft table');
});
