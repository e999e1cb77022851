import type { PeerSpec, UapiDevice } from './config.ts';

/*
 * The VPN's planner, pure: the box's key and the peers in the table against what the
 * WireGuard interface carries (UAPI `get`), its address and the nftables table → the steps
 * that make them agree. The interface runs only while a peer exists.
 */

export interface DesiredVpn {
  privateKey: string;
  listenPort: number;
  /** The box's address with the VPN's prefix, `10.74.0.1/24`. */
  address: string;
  peers: PeerSpec[];
  nat: { script: string; digest: string };
}

export interface ObservedVpn {
  running: boolean;
  /** False while a failed start waits out its backoff. */
  mayStart: boolean;
  device: UapiDevice | null;
  hasAddress: boolean;
  natDigest: string | null;
}

export type Step =
  | { kind: 'start-wg' }
  | { kind: 'stop-wg' }
  | { kind: 'set-device'; privateKey: string; listenPort: number }
  | { kind: 'set-address'; address: string }
  | { kind: 'set-nat'; script: string; digest: string }
  | { kind: 'remove-nat' }
  | { kind: 'set-peer'; peer: PeerSpec }
  | { kind: 'remove-peer'; publicKey: string };

export function plan(desired: DesiredVpn, observed: ObservedVpn): Step[] {
  if (desired.peers.length === 0) {
    return [
      ...(observed.running ? [{ kind: 'stop-wg' } as const] : []),
      ...(observed.natDigest !== null ? [{ kind: 'remove-nat' } as const] : []),
    ];
  }
  // The rest follows in the pass after the start, against what the new interface has.
  if (!observed.running) return observed.mayStart ? [{ kind: 'start-wg' }] : [];
  const steps: Step[] = [];
  // The fence is up before any peer can send.
  if (observed.natDigest !== desired.nat.digest) steps.push({ kind: 'set-nat', ...desired.nat });
  const device = observed.device;
  if (!device || device.privateKey !== desired.privateKey || device.listenPort !== desired.listenPort) {
    steps.push({ kind: 'set-device', privateKey: desired.privateKey, listenPort: desired.listenPort });
  }
  if (!observed.hasAddress) steps.push({ kind: 'set-address', address: desired.address });
  const want = new Map(desired.peers.map((p) => [p.publicKey, p]));
  const have = new Map((device?.peers ?? []).map((p) => [p.publicKey, p]));
  // A revoked peer goes before anything is added: its sessions end with it.
  for (const p of have.keys()) if (!want.has(p)) steps.push({ kind: 'remove-peer', publicKey: p });
  for (const peer of desired.peers) {
    const h = have.get(peer.publicKey);
    const same =
      h &&
      h.presharedKey === peer.presharedKey &&
      h.allowedIps.length === 1 &&
      h.allowedIps[0] === `${peer.address}/32`;
    if (!same) steps.push({ kind: 'set-peer', peer });
  }
  return steps;
}
