import type { LanProxy } from '../host/lan-proxy.ts';
import type { Step } from './plan.ts';
import type { PortRows } from './rows.ts';

/* The one table that carries out the LAN ports planner's steps. */

export interface LanExecutorContext {
  rows: PortRows;
  proxy: LanProxy;
}

type Executors = {
  [K in Step['kind']]: (step: Extract<Step, { kind: K }>, c: LanExecutorContext) => Promise<void>;
};

export const EXECUTORS: Executors = {
  'assign-port': async (s, c) => {
    c.rows.assign(s.package, s.interface, s.port);
  },
  open: (s, c) => c.proxy.open(s.spec),
  retarget: async (s, c) => c.proxy.retarget(s.spec),
  close: (s, c) => c.proxy.close(s.port),
};

export function execute(step: Step, c: LanExecutorContext): Promise<void> {
  return (EXECUTORS[step.kind] as (s: Step, c: LanExecutorContext) => Promise<void>)(step, c);
}
