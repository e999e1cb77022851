import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';

/** Reads the kernel's views of the machine (/proc, /sys); parsing lives in system/metrics.ts. */
export interface Procfs {
  bootId(): Promise<string>;
  stat(): Promise<string>;
  meminfo(): Promise<string>;
  loadavg(): Promise<string>;
  uptime(): Promise<string>;
  /** /proc/net/dev: bytes and packets per interface. */
  netDev(): Promise<string>;
  /** Millidegrees Celsius from every thermal zone, as the files say them. */
  thermalZones(): Promise<string[]>;
  statfs(dir: string): Promise<{ totalBytes: number; freeBytes: number; availableBytes: number }>;
  /** /proc/<pid>/stat, or undefined when there is no such process. */
  processStat(pid: number): Promise<string | undefined>;
}

export function hostProcfs(proc = '/proc', sys = '/sys'): Procfs {
  const read = (p: string) => fs.readFile(p, 'utf8');
  return {
    bootId: async () => (await read(path.join(proc, 'sys/kernel/random/boot_id'))).trim(),
    stat: () => read(path.join(proc, 'stat')),
    meminfo: () => read(path.join(proc, 'meminfo')),
    loadavg: () => read(path.join(proc, 'loadavg')),
    // Synchronous on purpose: a procfs read never blocks, and the thread pool's round
    // trips cost far more than the read itself.
    uptime: async () => fsSync.readFileSync(path.join(proc, 'uptime'), 'utf8'),
    netDev: async () => fsSync.readFileSync(path.join(proc, 'net/dev'), 'utf8'),
    thermalZones: async () => {
      const dir = path.join(sys, 'class/thermal');
      const zones = (await fs.readdir(dir).catch(() => [])).filter((z) => z.startsWith('thermal_zone'));
      const temps = await Promise.all(zones.map((z) => read(path.join(dir, z, 'temp')).catch(() => '')));
      return temps.filter((t) => t.trim() !== '');
    },
    processStat: (pid) => read(path.join(proc, String(pid), 'stat')).catch(() => undefined),
    statfs: async (dir) => {
      const s = await fs.statfs(dir);
      return {
        totalBytes: s.blocks * s.bsize,
        freeBytes: s.bfree * s.bsize,
        availableBytes: s.bavail * s.bsize,
      };
    },
  };
}
