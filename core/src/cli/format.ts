/**
 * Human output of a result: an object as aligned `key  value` lines (nested objects as
 * dotted keys), a list of objects as a table. Times (`…At`, `at`, `time`, `epochMs`) and
 * sizes (`…Bytes`) are shown the way people read them.
 */
export function formatResult(value: unknown): string {
  if (value === undefined || value === null) return '';
  // Log lines (`{ lines: [...] }`, package.logs) read as they were written, one a line.
  if (isLogLines(value)) return value.lines.map((l) => `${l}\n`).join('');
  if (Array.isArray(value)) return formatList(value);
  if (typeof value === 'object') {
    const all = flatten(value as Record<string, unknown>);
    // Lists of records read best as their own tables, after the scalar lines.
    const isTable = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every(isRecord);
    const entries = all.filter(([, v]) => !isTable(v));
    const tables = all.filter(([, v]) => isTable(v));
    const width = Math.max(0, ...entries.map(([k]) => k.length));
    const lines = entries.map(([k, v]) => `${k.padEnd(width)}  ${show(k, v)}\n`).join('');
    return (
      lines + tables.map(([k, v]) => `${lines ? '\n' : ''}${k}:\n${formatList(v as unknown[])}`).join('')
    );
  }
  return `${String(value)}\n`;
}

function formatList(list: unknown[]): string {
  if (list.length === 0) return '(none)\n';
  if (!list.every(isRecord)) {
    return `${list.map((v) => show('', v)).join('\n')}\n`;
  }
  const rows = list as Record<string, unknown>[];
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => (c in r ? show(c, r[c]) : '')));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => (i === vals.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')}\n`;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function flatten(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(obj).flatMap(([k, v]) => {
    const key = prefix ? `${prefix}.${k}` : k;
    return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0
      ? flatten(v as Record<string, unknown>, key)
      : [[key, v] as [string, unknown]];
  });
}

const TIME_KEY = /(At|^at|\.at|time|epochMs)$/;
const BYTES_KEY = /Bytes$/;

function show(key: string, v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number' && TIME_KEY.test(key) && v > 1e11) return new Date(v).toISOString();
  if (typeof v === 'number' && BYTES_KEY.test(key)) return humanBytes(v);
  if (typeof v === 'number' && !Number.isInteger(v)) return String(Math.round(v * 100) / 100);
  if (typeof v === 'string') return v;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let x = n;
  while (Math.abs(x) >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${x} B` : `${x.toFixed(1)} ${units[i]}`;
}

function isLogLines(v: unknown): v is { lines: string[] } {
  if (!isRecord(v) || !Array.isArray(v['lines'])) return false;
  return (
    Object.keys(v).every((k) => k === 'lines' || k === 'stream') &&
    (v['lines'] as unknown[]).every((l) => typeof l === 'string')
  );
}
