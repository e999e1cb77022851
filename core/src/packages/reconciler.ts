import path from 'node:path';
import { Conflict, HearthError } from '../errors.ts';
import type { Events } from '../events/events.ts';
import { CONTAINER_PREFIX, type Lxc } from '../host/containers.ts';
import type { Mounts } from '../host/mounts.ts';
import type { Logger } from '../log/log.ts';
import { type Executors, runSteps } from './executors.ts';
import { type Observed, plan, type Step } from './plan.ts';
import type { InstalledPackage, PackageRows } from './rows.ts';

export type PackageStatus = InstalledPackage['phase'] | 'running' | 'starting' | 'stopping' | 'stopped';

export interface ReconcilerOptions {
  rows: PackageRows;
  lxc: Lxc;
  mounts: Mounts;
  packagesDir: string;
  events: Events;
  log: Logger;
  now: () => number;
}

/**
 * The packages' loop: observe the containers and mounts, plan against the packages table
 * (plan.ts), carry the steps out (executors.ts). It also keeps what is known between
 * passes: which packages an operation holds (the planner keeps off them), what the last
 * look saw of each container, what a step did since, and the crashes — a container that
 * stopped while it should run, with no step of ours stopping it.
 */
export class Reconciler {
  readonly #o: ReconcilerOptions;
  #table: Executors | undefined;
  /** Packages an operation is working on: the planner keeps off them. */
  readonly busy = new Set<string>();
  /** Recent unexpected stops per package (ms). */
  readonly crashes = new Map<string, number[]>();
  /** What the last pass saw of each of our containers. */
  #observed = new Map<string, 'running' | 'stopped'>();
  // When a step last said what it did to a container, so a look at LXC begun before
  // that cannot undo it.
  readonly #seenAt = new Map<string, number>();
  #tick = 0;
  #passing: Promise<Map<string, unknown>> | undefined;

  constructor(options: ReconcilerOptions) {
    this.#o = options;
  }

  /** The executor table (made after this, as its steps report back here). */
  set table(table: Executors) {
    this.#table = table;
  }

  /** Runs steps through the table. */
  run(steps: readonly Step[]): Promise<unknown[]> {
    if (!this.#table) throw new Error('the reconciler has no executors yet');
    return runSteps(this.#table, steps, this.#o.log);
  }

  /** Runs `work` holding package `id`: one operation at a time, and no reconcile step on it. */
  async hold<T>(id: string, work: () => Promise<T>): Promise<T> {
    if (this.busy.has(id)) {
      throw new Conflict(`${id} is busy with another operation`, { hint: 'try again in a moment' });
    }
    this.busy.add(id);
    try {
      return await work();
    } finally {
      this.busy.delete(id);
    }
  }

  /**
   * One word for where a package is: an operation's phase, or what its container does
   * against what it should do.
   */
  status(pkg: InstalledPackage): PackageStatus {
    if (pkg.phase !== 'installed') return pkg.phase;
    const seen = this.#observed.get(pkg.id);
    if (pkg.desired === 'running')
      return seen === 'running' ? 'running' : this.busy.has(pkg.id) ? 'starting' : 'stopped';
    return seen === 'running' ? 'stopping' : 'stopped';
  }

  /** What a step did to a container: the status reads this until LXC is asked again. */
  see(id: string, state: 'running' | 'stopped'): void {
    this.#observed.set(id, state);
    this.#seenAt.set(id, ++this.#tick);
  }

  forget(id: string): void {
    this.crashes.delete(id);
    this.#observed.delete(id);
  }

  /** Resolves when no pass is running (for a clean stop). */
  async idle(): Promise<void> {
    await this.#passing?.catch(() => {});
  }

  /**
   * One pass: observe, plan, act. Passes never overlap; a pass asked for while one runs
   * waits for it and then runs again. Answers the first error of each package's steps.
   */
  pass(options: { startUp?: boolean } = {}): Promise<Map<string, unknown>> {
    const previous = this.#passing;
    const pass = (async () => {
      await previous?.catch(() => {});
      const steps = plan({
        packages: this.#o.rows.list().map((p) => ({
          id: p.id,
          desired: p.desired,
          phase: p.phase,
          version: p.version,
          previousVersion: this.#o.rows.previousOf(p.id)?.version,
          keepData: this.#o.rows.keepsData(p.id),
          requires: p.manifest.dependencies.filter((d) => d.requireRunning).map((d) => d.id),
        })),
        observed: await this.#observe(),
        busy: this.busy,
        crashes: this.crashes,
        now: this.#o.now(),
        startUp: options.startUp ?? false,
      });
      const failed = new Map<string, unknown>();
      for (const step of steps) {
        const id = 'id' in step ? step.id : undefined;
        // A package whose step failed gets no more steps this pass (the next pass plans anew).
        if (id !== undefined && failed.has(id)) continue;
        try {
          if (step.kind !== 'wait') this.#o.log.info('reconcile', { step: step.kind, id });
          // Held like an operation: one that begins meanwhile waits its turn or is refused.
          await (id === undefined ? this.run([step]) : this.hold(id, () => this.run([step])));
          if (step.kind !== 'wait' && step.kind !== 'crash-loop') this.#event(step);
        } catch (error) {
          this.#o.log.error('reconcile step failed', { step: step.kind, error });
          this.#event(step, error);
          if (id !== undefined) failed.set(id, error);
        }
      }
      return failed;
    })();
    this.#passing = pass;
    return pass;
  }

  /** A step the loop took by itself (or that failed), as an event of its package. */
  #event(step: Step, error?: unknown): void {
    const { kind, ...rest } = step;
    const detail: Record<string, string | number | boolean> = { step: kind };
    for (const [k, v] of Object.entries(rest)) {
      if (
        k !== 'id' &&
        k !== 'input' &&
        (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      )
        detail[k] = v;
    }
    if (error !== undefined) {
      detail.code = error instanceof HearthError ? error.code : 'internal';
      detail.message = error instanceof Error ? error.message : String(error);
    }
    this.#o.events.record({
      package: 'id' in step ? step.id : null,
      kind: error === undefined ? 'reconciled' : 'failed',
      detail,
    });
  }

  async #observe(): Promise<Observed> {
    const asOf = this.#tick;
    const containers = (await this.#o.lxc.list())
      .filter((c) => !c.foreign)
      .map((c) => ({
        name: c.name,
        state: c.state === 'RUNNING' ? ('running' as const) : ('stopped' as const),
      }));
    const before = this.#observed;
    this.#observed = new Map(containers.map((c) => [c.name.slice(CONTAINER_PREFIX.length), c.state]));
    for (const [id, at] of this.#seenAt) {
      const said = before.get(id);
      if (at > asOf && said) this.#observed.set(id, said);
      else if (at <= asOf) this.#seenAt.delete(id);
    }
    // A container that stopped while it should run, and no step of ours stopped it, crashed.
    for (const p of this.#o.rows.list()) {
      if (
        p.desired === 'running' &&
        !this.busy.has(p.id) &&
        before.get(p.id) === 'running' &&
        this.#observed.get(p.id) === 'stopped'
      ) {
        this.crashes.set(p.id, [...(this.crashes.get(p.id) ?? []), this.#o.now()]);
        this.#o.log.warn('container stopped on its own', { id: p.id });
        this.#o.events.record({ package: p.id, kind: 'crashed', detail: {} });
      }
    }
    const mounts = (await this.#o.mounts.listMounts(this.#o.packagesDir)).flatMap((m) => {
      const id = path.relative(this.#o.packagesDir, m.mountPoint).split(path.sep)[0];
      return id ? [{ packageId: id, path: m.mountPoint }] : [];
    });
    return { containers, mounts };
  }
}
