import { LOG_LEVELS, type LogLevel, levelOfPriority } from '../log/log.ts';

/** Cumulative CPU jiffies from the first line of /proc/stat. */
export interface CpuTimes {
  idle: number;
  total: number;
}

export function parseProcStat(text: string): CpuTimes {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest times are already in user/nice)
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = v;
  return { idle: idle + iowait, total: user + nice + system + idle + iowait + irq + softirq + steal };
}

/** Busy share of the CPU between two samples, 0–100. */
export function cpuUsagePercent(a: CpuTimes, b: CpuTimes): number {
  const total = b.total - a.total;
  if (total <= 0) return 0;
  return Math.round((1000 * (total - (b.idle - a.idle))) / total) / 10;
}

export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } {
  const kib = (key: string) => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    if (!m) throw new Error(`no ${key} in /proc/meminfo`);
    return Number(m[1]) * 1024;
  };
  return { totalBytes: kib('MemTotal'), availableBytes: kib('MemAvailable') };
}

export function parseLoadavg(text: string): [number, number, number] {
  const [a = 0, b = 0, c = 0] = text.trim().split(/\s+/).slice(0, 3).map(Number);
  return [a, b, c];
}

export const parseUptime = (text: string): number => Number(text.trim().split(/\s+/)[0]);

/** The hottest thermal zone in °C, or null where the machine has no sensor. */
export function hottestCelsius(zones: string[]): number | null {
  const temps = zones
    .map((t) => Number(t.trim()) / 1000)
    .filter((t) => Number.isFinite(t) && t > -50 && t < 200);
  return temps.length === 0 ? null : Math.max(...temps);
}

/**
 * Bytes received and sent in total by the box's own interfaces, from /proc/net/dev: not
 * loopback, nor the containers' veths and bridge, whose traffic the uplink also counts.
 */
export function parseNetDev(text: string): { rxBytes: number; txBytes: number } {
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo' || /^(veth|hearth|hts|lxcbr|docker|virbr)/.test(name)) continue;
    const f = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    if (f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    rxBytes += f[0]!;
    txBytes += f[8]!;
  }
  return { rxBytes, txBytes };
}

export interface LogEntry {
  time: number;
  level: LogLevel;
  scope: string;
  message: string;
}

/** One line of `journalctl -o json`; MESSAGE may be a byte array when not UTF-8. */
export function parseJournalLine(line: string): LogEntry | undefined {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const raw = j['MESSAGE'];
  const text = Array.isArray(raw) ? Buffer.from(raw as number[]).toString('utf8') : String(raw ?? '');
  const { scope, message } = splitScope(text);
  return {
    time: Math.floor(Number(j['__REALTIME_TIMESTAMP']) / 1000),
    level: levelOfPriority(Number(j['PRIORITY'] ?? 6)),
    scope,
    message,
  };
}

/** One line of the daemon's own JSON-lines log file. */
export function parseLogFileLine(line: string): LogEntry | undefined {
  try {
    const r = JSON.parse(line) as {
      time: number;
      level: LogLevel;
      scope: string;
      msg: string;
      fields?: object;
    };
    if (typeof r.time !== 'number' || !LOG_LEVELS.includes(r.level)) return undefined;
    const fields = r.fields
      ? Object.entries(r.fields)
          .map(([k, v]) => ` ${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join('')
      : '';
    return { time: r.time, level: r.level, scope: r.scope ?? '', message: `${r.msg}${fields}` };
  } catch {
    return undefined;
  }
}

function splitScope(text: string): { scope: string; message: string } {
  const m = /^([a-z][\w.-]*): (.*)$/s.exec(text);
  return m ? { scope: m[1]!, message: m[2]! } : { scope: '', message: text };
}
