import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clientConfig,
  natRuleset,
  nextAddress,
  type PeerSpec,
  parseNatDigest,
  parseUapiGet,
} from './config.ts';
import { hexOf, isKey, newKeyPair, newPresharedKey, publicKeyOf } from './keys.ts';
import { type DesiredVpn, type ObservedVpn, plan } from './plan.ts';

const box = newKeyPair();
const peer = (n: number, lan = false): PeerSpec => ({
  name: `p${n}`,
  publicKey: newKeyPair().publicKey,
  presharedKey: newPresharedKey(),
  address: `10.74.0.${n + 1}`,
  lan,
});
const desired = (peers: PeerSpec[]): DesiredVpn => ({
  privateKey: box.privateKey,
  listenPort: 51820,
  address: '10.74.0.1/24',
  peers,
  nat: natRuleset({
    table: 'hearth_vpn',
    iface: 'wg0',
    lanPeers: peers.filter((p) => p.lan).map((p) => p.address),
    lanSubnets: ['192.168.1.0/24'],
  }),
});
const inAgreement = (d: DesiredVpn): ObservedVpn => ({
  running: true,
  mayStart: true,
  hasAddress: true,
  natDigest: d.nat.digest,
  device: {
    privateKey: d.privateKey,
    listenPort: d.listenPort,
    peers: d.peers.map((p) => ({
      publicKey: p.publicKey,
      presharedKey: p.presharedKey,
      allowedIps: [`${p.address}/32`],
      endpoint: null,
      lastHandshake: null,
      rxBytes: 0,
      txBytes: 0,
    })),
  },
});
const kinds = (steps: { kind: string }[]) => steps.map((s) => s.kind);

test('keys: x25519 pairs that agree, canonical base64', () => {
  const k = newKeyPair();
  assert.equal(publicKeyOf(k.privateKey), k.publicKey);
  assert.ok(isKey(k.privateKey) && isKey(k.publicKey) && isKey(newPresharedKey()));
  assert.ok(!isKey('x'.repeat(44)) && !isKey(`${k.publicKey}\n`));
});

test('the interface runs only while a peer exists; the rest after the start', () => {
  const d = desired([peer(1)]);
  const off: ObservedVpn = {
    running: false,
    mayStart: true,
    device: null,
    hasAddress: false,
    natDigest: null,
  };
  assert.deepEqual(kinds(plan(d, off)), ['start-wg']);
  assert.deepEqual(plan(d, { ...off, mayStart: false }), []);
  assert.deepEqual(kinds(plan(desired([]), inAgreement(d))), ['stop-wg', 'remove-nat']);
  assert.deepEqual(plan(desired([]), off), []);
});

test('a fresh interface: the fence, the key, the address, then the peers', () => {
  const d = desired([peer(1), peer(2, true)]);
  const fresh: ObservedVpn = {
    running: true,
    mayStart: true,
    hasAddress: false,
    natDigest: null,
    device: { privateKey: null, listenPort: 0, peers: [] },
  };
  assert.deepEqual(kinds(plan(d, fresh)), ['set-nat', 'set-device', 'set-address', 'set-peer', 'set-peer']);
  assert.deepEqual(plan(d, inAgreement(d)), []);
});

test('revoked peers go first; changed ones are set again; the fence follows the LAN choice', () => {
  const a = peer(1);
  const b = peer(2);
  const before = desired([a, b]);
  const after = desired([{ ...a, lan: true }]);
  const steps = plan(after, inAgreement(before));
  assert.deepEqual(kinds(steps), ['set-nat', 'remove-peer']);
  assert.equal((steps[1] as { publicKey: string }).publicKey, b.publicKey);
  const moved = inAgreement(before);
  moved.device!.peers[0]!.allowedIps = ['0.0.0.0/0'];
  assert.deepEqual(kinds(plan(before, moved)), ['set-peer']);
});

test('the client config: its address, the box key, endpoint, DNS at the box; LAN only when chosen', () => {
  const text = clientConfig({
    privateKey: 'P',
    presharedKey: 'S',
    address: '10.74.0.2',
    serverPublicKey: box.publicKey,
    endpoint: 'box.example:51820',
    subnet: '10.74.0.0/24',
    lan: false,
    lanSubnets: ['192.168.1.0/24'],
  });
  assert.match(text, /^Address = 10\.74\.0\.2\/32$/m);
  assert.match(text, /^DNS = 10\.74\.0\.1$/m);
  assert.match(text, /^AllowedIPs = 10\.74\.0\.1\/32$/m);
  assert.match(text, new RegExp(`^PublicKey = ${box.publicKey.replace(/[+/]/g, '\\$&')}$`, 'm'));
  assert.match(text, /^Endpoint = box\.example:51820$/m);
  assert.equal(nextAddress('10.74.0.0/24', ['10.74.0.2', '10.74.0.4']), '10.74.0.3');
  assert.equal(
    nextAddress(
      '10.74.0.0/24',
      Array.from({ length: 253 }, (_, i) => `10.74.0.${i + 2}`),
    ),
    null,
  );
});

test('UAPI get: peers with handshake and traffic; a failed get throws', () => {
  const k = newKeyPair();
  const text = `private_key=${hexOf(box.privateKey)}\nlisten_port=51820\npublic_key=${hexOf(k.publicKey)}\npreshared_key=${'00'.repeat(32)}\nendpoint=10.99.0.2:4000\nlast_handshake_time_sec=1700000000\nlast_handshake_time_nsec=500000000\ntx_bytes=92\nrx_bytes=180\npersistent_keepalive_interval=0\nallowed_ip=10.74.0.2/32\nprotocol_version=1\nerrno=0\n\n`;
  const d = parseUapiGet(text);
  assert.equal(d.privateKey, box.privateKey);
  assert.deepEqual(d.peers[0], {
    publicKey: k.publicKey,
    presharedKey: Buffer.alloc(32).toString('base64'),
    allowedIps: ['10.74.0.2/32'],
    endpoint: '10.99.0.2:4000',
    lastHandshake: 1_700_000_000_500,
    rxBytes: 180,
    txBytes: 92,
  });
  assert.throws(() => parseUapiGet('errno=22\n\n'));
  assert.throws(() => parseUapiGet('garbage\n'));
  assert.equal(
    parseUapiGet('public_key=00\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\n').peers[0]
      ?.lastHandshake,
    null,
  );
});

test('the nft table: the digest read back; LAN rules only with LAN peers', () => {
  const none = natRuleset({ table: 't', iface: 'wg0', lanPeers: [], lanSubnets: ['192.168.1.0/24'] });
  assert.doesNotMatch(none.script, /masquerade/);
  assert.match(none.script, /iifname "wg0" drop/);
  const some = natRuleset({
    table: 't',
    iface: 'wg0',
    lanPeers: ['10.74.0.3'],
    lanSubnets: ['192.168.1.0/24'],
  });
  assert.match(some.script, /ip saddr \{ 10\.74\.0\.3 \} ip daddr \{ 192\.168\.1\.0\/24 \} masquerade/);
  assert.notEqual(none.digest, some.digest);
  assert.equal(parseNatDigest(`table ip t {\n\tcomment "hearth vpn ${some.digest}"\n}`), some.digest);
  assert.equal(parseNatDigest('table ip t {\n}'), null);
});
