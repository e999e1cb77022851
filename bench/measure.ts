// What the bench reads off the kernel and its statistics, shared by run.ts and load.ts.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

// /proc/<pid>/stat counts in clock ticks; USER_HZ is 100 on every Linux we run on.
const TICK_MS = 10;

/** CPU time (ms) a process has used; with `reaped`, plus that of its children it has waited for. */
export function cpuMsOf(pid: number | 'self', reaped = false): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at state: utime, stime,
  // cutime and cstime are fields 14 to 17.
  const [utime, stime, cutime, cstime] = stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .slice(11, 15)
    .map(Number) as [number, number, number, number];
  return (utime + stime + (reaped ? cutime + cstime : 0)) * TICK_MS;
}

/** CPU time (ms) the whole machine has been busy, and what the hypervisor took (steal). */
export function machineCpuMs(): { busy: number; steal: number } {
  const [user, nice, system, , , irq, softirq, steal] = fs
    .readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number) as number[];
  return { busy: (user! + nice! + system! + irq! + softirq!) * TICK_MS, steal: steal! * TICK_MS };
}

export const percentile = (sorted: ArrayLike<number>, p: number): number =>
  sorted.length === 0
    ? Number.NaN
    : sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

export interface Memory {
  /** VmRSS, MiB. */
  rss: number;
  /** RssAnon: the process's private pages, MiB. */
  anon: number;
}

export function memoryOf(pid: number): Memory {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const mib = (field: string) => {
    const kb = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1];
    if (kb === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(kb) / 1024;
  };
  return { rss: mib('VmRSS'), anon: mib('RssAnon') };
}

/**
 * Private_Clean + Private_Dirty from /proc/<pid>/smaps_rollup, MiB: the pages only this
 * process maps (its anonymous memory, and file pages no other process has mapped).
 */
export function privateOf(pid: number): number {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? Number.NaN);
  return (kb('Private_Clean') + kb('Private_Dirty')) / 1024;
}

/**
 * The V8 flags the binary runs with (the SEA's execArgv, build/exec-argv.json): a baseline
 * run on the plain Node gets them too, so that a ratio compares like with like.
 */
export const EXEC_ARGV: string[] = JSON.parse(
  fs.readFileSync(new URL('../build/exec-argv.json', import.meta.url), 'utf8'),
) as string[];

export function median(xs: number[]): number {
  return percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/**
 * Drops the page cache's pages of `file` that no process maps (GNU dd's `iflag=nocache`
 * with `count=0`: POSIX_FADV_DONTNEED over the whole file), so that the next process maps
 * it as a box does after a boot: read in by its page faults. A binary that `make build` has
 * just written is in the page cache as it was written, in large folios, and a process maps
 * a whole folio at a fault: measured, a bare node:http single executable was 65.6 MiB RSS
 * freshly built and 45.9 MiB once its pages were dropped (plain node: 47.6), the daemon
 * 105.7 and 91.3 (ARCHITECTURE.md, "Memory"). Best effort: a failure only leaves it cached.
 */
export function dropCachedPages(file: string): void {
  try {
    execFileSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'], { stdio: 'ignore' });
  } catch {}
}
