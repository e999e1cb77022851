import type { Checks, Finding } from '../checks/checks.ts';
import type { Events, HearthEvent } from '../events/events.ts';
import { CONTAINER_PREFIX, type Lxc } from '../host/containers.ts';
import type { Drift, Packages } from '../packages/packages.ts';

export interface ServerStatus {
  /** ok: nothing to do; attention: warnings only; trouble: something is broken. */
  summary: 'ok' | 'attention' | 'trouble';
  /** The summary in a sentence. */
  headline: string;
  packages: { installed: number; running: number };
  /** Packages not as they should be. */
  drift: Drift[];
  crashLoops: { id: string; title: string; crashes: number }[];
  /** What the checks found, errors first. */
  findings: Finding[];
  /** The newest events, newest first. */
  recentEvents: HearthEvent[];
  at: number;
}

export interface ContainerRow {
  name: string;
  /** The package it runs; null for a container Hearth did not create. */
  package: string | null;
  state: string;
  /** Not Hearth's: shown, never touched. */
  ignored: boolean;
  lxcPath: string;
  ipv4: string[];
  pid: number | null;
  uptimeSeconds: number | null;
  memoryBytes: number | null;
  memoryLimitBytes: number | null;
  cpuSeconds: number | null;
}

export interface StatusOptions {
  packages: Pick<Packages, 'list' | 'status' | 'drift' | 'crashLoops'>;
  checks: Pick<Checks, 'findings'>;
  events: Pick<Events, 'list'>;
  lxc: Pick<Lxc, 'list' | 'info'>;
  /** /proc/<pid>/stat and /proc/uptime, for how long a container's init has run. */
  processStat: (pid: number) => Promise<string | undefined>;
  uptime: () => Promise<string>;
  now?: () => number;
}

/** How many seconds ago a process started, from its /proc/<pid>/stat and /proc/uptime. */
export function processAgeSeconds(stat: string, uptime: string): number | null {
  // The command (field 2) may hold spaces and parentheses: fields are counted after its ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // starttime is field 22 of stat, the 20th after the command; in USER_HZ (100 on Linux).
  const startTicks = Number(fields[19]);
  const up = Number.parseFloat(uptime);
  if (!Number.isFinite(startTicks) || !Number.isFinite(up)) return null;
  return Math.max(0, Math.round(up - startTicks / 100));
}

/**
 * What the operator looks at: `server.status` (what needs worrying about: drift, crash
 * loops, failing checks, recent events) and `server.ps` (every container on the box now).
 * The CLI (`hearth status`, `hearth ps`), the web UI and MCP all show these.
 */
export class BoxStatus {
  readonly #o: StatusOptions & { now: () => number };

  constructor(options: StatusOptions) {
    this.#o = { now: Date.now, ...options };
  }

  status(recent = 20): ServerStatus {
    const { packages, checks, events } = this.#o;
    const installed = packages.list();
    const drift = packages.drift();
    const crashLoops = packages.crashLoops();
    const findings = checks.findings();
    const errors =
      findings.filter((f) => f.severity === 'error').length +
      drift.length +
      crashLoops.filter((l) => !findings.some((f) => f.check === 'crash-loop' && f.subject === l.id)).length;
    const warnings = findings.filter((f) => f.severity === 'warning').length;
    const summary = errors > 0 ? 'trouble' : warnings > 0 ? 'attention' : 'ok';
    const things = (n: number) => `${n} thing${n === 1 ? '' : 's'}`;
    return {
      summary,
      headline:
        summary === 'ok'
          ? 'All is well.'
          : summary === 'trouble'
            ? `${things(errors)} need${errors === 1 ? 's' : ''} attention${warnings ? `, ${warnings} more worth a look` : ''}.`
            : `${things(warnings)} worth a look.`,
      packages: {
        installed: installed.length,
        running: installed.filter((p) => packages.status(p) === 'running').length,
      },
      drift,
      crashLoops,
      findings,
      recentEvents: events.list({ limit: recent }),
      at: this.#o.now(),
    };
  }

  /** Every container on the box, Hearth's and others' (ignored), with what it uses now. */
  async ps(): Promise<ContainerRow[]> {
    const { lxc } = this.#o;
    const uptime = await this.#o.uptime();
    const rows = await Promise.all(
      (await lxc.list({ elsewhere: true })).map(async (c): Promise<ContainerRow> => {
        const running = c.state === 'RUNNING';
        // Others' containers are only listed: no lxc-info, nothing that could touch them.
        const info = running && !c.foreign ? await lxc.info(c.name).catch(() => undefined) : undefined;
        const stat = running && c.pid !== null ? await this.#o.processStat(c.pid) : undefined;
        return {
          name: c.name,
          package: c.foreign ? null : c.name.slice(CONTAINER_PREFIX.length),
          state: c.state.toLowerCase(),
          ignored: c.foreign,
          lxcPath: c.lxcPath,
          ipv4: c.ipv4,
          pid: c.pid,
          uptimeSeconds: stat ? processAgeSeconds(stat, uptime) : null,
          memoryBytes: info?.memoryBytes ?? null,
          memoryLimitBytes: info?.memoryLimitBytes ?? null,
          cpuSeconds: info?.cpuNs == null ? null : info.cpuNs / 1e9,
        };
      }),
    );
    // Hearth's first, then by name.
    return rows.sort((a, b) => Number(a.ignored) - Number(b.ignored) || a.name.localeCompare(b.name));
  }
}
