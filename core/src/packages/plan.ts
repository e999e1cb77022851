import { CONTAINER_PREFIX, containerName, isHearthContainer } from '../host/containers.ts';

/**
 * The packages' planner: from what should be (the packages table, an operation asked for)
 * and what is (the containers and mounts on the host), the steps that make them agree.
 * Pure: every operation's order and every rule of recovery after a crash are tested here
 * without a host (plan.test.ts); executors.ts is the one table that carries steps out.
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
  /** The version the row names (during an update, the new one once it was switched to). */
  version?: string;
  /** During an update: the version before it, to go back to. */
  previousVersion?: string | undefined;
  /** Whether removing it keeps its volumes (an uninstall asked so). */
  keepData?: boolean;
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

/** Why a container is stopped: anything but a step of ours stopping it is a crash. */
export type StopReason = 'desired' | 'restart' | 'update' | 'action' | 'rollback';

/** Why it is started. */
export type StartReason = 'crash' | 'start-up' | 'desired' | 'restart' | 'update';

export type Step =
  // The container.
  | { kind: 'create-container'; id: string }
  | { kind: 'start'; id: string; after: StartReason; migrate?: { from: string; to: string } }
  | { kind: 'stop'; id: string; why: StopReason }
  | { kind: 'destroy-container'; id: string }
  // Waiting, and telling the owner.
  | { kind: 'wait'; id: string; until: number }
  | { kind: 'crash-loop'; id: string; crashes: number }
  // The package's runtime.
  | { kind: 'shutdown-daemons'; id: string }
  | { kind: 'migrate'; id: string; from: string; to: string }
  | { kind: 'run-action-held'; id: string; action: string; input: unknown }
  // Files and the row.
  | { kind: 'unpack'; id: string; version: string }
  | { kind: 'finish-install'; id: string }
  | { kind: 'begin-update'; id: string }
  | { kind: 'snapshot-volumes'; id: string; version: string }
  | { kind: 'switch-version'; id: string; version: string }
  | { kind: 'finish-update'; id: string }
  | { kind: 'unmount-package'; id: string }
  | { kind: 'restore-snapshot'; id: string }
  | { kind: 'drop-writable-layer'; id: string }
  | { kind: 'remove-version'; id: string; version: string }
  | { kind: 'switch-back'; id: string }
  | { kind: 'remove-package'; id: string; keepData: boolean }
  | { kind: 'sweep'; id: string; keep: string }
  // What is ours but belongs to no package.
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

/** The steady state: what the reconcile loop does, at start-up and every few seconds. */
export function plan(input: PlanInput): Step[] {
  const steps: Step[] = [];
  const byName = new Map(input.observed.containers.map((c) => [c.name, c]));
  const known = new Set(input.packages.map((p) => p.id));

  for (const p of inDependencyOrder(input.packages)) {
    if (input.busy.has(p.id)) continue;
    const container = byName.get(containerName(p.id));
    if (p.phase !== 'installed') {
      // Only a dead operation leaves a phase behind; a live one is in `busy`.
      if (input.startUp) steps.push(...recoverFrom(p));
      continue;
    }
    if (input.startUp && p.version) steps.push({ kind: 'sweep', id: p.id, keep: p.version });
    if (!container) {
      steps.push({ kind: 'create-container', id: p.id });
      if (p.desired === 'running') steps.push({ kind: 'start', id: p.id, after: 'start-up' });
      continue;
    }
    if (p.desired === 'stopped' && container.state === 'running') {
      steps.push({ kind: 'stop', id: p.id, why: 'desired' });
    } else if (p.desired === 'stopped' && input.startUp) {
      // A stop that a crash cut short can leave the stopped container's root mounted;
      // stopping again is harmless and takes those mounts down.
      steps.push({ kind: 'stop', id: p.id, why: 'desired' });
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

/**
 * An operation the daemon died in the middle of: an install or an uninstall is finished
 * as a removal, an update goes back to the version before it (then the steady state makes
 * and starts the container as usual).
 */
function recoverFrom(p: PackageRecord): Step[] {
  if (p.phase === 'updating') {
    const back = p.previousVersion ?? p.version ?? '';
    return [
      ...planRollBack({ id: p.id, version: p.version ?? back, previousVersion: back }),
      { kind: 'sweep', id: p.id, keep: back },
    ];
  }
  return planRemove(p.id, p.keepData ?? false);
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

// --- operations --------------------------------------------------------------
// Each is a change of desired state (the row) and the steps that carry it out; the
// container is then made and started by the steady state like any other.

/** An install recorded as `installing`: its files, then it counts as installed. */
export const planInstall = (id: string, version: string): Step[] => [
  { kind: 'unpack', id, version },
  { kind: 'finish-install', id },
];

/**
 * An update from `from` to `to`. Upwards, the migrations run in the new version's
 * runtime before its daemons start; downwards only the newer version knows how to undo
 * them, so they run in the runtime there now, its daemons stopped, after the snapshot.
 */
export function planUpdate(u: {
  id: string;
  from: string;
  to: string;
  downgrade: boolean;
  desired: Desired;
}): Step[] {
  const { id } = u;
  const before: Step[] = u.downgrade
    ? [
        { kind: 'shutdown-daemons', id },
        { kind: 'snapshot-volumes', id, version: u.from },
        { kind: 'migrate', id, from: u.from, to: u.to },
        { kind: 'stop', id, why: 'update' },
        { kind: 'destroy-container', id },
      ]
    : [
        { kind: 'stop', id, why: 'update' },
        { kind: 'destroy-container', id },
        { kind: 'snapshot-volumes', id, version: u.from },
      ];
  return [
    { kind: 'begin-update', id },
    ...before,
    { kind: 'unpack', id, version: u.to },
    { kind: 'switch-version', id, version: u.to },
    { kind: 'create-container', id },
    // Upwards the start waits for the new runtime to register and migrate: a version
    // whose runtime never comes up fails the update (and is rolled back).
    { kind: 'start', id, after: 'update', ...(u.downgrade ? {} : { migrate: { from: u.from, to: u.to } }) },
    ...(u.desired === 'stopped' ? [{ kind: 'stop', id, why: 'desired' } as const] : []),
    { kind: 'finish-update', id },
  ];
}

/**
 * Back to the version before an update: the new container goes, the volumes come back
 * from the snapshot (if the update got that far), the writable layer and the new
 * version's files go, and the row says the old version again.
 */
export const planRollBack = (r: { id: string; version: string; previousVersion: string }): Step[] => [
  { kind: 'stop', id: r.id, why: 'rollback' },
  { kind: 'destroy-container', id: r.id },
  { kind: 'unmount-package', id: r.id },
  { kind: 'restore-snapshot', id: r.id },
  { kind: 'drop-writable-layer', id: r.id },
  ...(r.version !== r.previousVersion
    ? [{ kind: 'remove-version', id: r.id, version: r.version } as const]
    : []),
  { kind: 'switch-back', id: r.id },
];

/** An uninstall (or what an install cut short left): the container, the files, the row. */
export const planRemove = (id: string, keepData: boolean): Step[] => [
  { kind: 'destroy-container', id },
  { kind: 'remove-package', id, keepData },
];

/** A restart asked for: a stop of ours (not a crash), then a start. */
export const planRestart = (id: string, running: boolean): Step[] => [
  ...(running ? [{ kind: 'stop', id, why: 'restart' } as const] : []),
  { kind: 'start', id, after: 'restart' },
];

/**
 * An action of a stopped package: its container starts with the daemons held, the
 * runtime runs the action, and the container stops again (whatever the action did).
 */
export const planActionWhileStopped = (id: string, action: string, input: unknown) => ({
  steps: [{ kind: 'run-action-held', id, action, input }] as Step[],
  always: [{ kind: 'stop', id, why: 'action' }] as Step[],
});

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
