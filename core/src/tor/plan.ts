import { onionKey } from './onion-key.ts';
import type { OnionRow } from './rows.ts';

/*
 * The onion services' planner, pure: what tor should carry (the rows turned on, for
 * interfaces that exist) against what it carries (onions/detached and what our ADD_ONIONs
 * pointed them at) → the steps that make them agree. executors.ts carries them out.
 */

/** A package interface the box can expose: where it answers on the bridge. */
export interface ExposedInterface {
  package: string;
  interface: string;
  protocol: string;
  port: number;
  /** The container's address on the bridge. */
  address: string;
}

export interface DesiredOnion {
  package: string;
  interface: string;
  serviceId: string;
  /** ADD_ONION's key argument; kept out of events and logs. */
  key: string;
  virtualPort: number;
  /** `address:port` in the container. */
  target: string;
}

export interface ObservedTor {
  running: boolean;
  /** False while a failed start waits out its backoff. */
  mayStart: boolean;
  /** Each service id tor carries, with the mapping we gave it (`80->10.73.0.2:80`) when we know it. */
  onions: Map<string, string | undefined>;
}

export type Step =
  | { kind: 'start-tor' }
  | { kind: 'stop-tor' }
  | ({ kind: 'add-onion' } & DesiredOnion)
  | { kind: 'remove-onion'; serviceId: string };

/** The port a client dials at the onion: the usual one for web interfaces, else the interface's own. */
export function virtualPort(protocol: string, port: number): number {
  if (protocol === 'http') return 80;
  if (protocol === 'https') return 443;
  return port;
}

export const mappingOf = (o: { virtualPort: number; target: string }) => `${o.virtualPort}->${o.target}`;

/** The onions that should be up: rows turned on whose package and interface exist. */
export function desiredOnions(rows: OnionRow[], interfaces: ExposedInterface[]): DesiredOnion[] {
  const byKey = new Map(interfaces.map((i) => [`${i.package}\0${i.interface}`, i]));
  return rows.flatMap((row) => {
    const i = byKey.get(`${row.package}\0${row.interface}`);
    if (!row.enabled || !i || i.protocol === 'udp') return [];
    const key = onionKey(row.seed);
    return [
      {
        package: row.package,
        interface: row.interface,
        serviceId: key.serviceId,
        key: key.addOnionKey,
        virtualPort: virtualPort(i.protocol, i.port),
        target: `${i.address}:${i.port}`,
      },
    ];
  });
}

export function plan(desired: DesiredOnion[], observed: ObservedTor): Step[] {
  // No onion wanted: no tor running for nothing.
  if (desired.length === 0) return observed.running ? [{ kind: 'stop-tor' }] : [];
  // The adds follow in the pass after the start, against what the new tor has.
  if (!observed.running) return observed.mayStart ? [{ kind: 'start-tor' }] : [];
  const want = new Map(desired.map((d) => [d.serviceId, d]));
  const steps: Step[] = [];
  for (const [serviceId, mapping] of observed.onions) {
    const d = want.get(serviceId);
    // Not ours to keep, or pointing elsewhere (a mapping we do not know counts as elsewhere).
    if (!d || mapping !== mappingOf(d)) steps.push({ kind: 'remove-onion', serviceId });
  }
  for (const d of desired) {
    const mapping = observed.onions.get(d.serviceId);
    if (!observed.onions.has(d.serviceId) || mapping !== mappingOf(d))
      steps.push({ kind: 'add-onion', ...d });
  }
  return steps;
}
