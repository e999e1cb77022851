import { CONTAINER_PREFIX, containerName, isHearthContainer } from '../host/lxc.ts';

/**
 * The reconcile planner: from what should be (the packages table) and what is (the
 * containers and mounts on the host), the steps that make them agree. Pure: every rule of
 * recovery after a crash is tested here without a host (core/src/packages/plan.test.ts).
 */

export type Desired = 'running' | 'stopped';

/**
 * Where a package is in its life. Anything but `installed` means an operation was under
 * way; if the daemon finds one at start-up, that operation died with it.
 */
export type Phase = 'installing' | 'installed' | 'updating' | 'removing';

export interface PackageRecord {
  id: string;
  desired: Desired;
  phase: Phase;
  /** Packages this one needs running (its `requireRunning` dependencies): started first. */
  requires?: readonly string[];
}

export type ContainerState = 'running' | 'stopped';

export interface ObservedContainer {
  /** The container's name on the host: `hearth-<package id>` for ours. */
  name: string;
  state: ContainerState;
}

export interface Observed {
  containers: ObservedContainer[];
  /** Mount points under the packages directory, each tagged with the package it belongs to. */
  mounts: { packageId: string; path: string }[];
}

export type Step =
  | { kind: 'abort-install'; id: string }
  | { kind: 'finish-remove'; id: string }
  | { kind: 'roll-back-update'; id: string }
  | { kind: 'create-container'; id: string }
  | { kind: 'start'; id: string; after: 'crash' | 'start-up' | 'desired' }
  | { kind: 'stop'; id: string }
  | { kind: 'wait'; id: string; until: number }
  | { kind: 'crash-loop'; id: string; crashes: number }
  | { kind: 'remove-orphan-container'; name: string }
  | { kind: 'unmount-orphan'; path: string };

export interface PlanInput {
  packages: PackageRecord[];
  observed: Observed;
  /** Packages an operation (install, update, …) is working on right now: hands off. */
  busy: ReadonlySet<string>;
  /** Recent unexpected stops per package, as times (ms). */
  crashes: ReadonlyMap<string, readonly number[]>;
  now: number;
  /** True on the first pass after the daemon started: half-done operations are dead. */
  startUp: boolean;
}

export function plan(input: PlanInput): Step[] {
  const steps: Step[] = [];
  const byName = new Map(input.observed.containers.map((c) => [c.name, c]));
  const known = new Set(input.packages.map((p) => p.id));

  for (const p of inDependencyOrder(input.packages)) {
    if (input.busy.has(p.id)) continue;
    const container = byName.get(containerName(p.id));
    if (p.phase !== 'installed') {
      // Only a dead operation leaves a phase behind; a live one is in `busy`.
      if (!input.startUp) continue;
      if (p.phase === 'installing') steps.push({ kind: 'abort-install', id: p.id });
      else if (p.phase === 'removing') steps.push({ kind: 'finish-remove', id: p.id });
      else steps.push({ kind: 'roll-back-update', id: p.id });
      continue;
    }
    if (!container) {
      steps.push({ kind: 'create-container', id: p.id });
      if (p.desired === 'running') steps.push({ kind: 'start', id: p.id, after: 'start-up' });
      continue;
    }
    if (p.desired === 'stopped' && container.state === 'running') {
      steps.push({ kind: 'stop', id: p.id });
    } else if (p.desired === 'stopped' && input.startUp) {
      // A stop that a crash cut short can leave the stopped container's root mounted;
      // stopping again is harmless and takes those mounts down.
      steps.push({ kind: 'stop', id: p.id });
    } else if (p.desired === 'running' && container.state === 'stopped') {
      steps.push(...restart(p.id, input));
    }
  }

  for (const c of input.observed.containers) {
    // Containers Hearth did not create are listed as `ignored` and never touched.
    if (!isHearthContainer(c.name)) continue;
    const id = c.name.slice(CONTAINER_PREFIX.length);
    if (!known.has(id) && !input.busy.has(id)) steps.push({ kind: 'remove-orphan-container', name: c.name });
  }
  for (const m of input.observed.mounts) {
    if (!known.has(m.packageId) && !input.busy.has(m.packageId))
      steps.push({ kind: 'unmount-orphan', path: m.path });
  }
  return steps;
}

/** Restarts back off: 1 s, 2 s, 4 s … up to 5 min, counting crashes of the last 10 min. */
export const BACKOFF = { baseMs: 1000, maxMs: 300_000, windowMs: 600_000, loopAfter: 5 } as const;

function restart(id: string, input: PlanInput): Step[] {
  if (input.startUp) return [{ kind: 'start', id, after: 'start-up' }];
  const recent = (input.crashes.get(id) ?? []).filter((t) => t > input.now - BACKOFF.windowMs);
  if (recent.length === 0) return [{ kind: 'start', id, after: 'desired' }];
  const last = Math.max(...recent);
  const delay = Math.min(BACKOFF.maxMs, BACKOFF.baseMs * 2 ** (recent.length - 1));
  const steps: Step[] = [];
  if (recent.length >= BACKOFF.loopAfter) steps.push({ kind: 'crash-loop', id, crashes: recent.length });
  steps.push(
    last + delay <= input.now
      ? { kind: 'start', id, after: 'crash' }
      : { kind: 'wait', id, until: last + delay },
  );
  return steps;
}

/** Packages ordered so each comes after those it requires; cycles and strangers do not block. */
function inDependencyOrder(packages: readonly PackageRecord[]): PackageRecord[] {
  const byId = new Map(packages.map((p) => [p.id, p]));
  const seen = new Set<string>();
  const out: PackageRecord[] = [];
  const visit = (p: PackageRecord) => {
    if (seen.has(p.id)) return;
    seen.add(p.id);
    for (const r of p.requires ?? []) {
      const dep = byId.get(r);
      if (dep) visit(dep);
    }
    out.push(p);
  };
  for (const p of packages) visit(p);
  return out;
}
