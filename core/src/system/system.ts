import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Unavailable } from '../errors.ts';
import type { HostnameControl } from '../host/hostname.ts';
import type { LogSource } from '../host/logs.ts';
import type { Power } from '../host/power.ts';
import type { Procfs } from '../host/procfs.ts';
import type { Logger } from '../log/log.ts';
import type { Db } from '../state/db.ts';
import type { MetricsSample, MetricsState, ServerState } from '../state/shape.ts';
import type { StateDocument } from '../state/state-doc.ts';
import { COMMIT, VERSION } from '../version.ts';
import {
  type CpuTimes,
  cpuUsagePercent,
  hottestCelsius,
  type LogEntry,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  parseUptime,
} from './parse.ts';

export interface SystemOptions {
  db: Db;
  state: StateDocument;
  procfs: Procfs;
  power: Power;
  logs: LogSource;
  log: Logger;
  dataDir: string;
  /** Development mode: power control is refused. */
  dev: boolean;
  /** The machine's hostname before the owner chose one. */
  defaultHostname: string;
  /** Sets the machine's own name; absent in development (the machine is not ours). */
  hostnameControl?: HostnameControl;
  /** Told after the box's name changed (the certificates follow it). */
  onHostnameChange?: (name: string) => void;
  now?: () => number;
}

export interface Metrics {
  cpu: { usagePercent: number; cores: number; load: [number, number, number] };
  memory: { totalBytes: number; availableBytes: number; usedPercent: number };
  disk: { path: string; totalBytes: number; availableBytes: number; usedPercent: number };
  temperatureCelsius: number | null;
  /** Through the box's own interfaces since the previous reading (0 at the first). */
  network: { rxBytesPerSecond: number; txBytesPerSecond: number };
  /** The daemon's own memory: what `make soak` follows over time. */
  daemon: { rssBytes: number; heapUsedBytes: number; heapTotalBytes: number };
}

function daemonMemory(): Metrics['daemon'] {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, heapTotalBytes: m.heapTotal };
}

/** Samples the history keeps: half an hour at the default 5 s. */
export const HISTORY_SAMPLES = 360;

const ARCH: Record<string, string> = { x64: 'x86_64', arm64: 'arm64' };

/** The box itself: identity, time, health figures, the daemon's log, power. */
export class System {
  readonly #o: SystemOptions & { now: () => number };
  readonly #startedAt: number;
  #lastCpu: { at: number; times: CpuTimes } | undefined;
  #lastNet: { at: number; rxBytes: number; txBytes: number } | undefined;
  /** The newest samples, oldest first, at most HISTORY_SAMPLES. */
  readonly #history: MetricsSample[] = [];
  #intervalMs = 0;
  #metricsTimer: NodeJS.Timeout | undefined;
  #hostname: string | undefined;
  #bootId: Promise<string> | undefined;

  constructor(options: SystemOptions) {
    this.#o = { now: Date.now, ...options };
    this.#startedAt = this.#o.now();
  }

  get hostname(): string {
    if (this.#hostname === undefined) {
      const row = this.#o.db.prepare("SELECT value FROM settings WHERE key = 'hostname'").get() as
        | { value: string }
        | undefined;
      this.#hostname = row ? (JSON.parse(row.value) as string) : this.#o.defaultHostname;
    }
    return this.#hostname;
  }

  /** Stores the box's name (the wizard's choice) and shows it in the state document. */
  setHostname(name: string): void {
    storeHostname(this.#o.db, name);
    this.#hostname = name;
    this.#o.state.set(['server', 'hostname'], name);
    void this.applyHostname();
    this.#o.onHostnameChange?.(name);
  }

  /**
   * Makes the machine's name the box's (so that it is `<name>.local` on the LAN) when they
   * differ: after setup, at every start (setup on a new data drive stores it there and
   * starts the daemon again), and after a factory reset (the default again). A failure is
   * logged, not thrown: the box works under its old name.
   */
  async applyHostname(): Promise<void> {
    const control = this.#o.hostnameControl;
    const name = this.hostname;
    if (!control) {
      this.#o.log.info('the machine keeps its own name (development mode)', { hostname: name });
      return;
    }
    if (os.hostname() === name) return;
    try {
      await control.set(name);
      this.#o.log.info('hostname set', { hostname: name });
    } catch (e) {
      this.#o.log.warn('could not set the machine hostname', {
        hostname: name,
        error: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** The `server` part of the state document. */
  async publishInfo(setupComplete: boolean): Promise<void> {
    const info = await this.info();
    this.#o.state.set(['server'], {
      hostname: info.hostname,
      version: info.version,
      arch: info.arch,
      bootId: info.bootId,
      setupComplete,
      startedAt: this.#startedAt,
    } satisfies ServerState);
  }

  async info() {
    // The boot id cannot change while we run; read it once.
    this.#bootId ??= this.#o.procfs.bootId();
    const [bootId, uptime] = await Promise.all([this.#bootId, this.#o.procfs.uptime()]);
    return {
      version: VERSION,
      commit: COMMIT,
      hostname: this.hostname,
      arch: ARCH[process.arch] ?? process.arch,
      nodeVersion: process.version,
      bootId,
      uptimeSeconds: Math.floor(parseUptime(uptime)),
      daemonUptimeSeconds: Math.floor((this.#o.now() - this.#startedAt) / 1000),
    };
  }

  time() {
    const now = this.#o.now();
    return {
      epochMs: now,
      iso: new Date(now).toISOString(),
      timeZone: Intl.DateTimeFormat().resolvedOptions().timeZone,
    };
  }

  async metrics(): Promise<Metrics> {
    const p = this.#o.procfs;
    const [cpuUsage, meminfo, loadavg, zones, disk, network] = await Promise.all([
      this.#cpuUsage(),
      p.meminfo(),
      p.loadavg(),
      p.thermalZones(),
      p.statfs(this.#o.dataDir),
      this.#networkRate(),
    ]);
    const mem = parseMeminfo(meminfo);
    const pct = (used: number, total: number) => (total === 0 ? 0 : Math.round((1000 * used) / total) / 10);
    return {
      cpu: { usagePercent: cpuUsage, cores: os.availableParallelism(), load: parseLoadavg(loadavg) },
      memory: { ...mem, usedPercent: pct(mem.totalBytes - mem.availableBytes, mem.totalBytes) },
      disk: {
        path: this.#o.dataDir,
        totalBytes: disk.totalBytes,
        availableBytes: disk.availableBytes,
        usedPercent: pct(disk.totalBytes - disk.freeBytes, disk.totalBytes),
      },
      temperatureCelsius: hottestCelsius(zones),
      network,
      daemon: daemonMemory(),
    };
  }

  /** The samples of the last half hour, oldest first: a chart has data the moment it opens. */
  history(): { intervalSeconds: number; samples: MetricsSample[] } {
    return { intervalSeconds: this.#intervalMs / 1000, samples: [...this.#history] };
  }

  /** Keeps `/metrics` in the state document fresh. */
  startMetrics(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.#intervalMs = intervalMs;
    const tick = async () => {
      try {
        const m = await this.metrics();
        const sample: MetricsSample = {
          at: this.#o.now(),
          cpuPercent: m.cpu.usagePercent,
          memoryPercent: m.memory.usedPercent,
          diskPercent: m.disk.usedPercent,
          temperatureCelsius: m.temperatureCelsius,
          rxBytesPerSecond: m.network.rxBytesPerSecond,
          txBytesPerSecond: m.network.txBytesPerSecond,
        };
        this.#history.push(sample);
        if (this.#history.length > HISTORY_SAMPLES) this.#history.shift();
        this.#o.state.set(['metrics'], { ...sample } satisfies MetricsState);
      } catch (error) {
        this.#o.log.warn('could not read metrics', { error });
      }
    };
    void tick();
    this.#metricsTimer = setInterval(tick, intervalMs);
    this.#metricsTimer.unref();
  }

  stop(): void {
    clearInterval(this.#metricsTimer);
  }

  get logSource(): LogSource['kind'] {
    return this.#o.logs.kind;
  }

  logs(lines: number): Promise<LogEntry[]> {
    return this.#o.logs.tail(lines);
  }

  followLogs(signal: AbortSignal): AsyncIterable<LogEntry> {
    return this.#o.logs.follow(signal);
  }

  async shutdown(): Promise<void> {
    this.#refuseInDev('power off');
    this.#o.log.warn('powering off on request');
    await this.#o.power.powerOff();
  }

  async restart(): Promise<void> {
    this.#refuseInDev('reboot');
    this.#o.log.warn('rebooting on request');
    await this.#o.power.reboot();
  }

  #refuseInDev(what: string) {
    if (this.#o.dev) {
      throw new Unavailable(`this daemon runs in development mode and will not ${what} the machine`, {
        hint: 'on a real box (without --dev) this works',
      });
    }
  }

  async #networkRate(): Promise<Metrics['network']> {
    const now = this.#o.now();
    const { rxBytes, txBytes } = parseNetDev(await this.#o.procfs.netDev().catch(() => ''));
    const before = this.#lastNet;
    this.#lastNet = { at: now, rxBytes, txBytes };
    const seconds = before ? (now - before.at) / 1000 : 0;
    // A counter that went back (an interface gone) says nothing about this interval.
    if (!before || seconds <= 0 || rxBytes < before.rxBytes || txBytes < before.txBytes) {
      return { rxBytesPerSecond: 0, txBytesPerSecond: 0 };
    }
    return {
      rxBytesPerSecond: Math.round((rxBytes - before.rxBytes) / seconds),
      txBytesPerSecond: Math.round((txBytes - before.txBytes) / seconds),
    };
  }

  async #cpuUsage(): Promise<number> {
    const sample = async () => ({ at: this.#o.now(), times: parseProcStat(await this.#o.procfs.stat()) });
    let before = this.#lastCpu;
    // Two samples closer than this say little; take a fresh pair.
    if (!before || this.#o.now() - before.at < 200) {
      before = await sample();
      await sleep(200);
    }
    const after = await sample();
    this.#lastCpu = after;
    return cpuUsagePercent(before.times, after.times);
  }
}

/** Writes the box's name into a database (the box's, or the data drive's before it is). */
export function storeHostname(db: Db, name: string): void {
  db.prepare(
    "INSERT INTO settings (key, value) VALUES ('hostname', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  ).run(JSON.stringify(name));
}
