import type { Dependency } from '#sdk/manifest.ts';
import { compareVersions, satisfies } from '#sdk/semver.ts';

export interface InstalledSummary {
  id: string;
  version: string;
  running: boolean;
  dependencies: readonly Dependency[];
}

export interface UnmetDependency {
  id: string;
  versionRange: string;
  /** What is wrong: not installed, the wrong version, or not running. */
  problem: 'missing' | 'version' | 'stopped';
  installed?: string;
}

/** Which of `needs` the installed packages do not satisfy. */
export function unmetDependencies(
  needs: readonly Dependency[],
  installed: readonly InstalledSummary[],
): UnmetDependency[] {
  const byId = new Map(installed.map((p) => [p.id, p]));
  return needs.flatMap((d): UnmetDependency[] => {
    const have = byId.get(d.id);
    if (!have) return [{ id: d.id, versionRange: d.versionRange, problem: 'missing' }];
    if (!satisfies(have.version, d.versionRange)) {
      return [{ id: d.id, versionRange: d.versionRange, problem: 'version', installed: have.version }];
    }
    if (d.requireRunning && !have.running) {
      return [{ id: d.id, versionRange: d.versionRange, problem: 'stopped', installed: have.version }];
    }
    return [];
  });
}

export function describeUnmet(unmet: readonly UnmetDependency[]): string {
  return unmet
    .map((u) =>
      u.problem === 'missing'
        ? `${u.id} ${u.versionRange} is not installed`
        : u.problem === 'version'
          ? `${u.id} ${u.versionRange} is needed but ${u.installed} is installed`
          : `${u.id} must be running`,
    )
    .join('; ');
}

/** The installed packages that declare `id` as a dependency. */
export const dependentsOf = (id: string, installed: readonly InstalledSummary[]): string[] =>
  installed.filter((p) => p.dependencies.some((d) => d.id === id)).map((p) => p.id);

/** Room the data filesystem must have for a package of `bytes`: twice its size plus 256 MiB. */
export const spaceNeeded = (bytes: number): number => 2 * bytes + 256 * 1024 * 1024;

/** The address of the container in `slot` on the bridge's /24 (the host is .1). */
export function addressForSlot(subnet: string, slot: number): string {
  const [base] = subnet.split('/');
  const parts = base!.split('.').map(Number);
  if (slot < 0 || slot > 252) throw new Error(`slot ${slot} does not fit a /24`);
  return [...parts.slice(0, 3), slot + 2].join('.');
}

/** The lowest slot no package has. */
export function freeSlot(taken: readonly number[]): number {
  const used = new Set(taken);
  let s = 0;
  while (used.has(s)) s++;
  return s;
}

/** A Hearth run from its sources; the newest there is, for what packages need. */
export const SOURCE_VERSION = '0.0.0-dev';

/** Whether Hearth `have` is older than the `minHearthVersion` a package declares. */
export const hearthTooOld = (have: string, needs: string | undefined): boolean =>
  needs !== undefined && have !== SOURCE_VERSION && compareVersions(have, needs) < 0;
