import type { Check, Draft } from '../checks/checks.ts';
import type { TorStatus } from './tor.ts';

/** How long tor may take to reach the Tor network before the owner hears of it. */
const GRACE_MS = 3 * 60_000;

/**
 * Tor not running, or running without having reached the Tor network: the onion
 * addresses do not answer. Nothing to say while no onion is turned on.
 */
export function torCheck(o: { status: () => TorStatus; now?: () => number; graceMs?: number }): Check {
  const now = o.now ?? Date.now;
  const grace = o.graceMs ?? GRACE_MS;
  return {
    id: 'tor',
    title: 'Tor, for the onion addresses',
    async run(): Promise<Draft[]> {
      const s = o.status();
      const wanted = s.onions.filter((x) => x.enabled).length;
      if (wanted === 0 || s.state === 'ready') return [];
      const what = wanted === 1 ? 'the onion address does' : `the ${wanted} onion addresses do`;
      if (s.state === 'failed' || (s.state === 'starting' && s.lastError)) {
        return [
          {
            subject: 'tor',
            severity: 'error',
            message: `Tor is not running (${s.lastError ?? 'it did not start'}), so ${what} not answer`,
            hint: 'the box starts it again by itself; if this lasts, the daemon’s log (server.logs) has what tor said — is Debian’s tor installed? (apt-get install tor)',
          },
        ];
      }
      if (s.state !== 'bootstrapping' || s.runningSince === null || now() - s.runningSince < grace) return [];
      const b = s.bootstrap;
      const where = b ? ` (${b.progress}%: ${b.summary}${b.warning ? ` — ${b.warning}` : ''})` : '';
      return [
        {
          subject: 'tor',
          severity: 'warning',
          message: `Tor has not connected to the Tor network yet${where}, so ${what} not answer`,
          hint: 'Tor needs the internet and a right clock: check the box’s connection and its time (server.time)',
        },
      ];
    },
  };
}
