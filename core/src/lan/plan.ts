import type { PortRow } from './rows.ts';

/*
 * The LAN ports' planner, pure: the rows (which port each interface was given) and the
 * interfaces of the installed packages against the listeners open now → the steps that make
 * them agree. A port is given once and kept: an interface that has a row keeps its port
 * across restarts, updates and restores, even when the range changed since. executors.ts
 * carries the steps out.
 */

export type InterfaceProtocol = 'http' | 'https' | 'tcp' | 'udp';

/** A package interface as the LAN proxy needs it: where it answers on the bridge. */
export interface LanInterface {
  package: string;
  interface: string;
  protocol: InterfaceProtocol;
  /** The port inside the container. */
  port: number;
  /** The container's address on the bridge. */
  address: string;
  /** What the manifest calls it (announced by DNS-SD). */
  name?: string;
  /** A tcp interface's TLS: 'box' — the box terminates it (the manifest's `tls`). */
  tls?: 'none' | 'box';
}

/**
 * How a LAN port carries an interface: `http` — the box terminates TLS with its own CA and
 * proxies HTTP/1.1 (WebSockets too) to the container; `tcp` — bytes passed through as they
 * come (an `https` interface keeps its own TLS end to end, with the certificate the package
 * got from effects.getCertificate); `tls` — the box terminates TLS, then passes the plain
 * bytes through (a tcp interface whose manifest says `tls: 'box'`).
 */
export type ListenerMode = 'http' | 'tcp' | 'tls';

export interface ListenerSpec {
  port: number;
  package: string;
  interface: string;
  mode: ListenerMode;
  target: { host: string; port: number };
}

export type Step =
  | { kind: 'assign-port'; package: string; interface: string; port: number }
  | { kind: 'open'; spec: ListenerSpec }
  | { kind: 'retarget'; spec: ListenerSpec }
  | { kind: 'close'; port: number };

export interface PortRange {
  from: number;
  to: number;
}

export function modeOf(protocol: InterfaceProtocol, tls?: 'none' | 'box'): ListenerMode | undefined {
  if (protocol === 'http') return 'http';
  if (protocol === 'tcp' && tls === 'box') return 'tls';
  if (protocol === 'https' || protocol === 'tcp') return 'tcp';
  // UDP is not carried yet.
  return undefined;
}

const keyOf = (o: { package: string; interface: string }) => `${o.package}\0${o.interface}`;

/**
 * The ports to give the interfaces that have none: the lowest port of the range no row
 * holds and `unavailable` (ports something else on the box listens on) leaves free; when the
 * range is full, the port of the oldest row whose package is gone. Undefined in the list
 * for an interface no port could be found for.
 */
export function assignPorts(
  rows: readonly PortRow[],
  interfaces: readonly LanInterface[],
  range: PortRange,
  unavailable: ReadonlySet<number> = new Set(),
): { package: string; interface: string; port: number | undefined }[] {
  const held = new Set(rows.map((r) => r.port));
  const has = new Set(rows.map(keyOf));
  const installed = new Set(interfaces.map((i) => i.package));
  const reusable = rows
    .filter((r) => !installed.has(r.package))
    .sort((a, b) => a.createdAt - b.createdAt || a.port - b.port)
    .map((r) => r.port)
    .filter((p) => p >= range.from && p <= range.to && !unavailable.has(p));
  let next = range.from;
  const out: { package: string; interface: string; port: number | undefined }[] = [];
  for (const i of interfaces) {
    if (has.has(keyOf(i)) || modeOf(i.protocol, i.tls) === undefined) continue;
    while (next <= range.to && (held.has(next) || unavailable.has(next))) next++;
    let port: number | undefined;
    if (next <= range.to) port = next++;
    else port = reusable.shift();
    if (port !== undefined) held.add(port);
    has.add(keyOf(i));
    out.push({ package: i.package, interface: i.interface, port });
  }
  return out;
}

/** The listeners that should be open: every interface of an installed package with a port. */
export function desiredListeners(
  rows: readonly PortRow[],
  interfaces: readonly LanInterface[],
): ListenerSpec[] {
  const byKey = new Map(interfaces.map((i) => [keyOf(i), i]));
  return rows.flatMap((r) => {
    const i = byKey.get(keyOf(r));
    const mode = i && modeOf(i.protocol, i.tls);
    if (!i || !mode) return [];
    return [
      {
        port: r.port,
        package: r.package,
        interface: r.interface,
        mode,
        target: { host: i.address, port: i.port },
      },
    ];
  });
}

const sameTarget = (a: ListenerSpec, b: ListenerSpec) =>
  a.target.host === b.target.host && a.target.port === b.target.port;
const sameListener = (a: ListenerSpec, b: ListenerSpec) =>
  a.package === b.package && a.interface === b.interface && a.mode === b.mode;

/**
 * The steps from what is open (`observed`, by port) to what should be: ports for new
 * interfaces first (rows are written before anything listens), then closes, then opens and
 * retargets. A listener of another interface or mode on a port is closed and opened again.
 */
export function plan(
  rows: readonly PortRow[],
  interfaces: readonly LanInterface[],
  range: PortRange,
  observed: ReadonlyMap<number, ListenerSpec>,
  unavailable: ReadonlySet<number> = new Set(),
): Step[] {
  const steps: Step[] = [];
  let all = [...rows];
  for (const a of assignPorts(rows, interfaces, range, unavailable)) {
    if (a.port === undefined) continue;
    const port = a.port;
    steps.push({ kind: 'assign-port', package: a.package, interface: a.interface, port });
    all = all.filter((r) => r.port !== port);
    all.push({ package: a.package, interface: a.interface, port, createdAt: 0 });
  }
  const desired = new Map(desiredListeners(all, interfaces).map((s) => [s.port, s]));
  for (const [port, open] of observed) {
    const want = desired.get(port);
    if (!want || !sameListener(open, want)) steps.push({ kind: 'close', port });
  }
  for (const [port, want] of desired) {
    const open = observed.get(port);
    if (!open || !sameListener(open, want)) steps.push({ kind: 'open', spec: want });
    else if (!sameTarget(open, want)) steps.push({ kind: 'retarget', spec: want });
  }
  return steps;
}
