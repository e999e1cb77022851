import type { Check, Draft } from './checks.ts';

const DAY = 86_400_000;

/**
 * A check for things that expire (TLS certificates): a warning `warnDays` before,
 * an error `errorDays` before and after. The domain that owns them registers one.
 */
export function expiryCheck(o: {
  id: string;
  title: string;
  items: () => Promise<{ subject: string; name: string; notAfter: number; package?: string }[]>;
  /** How it renews, for the hint. */
  renewHint: string;
  warnDays?: number;
  errorDays?: number;
  now?: () => number;
}): Check {
  const warnDays = o.warnDays ?? 21;
  const errorDays = o.errorDays ?? 7;
  const now = o.now ?? Date.now;
  return {
    id: o.id,
    title: o.title,
    async run() {
      const t = now();
      return (await o.items()).flatMap((i): Draft[] => {
        const days = Math.floor((i.notAfter - t) / DAY);
        if (days >= warnDays) return [];
        const when =
          i.notAfter <= t
            ? `expired on ${new Date(i.notAfter).toISOString().slice(0, 10)}`
            : `expires in ${days === 0 ? 'less than a day' : `${days} day${days === 1 ? '' : 's'}`}`;
        return [
          {
            subject: i.subject,
            ...(i.package ? { package: i.package } : {}),
            severity: days < errorDays ? 'error' : 'warning',
            message: `${i.name} ${when}`,
            hint: o.renewHint,
          },
        ];
      });
    },
  };
}

/**
 * A check for jobs that must succeed every so often (backups): a warning when the last
 * success is older than its interval and a grace, an error at three intervals.
 */
export function overdueCheck(o: {
  id: string;
  title: string;
  items: () => Promise<
    {
      subject: string;
      name: string;
      lastSuccess: number | null;
      everyMs: number;
      since: number;
      package?: string;
    }[]
  >;
  hint: string;
  /** Slack before a job counts as late, as a share of its interval; default a quarter. */
  grace?: number;
  now?: () => number;
}): Check {
  const grace = o.grace ?? 0.25;
  const now = o.now ?? Date.now;
  return {
    id: o.id,
    title: o.title,
    async run() {
      const t = now();
      return (await o.items()).flatMap((i): Draft[] => {
        // A job that never ran counts from when it was set up.
        const last = i.lastSuccess ?? i.since;
        const late = t - last;
        if (late <= i.everyMs * (1 + grace)) return [];
        const [n, unit] =
          late >= DAY ? [Math.floor(late / DAY), 'day'] : [Math.floor(late / 3_600_000), 'hour'];
        const ago = `${n} ${unit}${n === 1 ? '' : 's'}`;
        return [
          {
            subject: i.subject,
            ...(i.package ? { package: i.package } : {}),
            severity: late > 3 * i.everyMs ? 'error' : 'warning',
            message:
              i.lastSuccess === null
                ? `${i.name} has not succeeded once in ${ago}`
                : `${i.name} last succeeded ${ago} ago`,
            hint: o.hint,
          },
        ];
      });
    },
  };
}
