import { SdkError } from './errors.ts';
import { compareVersions } from './semver.ts';

/*
 * Planning an update's or a downgrade's migrations: apart from package.ts (re-exported
 * there) so that the container runtime, which plans them, loads no zod.
 */

/**
 * One step of an update or downgrade.
 *
 * @example
 * for (const step of planMigrations(next.migrations, '1.0.0', '2.0.0')) await definition.runMigration(step.version, step.direction, effects);
 */
export interface MigrationStep {
  version: string;
  direction: 'up' | 'down';
}

/**
 * Plans the migrations between two installed versions. For an update pass the new
 * package's migrations; for a downgrade the installed (newer) package's. Throws an error
 * with code `migration_irreversible` when a downgrade crosses a migration without `down`.
 *
 * @example
 * planMigrations(manifest.migrations, '1.0.0', '1.3.0'); // [{ version: '1.2.0', direction: 'up' }, …]
 */
export function planMigrations(
  migrations: readonly { version: string; down: boolean }[],
  from: string,
  to: string,
): MigrationStep[] {
  const order = compareVersions(from, to);
  if (order === 0) return [];
  const [low, high] = order < 0 ? [from, to] : [to, from];
  const crossed = migrations
    .filter((m) => compareVersions(m.version, low) > 0 && compareVersions(m.version, high) <= 0)
    .sort((a, b) => compareVersions(a.version, b.version));
  if (order < 0) return crossed.map((m) => ({ version: m.version, direction: 'up' }));
  const stuck = crossed.filter((m) => !m.down);
  if (stuck.length) {
    throw new SdkError(
      'migration_irreversible',
      `cannot go back from ${from} to ${to}: the migration to ${stuck.map((m) => m.version).join(', ')} cannot be undone`,
      { hint: 'restore a backup taken before the update instead' },
    );
  }
  return crossed.reverse().map((m) => ({ version: m.version, direction: 'down' }));
}
