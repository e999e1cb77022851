import { InvalidParams, NotFound } from '../errors.ts';
import type { Events } from '../events/events.ts';
import type { Tor } from '../host/tor.ts';
import type { Bootstrap } from '../host/tor-control-protocol.ts';
import { Passes } from '../limits/passes.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';
import type { TorState as PublishedTor } from '../state/shape.ts';
import type { StateDocument } from '../state/state-doc.ts';
import { execute } from './executors.ts';
import { desiredOnions, type ExposedInterface, plan, type Step, virtualPort } from './plan.ts';
import { OnionRows } from './rows.ts';

/*
 * Onion services per package interface: the owner turns one on (a row, written first),
 * and the loop — observe, plan, act, as packages/ does — makes tor carry it. Tor itself is
 * started when the first onion is wanted and stopped when the last one goes.
 */

export type TorState = 'off' | 'starting' | 'bootstrapping' | 'ready' | 'failed';

export interface OnionView {
  package: string;
  interface: string;
  address: string;
  enabled: boolean;
  /** Tor carries it now (its descriptor is published once tor is bootstrapped). */
  active: boolean;
  /** The port a client dials at the address. */
  port: number | null;
}

export interface TorStatus {
  state: TorState;
  bootstrap: { progress: number; summary: string; warning?: string } | null;
  /** Why tor last failed to start or stopped by itself. */
  lastError: string | null;
  /** Since when tor has been running without being bootstrapped (ms), for the check. */
  runningSince: number | null;
  onions: OnionView[];
}

export interface TorServiceOptions {
  db: Db;
  tor: Tor;
  /** Every interface of every installed package, with its container's address. */
  interfaces: () => ExposedInterface[];
  state: StateDocument;
  events: Events;
  log: Logger;
  now?: () => number;
}

const BACKOFF_MS = [5_000, 15_000, 60_000, 300_000];

export class TorService {
  readonly rows: OnionRows;
  readonly #o: TorServiceOptions;
  readonly #now: () => number;
  readonly #known = new Map<string, string>();
  #failures = 0;
  #retryAt = 0;
  #lastError: string | null = null;
  #runningSince: number | null = null;
  #bootstrap: Bootstrap | null = null;
  readonly #passes = new Passes(() => this.#pass());

  constructor(o: TorServiceOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.rows = new OnionRows(o.db, this.#now);
  }

  /** Called by the host adapter when tor exits on its own: start again after a backoff. */
  torExited(why: string): void {
    this.#known.clear();
    this.#runningSince = null;
    this.#bootstrap = null;
    this.#fail(`tor ${why}`);
    this.#o.events.record({ kind: 'crashed', detail: { what: 'tor', why } });
    this.publish();
  }

  async enable(pkg: string, iface: string): Promise<OnionView> {
    const i = this.#interface(pkg, iface);
    if (i.protocol === 'udp') {
      throw new InvalidParams(`${pkg}'s interface ${iface} speaks UDP, which Tor does not carry`);
    }
    this.rows.setEnabled(pkg, iface, true);
    // An owner asking again after a failure should not wait out the backoff.
    this.#retryAt = 0;
    await this.reconcile();
    return this.#view(pkg, iface);
  }

  async disable(pkg: string, iface: string): Promise<OnionView> {
    if (!this.rows.find(pkg, iface)) throw new NotFound('onion service of', `${pkg}/${iface}`);
    this.rows.setEnabled(pkg, iface, false);
    await this.reconcile();
    return this.#view(pkg, iface);
  }

  async status(): Promise<TorStatus> {
    await this.#refreshBootstrap();
    return this.#status();
  }

  /** One observe → plan → act pass (two when it had to start tor); passes never overlap. */
  reconcile(): Promise<void> {
    return this.#passes.run();
  }

  async #pass(): Promise<void> {
    try {
      for (let i = 0; i < 2 && !this.#passes.stopped; i++) {
        const steps = await this.#passOnce();
        if (!steps.some((s) => s.kind === 'start-tor')) break;
      }
      await this.#refreshBootstrap();
    } finally {
      this.publish();
    }
  }

  async #passOnce(): Promise<Step[]> {
    const { tor } = this.#o;
    const desired = desiredOnions(this.rows.list(), this.#o.interfaces());
    let onions: string[] = [];
    if (tor.running) {
      try {
        onions = await tor.onions();
      } catch (error) {
        this.#o.log.warn('could not ask tor for its onions', { error });
        return [];
      }
    }
    const observed = {
      running: tor.running,
      mayStart: this.#now() >= this.#retryAt,
      onions: new Map(onions.map((id) => [id, this.#known.get(id)])),
    };
    const steps = plan(desired, observed);
    for (const step of steps) {
      try {
        await execute(step, { tor, known: this.#known });
        if (step.kind === 'start-tor') {
          this.#runningSince = this.#now();
          this.#lastError = null;
        }
        if (step.kind === 'stop-tor') {
          this.#runningSince = null;
          this.#bootstrap = null;
          this.#failures = 0;
        }
        this.#record(step);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        this.#o.log.warn('tor step failed', { step: step.kind, error });
        this.#record(step, message);
        if (step.kind === 'start-tor') this.#fail(message);
        else this.#lastError = message;
        break;
      }
    }
    if (steps.length > 0 && steps.every((s) => s.kind !== 'start-tor')) this.#failures = 0;
    return steps;
  }

  #fail(message: string): void {
    this.#lastError = message;
    const wait = BACKOFF_MS[Math.min(this.#failures, BACKOFF_MS.length - 1)] as number;
    this.#failures++;
    this.#retryAt = this.#now() + wait;
  }

  #record(step: Step, error?: string): void {
    const pkg = 'package' in step ? step.package : null;
    const detail: Record<string, string> = { step: step.kind };
    if ('serviceId' in step) detail['address'] = `${step.serviceId}.onion`;
    if ('interface' in step) detail['interface'] = step.interface;
    if (error !== undefined) detail['message'] = error;
    this.#o.events.record({ package: pkg, kind: error === undefined ? 'reconciled' : 'failed', detail });
  }

  async #refreshBootstrap(): Promise<void> {
    if (!this.#o.tor.running) {
      this.#bootstrap = null;
      return;
    }
    try {
      this.#bootstrap = await this.#o.tor.bootstrap();
    } catch (error) {
      this.#o.log.debug('could not read tor’s bootstrap phase', { error });
    }
  }

  #status(): TorStatus {
    const running = this.#o.tor.running;
    const wanted = this.rows.list().some((r) => r.enabled);
    let state: TorState = 'off';
    if (running) state = (this.#bootstrap?.progress ?? 0) >= 100 ? 'ready' : 'bootstrapping';
    else if (wanted) state = this.#lastError ? 'failed' : 'starting';
    const b = this.#bootstrap;
    return {
      state,
      bootstrap: b
        ? { progress: b.progress, summary: b.summary, ...(b.warning ? { warning: b.warning } : {}) }
        : null,
      lastError: this.#lastError,
      runningSince: running ? this.#runningSince : null,
      onions: this.rows.list().map((r) => this.#viewOf(r.package, r.interface)),
    };
  }

  #interface(pkg: string, iface: string): ExposedInterface {
    const all = this.#o.interfaces();
    if (!all.some((i) => i.package === pkg)) throw new NotFound('package', pkg);
    const i = all.find((x) => x.package === pkg && x.interface === iface);
    if (!i) throw new NotFound(`interface of ${pkg}`, iface, { hint: 'package.get lists its interfaces' });
    return i;
  }

  #view(pkg: string, iface: string): OnionView {
    return this.#viewOf(pkg, iface);
  }

  #viewOf(pkg: string, iface: string): OnionView {
    const row = this.rows.find(pkg, iface);
    if (!row) throw new NotFound('onion service of', `${pkg}/${iface}`);
    const i = this.#o.interfaces().find((x) => x.package === pkg && x.interface === iface);
    const serviceId = row.address.replace(/\.onion$/, '');
    return {
      package: pkg,
      interface: iface,
      address: row.address,
      enabled: row.enabled,
      active: this.#known.has(serviceId),
      port: i ? virtualPort(i.protocol, i.port) : null,
    };
  }

  /** The state document's `/tor`: what the web UI shows. */
  publish(): void {
    const s = this.#status();
    this.#o.state.set(['tor'], {
      state: s.state,
      bootstrap: s.bootstrap,
      lastError: s.lastError,
      onions: Object.fromEntries(
        s.onions.map((o) => [
          `${o.package}/${o.interface}`,
          {
            package: o.package,
            interface: o.interface,
            address: o.address,
            enabled: o.enabled,
            active: o.active,
          },
        ]),
      ),
    } satisfies PublishedTor);
  }

  /** What the check reports: nothing while tor is off or ready. */
  problem(): TorStatus {
    return this.#status();
  }

  async stop(): Promise<void> {
    await this.#passes.stop();
    await this.#o.tor.stop();
  }
}
