import type { Tor } from '../host/tor.ts';
import { ControlCommandFailed } from '../host/tor-control-protocol.ts';
import { mappingOf, type Step } from './plan.ts';

/*
 * The one table that carries out the onion planner's steps. `known` is what our
 * ADD_ONIONs pointed each service at: tor lists its onions but not their ports.
 */

export interface TorExecutorContext {
  tor: Tor;
  known: Map<string, string>;
}

type Executors = {
  [K in Step['kind']]: (step: Extract<Step, { kind: K }>, c: TorExecutorContext) => Promise<void>;
};

export class ServiceIdMismatch extends Error {
  override name = 'ServiceIdMismatch';
}

export const EXECUTORS: Executors = {
  'start-tor': async (_, c) => {
    c.known.clear();
    await c.tor.start();
  },
  'stop-tor': async (_, c) => {
    await c.tor.stop();
    c.known.clear();
  },
  'add-onion': async (s, c) => {
    const { serviceId } = await c.tor.addOnion(s.key, [{ virtualPort: s.virtualPort, target: s.target }]);
    // The address the owner was shown is the one derived here: tor must agree.
    if (serviceId !== s.serviceId) {
      await c.tor.delOnion(serviceId).catch(() => {});
      throw new ServiceIdMismatch(`tor made ${serviceId}.onion of the key of ${s.serviceId}.onion`);
    }
    c.known.set(serviceId, mappingOf(s));
  },
  'remove-onion': async (s, c) => {
    try {
      await c.tor.delOnion(s.serviceId);
    } catch (error) {
      // 552: tor no longer has it, which is what we wanted.
      if (!(error instanceof ControlCommandFailed && error.status === 552)) throw error;
    }
    c.known.delete(s.serviceId);
  },
};

export function execute(step: Step, c: TorExecutorContext): Promise<void> {
  return (EXECUTORS[step.kind] as (s: Step, c: TorExecutorContext) => Promise<void>)(step, c);
}
