import type { Events } from '../events/events.ts';
import type { LanProxy } from '../host/lan-proxy.ts';
import { Passes } from '../limits/passes.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';
import { execute } from './executors.ts';
import { type LanInterface, type ListenerMode, modeOf, type PortRange, plan, type Step } from './plan.ts';
import { PortRows } from './rows.ts';

/*
 * Every package interface at a port of its own on the LAN: the loop — observe, plan, act,
 * as packages/ does — gives each new interface a port (a row, written first) and keeps a
 * listener open on it for as long as its package is installed.
 */

export interface LanPortsOptions {
  db: Db;
  proxy: LanProxy;
  /** Every interface of every installed package, with its container's address. */
  interfaces: () => LanInterface[];
  range: PortRange;
  events: Events;
  log: Logger;
  now?: () => number;
}

export interface LanPortView {
  package: string;
  interface: string;
  name: string;
  protocol: LanInterface['protocol'];
  port: number;
  mode: ListenerMode;
  /** The listener is open now. */
  open: boolean;
  /** Why it is not, when opening it failed. */
  problem: string | null;
  target: { host: string; port: number };
}

export class LanPorts {
  readonly rows: PortRows;
  readonly #o: LanPortsOptions;
  readonly #problems = new Map<number, string>();
  readonly #passes = new Passes(() => this.#passOnce());

  constructor(o: LanPortsOptions) {
    this.#o = o;
    this.rows = new PortRows(o.db, o.now);
  }

  /** One observe → plan → act pass; passes never overlap (a call during one runs another after it). */
  reconcile(): Promise<void> {
    return this.#passes.run();
  }

  async #passOnce(): Promise<void> {
    const { proxy } = this.#o;
    const interfaces = this.#o.interfaces();
    const observed = proxy.listening();
    // A port that failed to open is kept out of new assignments (its own row keeps it).
    const steps = plan(this.rows.list(), interfaces, this.#o.range, observed, new Set(this.#problems.keys()));
    for (const step of steps) {
      try {
        await execute(step, { rows: this.rows, proxy });
        if (step.kind === 'open') this.#problems.delete(step.spec.port);
        if (step.kind !== 'retarget') this.#record(step);
      } catch (error) {
        const message = describeError(error);
        const port = step.kind === 'open' ? step.spec.port : undefined;
        if (port !== undefined) {
          // Once per cause: a taken port is tried again each pass without filling the log.
          if (this.#problems.get(port) !== message) {
            this.#o.log.warn('LAN port step failed', { step: step.kind, port, error });
            this.#record(step, message);
          }
          this.#problems.set(port, message);
          continue;
        }
        this.#o.log.warn('LAN port step failed', { step: step.kind, error });
        this.#record(step, message);
      }
    }
  }

  #record(step: Step, error?: string): void {
    const s = step.kind === 'open' || step.kind === 'retarget' ? step.spec : step;
    const pkg = 'package' in s ? s.package : null;
    const detail: Record<string, string | number> = { step: step.kind, port: s.port };
    if ('interface' in s) detail['interface'] = s.interface;
    if (error !== undefined) detail['message'] = error;
    this.#o.events.record({ package: pkg, kind: error === undefined ? 'reconciled' : 'failed', detail });
  }

  /** Every installed interface with its port, whether its listener is open, and why not. */
  list(): LanPortView[] {
    const open = this.#o.proxy.listening();
    const byKey = new Map(this.#o.interfaces().map((i) => [`${i.package}\0${i.interface}`, i]));
    return this.rows.list().flatMap((r) => {
      const i = byKey.get(`${r.package}\0${r.interface}`);
      const mode = i && modeOf(i.protocol, i.tls);
      if (!i || !mode) return [];
      return [
        {
          package: r.package,
          interface: r.interface,
          name: i.name ?? r.interface,
          protocol: i.protocol,
          port: r.port,
          mode,
          open: open.has(r.port),
          problem: this.#problems.get(r.port) ?? null,
          target: { host: i.address, port: i.port },
        },
      ];
    });
  }

  /** The listeners stop; the rows stay, so the next start opens the same ports. */
  async stop(): Promise<void> {
    await this.#passes.stop();
    await this.#o.proxy.stop();
  }
}

function describeError(error: unknown): string {
  const code = (error as { code?: string }).code;
  if (code === 'EADDRINUSE') return 'another program on the box listens on this port';
  if (code === 'EACCES') return 'the daemon may not listen on this port';
  return error instanceof Error ? error.message : String(error);
}
