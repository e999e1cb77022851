import type { WireGuard } from '../host/wireguard.ts';
import { uapiDevice, uapiPeer, uapiRemovePeer } from './config.ts';
import type { Step } from './plan.ts';

/* The one table that carries out the VPN planner's steps. */

export interface VpnExecutorContext {
  wg: WireGuard;
  natTable: string;
}

type Executors = {
  [K in Step['kind']]: (step: Extract<Step, { kind: K }>, c: VpnExecutorContext) => Promise<void>;
};

export const EXECUTORS: Executors = {
  'start-wg': (_, c) => c.wg.start(),
  'stop-wg': (_, c) => c.wg.stop(),
  'set-device': (s, c) => c.wg.set(uapiDevice(s.privateKey, s.listenPort)),
  'set-address': (s, c) => c.wg.setAddress(s.address),
  'set-nat': (s, c) => c.wg.applyNat(s.script),
  'remove-nat': (_, c) => c.wg.removeNat(c.natTable),
  'set-peer': (s, c) => c.wg.set(uapiPeer(s.peer)),
  'remove-peer': (s, c) => c.wg.set(uapiRemovePeer(s.publicKey)),
};

export function execute(step: Step, c: VpnExecutorContext): Promise<void> {
  return (EXECUTORS[step.kind] as (s: Step, c: VpnExecutorContext) => Promise<void>)(step, c);
}
