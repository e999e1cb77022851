import { clockCheck, crashLoopCheck, dataDriveCheck, freeSpaceCheck } from './checks/builtin.ts';
import { Checks } from './checks/checks.ts';
import type { Disks } from './disks/disks.ts';
import type { Events } from './events/events.ts';
import { timedatedClock } from './host/clock.ts';
import type { Procfs } from './host/procfs.ts';
import type { Logger } from './log/log.ts';
import type { Notifications } from './notifications/notifications.ts';
import type { Packages } from './packages/packages.ts';
import type { Settings } from './settings/settings.ts';
import type { StateDocument } from './state/state-doc.ts';

/*
 * The checks' part of the composition root (daemon.ts): the registry with the box's own
 * checks. Domains that come later (certificates, backups) register theirs with the
 * factories of checks/hooks.ts.
 */

export function createChecks(o: {
  settings: Settings;
  dataDir: string;
  events: Events;
  notifications: Notifications;
  state: StateDocument;
  procfs: Procfs;
  disks: Disks;
  packages: () => Packages;
  log: Logger;
}): Checks {
  const checks = new Checks({ events: o.events, notifications: o.notifications, state: o.state, log: o.log });
  checks.register(
    freeSpaceCheck({
      dir: o.dataDir,
      statfs: (dir) => o.procfs.statfs(dir),
      minFreeBytes: o.settings.minFreeSpaceMiB * 1048576,
    }),
  );
  checks.register(dataDriveCheck({ problem: () => o.disks.problem() }));
  checks.register(
    crashLoopCheck({
      loops: () => o.packages().crashLoops(),
      stop: async (id) => {
        await o.packages().setDesired(id, 'stopped');
      },
    }),
  );
  const clock = timedatedClock(o.settings.dbusAddress || undefined);
  checks.register(
    clockCheck({ clock: () => clock.state(), enableNtp: () => clock.enableNtp(), now: Date.now }),
  );
  return checks;
}
