import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Backup } from './backup/backup.ts';
import { TargetProblem } from './backup/errors.ts';
import type { TargetAccess } from './backup/executors.ts';
import { BackupRows } from './backup/rows.ts';
import type { Events } from './events/events.ts';
import { hostBackupFiles } from './host/backup-files.ts';
import type { Lxc } from './host/containers.ts';
import { hostDisks } from './host/disks.ts';
import { hostRestic } from './host/restic.ts';
import type { Logger } from './log/log.ts';
import type { Notifications } from './notifications/notifications.ts';
import type { Channels } from './packages/effects-host.ts';
import type { Packages } from './packages/packages.ts';
import type { Paths } from './paths.ts';
import type { Settings } from './settings/settings.ts';
import type { Db } from './state/db.ts';
import type { StateDocument } from './state/state-doc.ts';

/*
 * The backups' part of the composition root (daemon.ts): restic, the backup files on the
 * data drive, targets opened (a USB disk found by UUID and mounted under the runtime
 * directory while used), and the packages as a backup sees them. A run a crash cut short
 * is undone at once.
 */
export function createBackup(o: {
  paths: Paths;
  settings: Settings;
  db: Db;
  state: StateDocument;
  notifications: Notifications;
  events: Events;
  lxc: Lxc;
  packages: { service: Packages; channels: Channels };
  log: Logger;
}): Backup {
  const log = o.log.child('backup');
  const disks = hostDisks(log);
  const mountPoint = (id: string) => path.join(o.paths.runtimeDir, 'backup', id);
  const access: TargetAccess = {
    async open(t) {
      if (t.location.kind === 'local') return t.location.path;
      const device = await disks.findFilesystem(t.location.uuid);
      if (!device) throw TargetProblem.of('absent', t.name);
      await disks.unmount(mountPoint(t.id));
      await disks.mount(device, mountPoint(t.id));
      return path.join(mountPoint(t.id), t.location.subdir);
    },
    async close(t) {
      if (t.location.kind === 'usb') await disks.unmount(mountPoint(t.id));
    },
  };
  const pkgs = o.packages.service;
  const backup = new Backup({
    rows: new BackupRows(o.db),
    files: hostBackupFiles(path.join(o.paths.dataDir, 'backup')),
    restic: hostRestic(log.child('restic')),
    access,
    lxc: o.lxc,
    runtime: (id) => o.packages.channels.peer(id),
    packageDirs: (id, version) => pkgs.dirs(id, version),
    volumesDir: (id) => pkgs.dirs(id, '').volumes,
    packageSettings: (id) => {
      const p = pkgs.get(id);
      return {
        id: p.id,
        version: p.version,
        desired: p.desired,
        signer: p.signer,
        interfaces: p.manifest.interfaces,
      };
    },
    setDesired: async (id, desired) => void (await pkgs.setDesired(id, desired)),
    healthySince: (id, since) => {
      const pkg = pkgs.get(id);
      if (pkg.manifest.healthChecks.length === 0) return pkgs.status(pkg) === 'running';
      const checks = Object.values(
        (o.state.get('packages', id, 'health') ?? {}) as Record<string, { status: string; at: number }>,
      );
      return checks.length > 0 && checks.every((c) => c.status === 'success' && c.at >= since);
    },
    dumpDatabase: async (file) => void (await o.db.backup(file)),
    packages: () =>
      pkgs.list().map((p) => ({
        id: p.id,
        version: p.version,
        // Should run: a restore starts it again, a backup hooks or freezes it. Its status can
        // read 'starting' for a moment; taken for stopped, a restore swapped the volumes under it.
        running: p.desired === 'running',
        hasPre: p.manifest.backup?.hasPre ?? false,
        hasPost: p.manifest.backup?.hasPost ?? false,
        volumes: p.manifest.backup?.volumes ?? p.manifest.volumes.map((v) => v.id),
      })),
    forbiddenRoots: [o.paths.dataDir],
    // What restic needs to write its index and lock; a full target fails the run cleanly anyway.
    minFreeBytes: 8 * 1048576,
    healthTimeoutMs: 120_000,
    state: o.state,
    notifications: o.notifications,
    events: o.events,
    log,
    now: Date.now,
    sleep: (ms) => sleep(ms),
  });
  backup.publish();
  void backup.recover().catch((error) => log.error('could not clean up an interrupted backup', { error }));
  return backup;
}
