/*
 * Pure: which custom domains need a certificate now. A domain without one is issued; one
 * whose certificate ends within RENEW_BEFORE_MS is renewed; after a failure the next try
 * waits longer each time (backoff), unless the owner asks (acme.domain.issue).
 */

export const DAY = 86_400_000;
export const RENEW_BEFORE_MS = 30 * DAY;
const FIRST_RETRY_MS = 5 * 60_000;
const LONGEST_RETRY_MS = DAY;

export interface DomainState {
  name: string;
  notAfter: number | null;
  failures: number;
  lastAttempt: number | null;
}

export type Step = { kind: 'issue'; name: string; reason: 'new' | 'renew' | 'asked' };

/** How long after the `failures`-th failure in a row the next try waits: 5 min, doubling, at most a day. */
export function retryDelay(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(FIRST_RETRY_MS * 2 ** Math.min(failures - 1, 20), LONGEST_RETRY_MS);
}

/** When the domain is next due an order: at once without a certificate, else RENEW_BEFORE_MS before its end, and never inside the wait after a failure. */
export function dueAt(d: DomainState): number {
  const due = d.notAfter === null ? 0 : d.notAfter - RENEW_BEFORE_MS;
  const retry = d.lastAttempt === null ? 0 : d.lastAttempt + retryDelay(d.failures);
  return Math.max(due, retry);
}

export function plan(domains: DomainState[], now: number, asked: ReadonlySet<string> = new Set()): Step[] {
  return domains.flatMap((d): Step[] => {
    if (asked.has(d.name)) return [{ kind: 'issue', name: d.name, reason: 'asked' }];
    if (dueAt(d) > now) return [];
    return [{ kind: 'issue', name: d.name, reason: d.notAfter === null ? 'new' : 'renew' }];
  });
}

export type CertificateState = 'pending' | 'valid' | 'renewing' | 'failing' | 'expired';

/** What the owner reads about a domain's certificate. */
export function certificateState(d: DomainState, now: number): CertificateState {
  if (d.notAfter === null) return d.failures > 0 ? 'failing' : 'pending';
  if (d.notAfter <= now) return 'expired';
  if (d.notAfter - RENEW_BEFORE_MS > now) return 'valid';
  return d.failures > 0 ? 'failing' : 'renewing';
}
