import { createHash } from 'node:crypto';
import { base64Of, hexOf } from './keys.ts';

/*
 * What the VPN writes, pure: the peers' addresses in the VPN's /24, a client's wg-quick
 * config, the UAPI lines for wireguard-go (and what its `get` answers), and the nftables
 * table that keeps "box only" peers off the LAN and masquerades "box and LAN" ones.
 */

export interface PeerSpec {
  name: string;
  publicKey: string;
  presharedKey: string;
  /** Its one address in the VPN, `10.74.0.2`. */
  address: string;
  lan: boolean;
}

/** `10.74.0.0/24` → `10.74.0.` */
export const prefixOf = (subnet: string): string => subnet.replace(/0\/24$/, '');
export const boxAddress = (subnet: string): string => `${prefixOf(subnet)}1`;

/** The first free address of the /24 for a new peer (.2 to .254); null when it is full. */
export function nextAddress(subnet: string, taken: string[]): string | null {
  const used = new Set(taken);
  for (let i = 2; i < 255; i++) {
    const a = `${prefixOf(subnet)}${i}`;
    if (!used.has(a)) return a;
  }
  return null;
}

/** The config a client imports (wg-quick's format, which the phone and desktop apps read). */
export function clientConfig(o: {
  privateKey: string;
  presharedKey: string;
  address: string;
  serverPublicKey: string;
  endpoint: string;
  subnet: string;
  lan: boolean;
  lanSubnets: string[];
}): string {
  const allowed = [`${boxAddress(o.subnet)}/32`, ...(o.lan ? o.lanSubnets : [])];
  return [
    '[Interface]',
    `PrivateKey = ${o.privateKey}`,
    `Address = ${o.address}/32`,
    `DNS = ${boxAddress(o.subnet)}`,
    '',
    '[Peer]',
    `PublicKey = ${o.serverPublicKey}`,
    `PresharedKey = ${o.presharedKey}`,
    `Endpoint = ${o.endpoint}`,
    `AllowedIPs = ${allowed.join(', ')}`,
    // Keeps a phone behind a NAT reachable and its mapping alive.
    'PersistentKeepalive = 25',
    '',
  ].join('\n');
}

/** A peer as wireguard-go's UAPI `get` tells it. */
export interface UapiPeer {
  publicKey: string;
  presharedKey: string;
  allowedIps: string[];
  endpoint: string | null;
  /** ms since the epoch; null before the first handshake. */
  lastHandshake: number | null;
  rxBytes: number;
  txBytes: number;
}

export interface UapiDevice {
  privateKey: string | null;
  listenPort: number;
  peers: UapiPeer[];
}

const MAX_GET = 1 << 20;

/** Parses the answer to `get=1` (key=value lines, a peer starting at each public_key). */
export function parseUapiGet(text: string): UapiDevice {
  if (text.length > MAX_GET) throw new Error('UAPI answer too long');
  const device: UapiDevice = { privateKey: null, listenPort: 0, peers: [] };
  let peer: UapiPeer | undefined;
  let seconds = 0;
  for (const line of text.split('\n')) {
    if (!line) continue;
    const eq = line.indexOf('=');
    if (eq < 1) throw new Error(`UAPI line without a value: ${line.slice(0, 40)}`);
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === 'errno') {
      if (v !== '0') throw new Error(`UAPI get failed: errno ${v}`);
    } else if (k === 'private_key') device.privateKey = base64Of(v);
    else if (k === 'listen_port') device.listenPort = Number(v);
    else if (k === 'public_key') {
      peer = {
        publicKey: base64Of(v),
        presharedKey: '',
        allowedIps: [],
        endpoint: null,
        lastHandshake: null,
        rxBytes: 0,
        txBytes: 0,
      };
      device.peers.push(peer);
    } else if (peer) {
      if (k === 'preshared_key') peer.presharedKey = base64Of(v);
      else if (k === 'allowed_ip') peer.allowedIps.push(v);
      else if (k === 'endpoint') peer.endpoint = v;
      else if (k === 'last_handshake_time_sec') seconds = Number(v);
      else if (k === 'last_handshake_time_nsec') {
        peer.lastHandshake = seconds === 0 ? null : seconds * 1000 + Math.floor(Number(v) / 1e6);
      } else if (k === 'rx_bytes') peer.rxBytes = Number(v);
      else if (k === 'tx_bytes') peer.txBytes = Number(v);
    }
  }
  return device;
}

/** `set=1` lines for the device's key and port. */
export const uapiDevice = (privateKey: string, listenPort: number): string =>
  `set=1\nprivate_key=${hexOf(privateKey)}\nlisten_port=${listenPort}\n\n`;

/** `set=1` lines that add a peer or replace its settings. */
export const uapiPeer = (p: { publicKey: string; presharedKey: string; address: string }): string =>
  `set=1\npublic_key=${hexOf(p.publicKey)}\npreshared_key=${hexOf(p.presharedKey)}\nreplace_allowed_ips=true\nallowed_ip=${p.address}/32\n\n`;

export const uapiRemovePeer = (publicKey: string): string =>
  `set=1\npublic_key=${hexOf(publicKey)}\nremove=true\n\n`;

/**
 * The VPN's nftables table: traffic from the tunnel may be forwarded only from "box and LAN"
 * peers to the LAN, masqueraded there (the LAN's devices answer the box); the rest is the box's.
 * The comment carries a digest of the rules, read back to know they are in place.
 */
export function natRuleset(o: { table: string; iface: string; lanPeers: string[]; lanSubnets: string[] }): {
  script: string;
  digest: string;
} {
  const lan = o.lanPeers.length > 0 && o.lanSubnets.length > 0;
  const peers = `{ ${o.lanPeers.join(', ')} }`;
  const nets = `{ ${o.lanSubnets.join(', ')} }`;
  const body = [
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...(lan ? [`    iifname "${o.iface}" ip saddr ${peers} ip daddr ${nets} accept`] : []),
    `    iifname "${o.iface}" drop`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    ...(lan ? [`    ip saddr ${peers} ip daddr ${nets} masquerade`] : []),
    '  }',
  ].join('\n');
  const digest = createHash('sha256').update(body).digest('hex').slice(0, 16);
  // Made empty first so the delete never fails, then replaced in the same transaction.
  const script = `table ip ${o.table}\ndelete table ip ${o.table}\ntable ip ${o.table} {\n  comment "hearth vpn ${digest}"\n${body}\n}\n`;
  return { script, digest };
}

/** The digest in `nft list table ip <t>`'s output; null when the table is not ours or absent. */
export const parseNatDigest = (listing: string): string | null =>
  /comment "hearth vpn ([0-9a-f]+)"/.exec(listing)?.[1] ?? null;
