import { NotFound, Unavailable } from '../errors.ts';
import { containerName, type Lxc } from '../host/containers.ts';
import { followFile } from '../host/logs.ts';
import type { PackageFiles } from '../host/package-files.ts';
import type { Json } from '../state/json-patch.ts';
import type { StateDocument } from '../state/state-doc.ts';
import { addressForSlot } from './checks.ts';
import { overallHealth, type PackageView } from './effects-host.ts';
import { BACKOFF, type Desired } from './plan.ts';
import type { PackageStatus, Reconciler } from './reconciler.ts';
import type { InstalledPackage, PackageRows } from './rows.ts';

/** A package not as it should be (Packages.drift). */
export interface Drift {
  id: string;
  title: string;
  desired: Desired;
  status: PackageStatus;
  health: ReturnType<typeof overallHealth>;
  /** In words: "should be running but is stopped". */
  problem: string;
}

/**
 * What the box tells about its packages: summaries and details for the API, the view a
 * runtime's effects get, where a web UI answers, logs and usage, and each package's entry
 * in the state document. Reads only: operations are in packages.ts.
 */
/** An icon larger than this is not served (the .hpk's own limits are looser). */
const ICON_MAX_BYTES = 512 * 1024;

export interface PackageViewsOptions {
  rows: PackageRows;
  loop: Reconciler;
  files: PackageFiles;
  lxc: Lxc;
  state: StateDocument;
  subnet: string;
}

export class PackageViews {
  readonly #o: PackageViewsOptions;

  constructor(options: PackageViewsOptions) {
    this.#o = options;
  }

  /** What the effects of a package's runtime may see of a package. */
  view(id: string): PackageView | undefined {
    const pkg = this.#o.rows.find(id);
    if (!pkg) return undefined;
    return {
      id,
      version: pkg.version,
      manifest: pkg.manifest,
      address: this.address(pkg),
      status: this.status(pkg),
    };
  }

  /** Where a running package's web UI answers: its first `ui` interface over http (the box's `/app/<id>/`). */
  appTarget(id: string): { host: string; port: number } {
    const pkg = this.#o.rows.get(id);
    const ui = pkg.manifest.interfaces.find((i) => i.kind === 'ui' && i.protocol === 'http');
    if (!ui) throw new NotFound('web UI of package', id, { hint: 'package.get lists its interfaces' });
    const status = this.status(pkg);
    if (status !== 'running') {
      throw new Unavailable(`${id} is ${status}`, { hint: `start it: hearth package start --id ${id}` });
    }
    return { host: this.address(pkg), port: ui.port };
  }

  summaryOf(pkg: InstalledPackage) {
    return {
      id: pkg.id,
      version: pkg.version,
      title: pkg.manifest.title,
      status: this.status(pkg),
      desired: pkg.desired,
      address: this.address(pkg),
      signer: pkg.signer,
      installedAt: pkg.installedAt,
    };
  }

  summaries() {
    return this.#o.rows.list().map((p) => this.summaryOf(p));
  }

  details(id: string) {
    const pkg = this.#o.rows.get(id);
    return {
      ...this.summaryOf(pkg),
      manifest: pkg.manifest,
      health: (this.#o.state.get('packages', id, 'health') ?? {}) as unknown,
    };
  }

  /**
   * Where the packages are not as they should be: a container not doing what its package
   * should (running, stopped), an operation unfinished, a failing health check.
   */
  drift(): Drift[] {
    return this.#o.rows.list().flatMap((pkg): Drift[] => {
      const status = this.status(pkg);
      const health = overallHealth(this.#o.state, pkg.id);
      const want = pkg.desired === 'running' ? 'running' : 'stopped';
      const problem =
        pkg.phase !== 'installed'
          ? `${pkg.phase} has not finished`
          : status !== want
            ? `should be ${want} but is ${status}`
            : health === 'unhealthy'
              ? 'a health check is failing'
              : undefined;
      return problem === undefined
        ? []
        : [{ id: pkg.id, title: pkg.manifest.title, desired: pkg.desired, status, health, problem }];
    });
  }

  /** Packages in a crash loop now: crashed as often in the window as makes the loop back off. */
  crashLoops(now: number): { id: string; title: string; crashes: number }[] {
    return this.#o.rows.list().flatMap((p) => {
      const crashes = (this.#o.loop.crashes.get(p.id) ?? []).filter((t) => t > now - BACKOFF.windowMs).length;
      return p.desired === 'running' && crashes >= BACKOFF.loopAfter
        ? [{ id: p.id, title: p.manifest.title, crashes }]
        : [];
    });
  }

  status(pkg: InstalledPackage): PackageStatus {
    return this.#o.loop.status(pkg);
  }

  /** The last lines the package's container printed (its runtime and daemons). */
  async logs(id: string, lines: number): Promise<string[]> {
    this.#o.rows.get(id);
    return this.#o.lxc.logs(containerName(id), { lines }).catch(() => []);
  }

  /** New lines of the package's console, as they come. */
  async *followLogs(id: string, signal: AbortSignal): AsyncGenerator<string> {
    this.#o.rows.get(id);
    for await (const line of followFile(this.#o.lxc.consoleLogFile(containerName(id)), signal)) {
      yield line.replace(/\r$/, '');
    }
  }

  async stats(id: string) {
    this.#o.rows.get(id);
    const info = await this.#o.lxc.info(containerName(id)).catch(() => undefined);
    return {
      running: info?.state === 'RUNNING',
      cpuSeconds: info?.cpuNs == null ? null : info.cpuNs / 1e9,
      memoryBytes: info?.memoryBytes ?? null,
      memoryLimitBytes: info?.memoryLimitBytes ?? null,
      diskBytes: await this.#o.files.diskUsage(id),
    };
  }

  /** The JSON Schema of an installed package's action input, if there is such a package and action. */
  actionInputSchema(id: unknown, actionId: unknown): Record<string, unknown> | undefined {
    if (typeof id !== 'string' || typeof actionId !== 'string') return undefined;
    return this.#o.rows.find(id)?.manifest.actions.find((a) => a.id === actionId)?.input;
  }

  /** The package's own icon (from its .hpk), for the web UI's tiles; undefined without one. */
  async icon(id: string): Promise<{ type: string; body: Buffer; version: string } | undefined> {
    const pkg = this.#o.rows.find(id);
    if (!pkg || pkg.phase === 'installing') return undefined;
    const name = pkg.manifest.icon;
    const body = await this.#o.files.readMember(id, pkg.version, name, ICON_MAX_BYTES);
    if (!body) return undefined;
    return { type: name.endsWith('.svg') ? 'image/svg+xml' : 'image/png', body, version: pkg.version };
  }

  /** The package's row and status into the state document. */
  publish(id: string): void {
    const pkg = this.#o.rows.find(id);
    if (!pkg) return;
    const previous = this.#o.state.get('packages', id) as { health?: Json } | undefined;
    this.#o.state.set(['packages', id], {
      id,
      version: pkg.version,
      title: pkg.manifest.title,
      desired: pkg.desired,
      phase: pkg.phase,
      status: this.status(pkg),
      address: this.address(pkg),
      health: previous?.health ?? {},
    });
  }

  address(pkg: InstalledPackage): string {
    return addressForSlot(this.#o.subnet, pkg.slot);
  }
}
