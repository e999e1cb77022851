import type { PackageState } from '../../../core/src/state/shape.ts';

export type Overall = 'healthy' | 'unhealthy' | 'starting' | 'none';

/** A package's health checks at a glance: the worst of them. */
export function overall(p: PackageState): Overall {
  const checks = Object.values(p.health ?? {}).filter((h) => h.status !== 'disabled');
  if (checks.length === 0) return 'none';
  if (checks.some((h) => h.status === 'failure')) return 'unhealthy';
  if (checks.some((h) => h.status === 'starting')) return 'starting';
  return 'healthy';
}

export const STATUS_WORDS: Record<string, string> = {
  running: 'Running',
  starting: 'Starting',
  stopping: 'Stopping',
  stopped: 'Stopped',
  installing: 'Installing',
  updating: 'Updating',
  removing: 'Removing',
  installed: 'Installed',
};

export const HEALTH_WORDS: Record<Overall, string> = {
  healthy: 'Healthy',
  unhealthy: 'Unhealthy',
  starting: 'Checking…',
  none: 'No health checks',
};

export const healthTone = (h: Overall) => (h === 'healthy' ? 'ok' : h === 'unhealthy' ? 'bad' : 'warn');
export const statusTone = (s: string) => (s === 'running' ? 'ok' : s === 'stopped' ? undefined : 'warn');
