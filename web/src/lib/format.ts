/** Sizes and times the way people read them. */

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let x = n;
  let i = 0;
  while (x >= 1000 && i < units.length - 1) {
    x /= 1000;
    i++;
  }
  return i === 0 ? `${x} B` : `${x < 10 ? x.toFixed(1) : Math.round(x)} ${units[i]}`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} days`;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

/** "3 minutes ago", or the date for anything older than a week. */
export function when(ms: number, now = Date.now()): string {
  const s = (ms - now) / 1000;
  const abs = Math.abs(s);
  if (abs < 45) return relative.format(Math.round(s), 'second');
  if (abs < 2700) return relative.format(Math.round(s / 60), 'minute');
  if (abs < 64_800) return relative.format(Math.round(s / 3600), 'hour');
  if (abs < 604_800) return relative.format(Math.round(s / 86400), 'day');
  return new Date(ms).toLocaleDateString();
}

export const dateTime = (ms: number) => new Date(ms).toLocaleString();
