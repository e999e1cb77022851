import { HearthError } from '../errors.ts';

/**
 * The container runtime's decisions as pure functions: the order daemons start in, how
 * long a crashed daemon waits before it is started again, and how a health check's
 * status moves and when it runs next. container-runtime.ts only carries them out.
 */

export class DaemonCycle extends HearthError {
  constructor(cycle: string[]) {
    super('daemon_cycle', `the daemons' requires form a cycle: ${cycle.join(' → ')}`, {
      hint: 'remove one of these requires from the manifest',
      data: { cycle },
    });
  }
}

export class UnknownRequirement extends HearthError {
  constructor(daemon: string, requirement: string) {
    super(
      'daemon_unknown_requirement',
      `daemon '${daemon}' requires '${requirement}', which is not declared`,
    );
  }
}

/**
 * Daemons in an order where each comes after everything it requires; among those free
 * to go, declaration order. Refuses a cycle (naming it) and an unknown requirement.
 *
 * @example startOrder([{ id: 'web', requires: ['db'] }, { id: 'db', requires: [] }]) // [db, web]
 */
export function startOrder<D extends { id: string; requires: readonly string[] }>(
  daemons: readonly D[],
): D[] {
  const byId = new Map(daemons.map((d) => [d.id, d]));
  for (const d of daemons) {
    for (const r of d.requires) if (!byId.has(r)) throw new UnknownRequirement(d.id, r);
  }
  const placed = new Set<string>();
  const order: D[] = [];
  while (order.length < daemons.length) {
    const next = daemons.find((d) => !placed.has(d.id) && d.requires.every((r) => placed.has(r)));
    if (!next)
      throw new DaemonCycle(
        findCycle(
          daemons.filter((d) => !placed.has(d.id)),
          byId,
        ),
      );
    placed.add(next.id);
    order.push(next);
  }
  return order;
}

/** Every daemon left has an unplaced requirement: walking those must come back round. */
function findCycle(
  left: readonly { id: string; requires: readonly string[] }[],
  byId: Map<string, { id: string; requires: readonly string[] }>,
): string[] {
  const leftIds = new Set(left.map((d) => d.id));
  const path: string[] = [];
  let at = left[0]!.id;
  while (!path.includes(at)) {
    path.push(at);
    at = byId.get(at)!.requires.find((r) => leftIds.has(r))!;
  }
  return [...path.slice(path.indexOf(at)), at];
}

// --- restarts -------------------------------------------------------------------------

export const RESTART_FIRST_MS = 1000;
export const RESTART_MAX_MS = 30_000;
/** A daemon that stayed up this long counts as healthy again: its next crash waits little. */
export const RESTART_RESET_AFTER_MS = 30_000;

/**
 * How long to wait before starting a daemon that exited unexpectedly: 1 s, 2 s, 4 s, …
 * up to 30 s for a daemon that keeps crashing; back to 1 s once it had run 30 s.
 *
 * @example restartDelay(2, 500) // { failures: 3, delayMs: 4000 }
 */
export function restartDelay(failures: number, uptimeMs: number): { failures: number; delayMs: number } {
  const n = uptimeMs >= RESTART_RESET_AFTER_MS ? 1 : failures + 1;
  return { failures: n, delayMs: Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** (n - 1)) };
}

// --- health checks --------------------------------------------------------------------

export type HealthStatus = 'starting' | 'success' | 'failure';

export interface CheckState {
  status: HealthStatus;
  message: string;
  /** When the check began (or began again): the start of its grace period. */
  startedAt: number;
  /** When the status was last decided. */
  at: number;
}

export interface ProbeOutcome {
  ok: boolean;
  message: string;
}

export interface CheckIntervals {
  startingSeconds: number;
  healthySeconds: number;
}

export function startCheck(now: number): CheckState {
  return { status: 'starting', message: 'waiting for the first result', startedAt: now, at: now };
}

/**
 * The check's state after one probe, and whether its status changed (the host hears of
 * changes only). Before the first success a failing probe keeps it `starting` for
 * `graceMs` (the daemons are still coming up); after that, or once it had succeeded, a
 * failing probe is a `failure`.
 */
export function afterProbe(
  state: CheckState,
  outcome: ProbeOutcome,
  now: number,
  graceMs: number,
): { state: CheckState; changed: boolean } {
  let status: HealthStatus;
  if (outcome.ok) status = 'success';
  else if (state.status === 'starting' && now - state.startedAt < graceMs) status = 'starting';
  else status = 'failure';
  const message =
    status === 'starting' ? `starting (${outcome.message})`.slice(0, 500) : outcome.message.slice(0, 500);
  return { state: { ...state, status, message, at: now }, changed: status !== state.status };
}

/**
 * When a check runs next: every `startingSeconds` until it succeeds, then every
 * `healthySeconds`; a check that failed after succeeding goes back to the quick pace, so
 * a recovery shows as soon as a start would.
 */
export function nextProbeDelay(state: CheckState, intervals: CheckIntervals): number {
  return (state.status === 'success' ? intervals.healthySeconds : intervals.startingSeconds) * 1000;
}

/**
 * How long health checks may fail before they count as failing: the slowest chain of
 * `requires`, each daemon given its whole startTimeoutSeconds, since a check usually
 * needs the last daemon of a chain.
 *
 * @example startingGraceMs([{ id: 'db', requires: [], startTimeoutSeconds: 60 }, { id: 'web', requires: ['db'], startTimeoutSeconds: 30 }]) // 90000
 */
export function startingGraceMs(
  daemons: readonly { id: string; requires: readonly string[]; startTimeoutSeconds: number }[],
): number {
  const chain = new Map<string, number>();
  for (const d of startOrder(daemons)) {
    chain.set(d.id, d.startTimeoutSeconds * 1000 + Math.max(0, ...d.requires.map((r) => chain.get(r)!)));
  }
  return Math.max(0, ...chain.values());
}
