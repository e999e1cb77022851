import os from 'node:os';
import path from 'node:path';
import { Disks } from './disks/disks.ts';
import { HearthError } from './errors.ts';
import type { Events } from './events/events.ts';
import { hostBootSlots } from './host/boot-slots.ts';
import { copyTree } from './host/copy.ts';
import { removeFiles, writeJsonFile } from './host/daemon-files.ts';
import { hostDisks } from './host/disks.ts';
import { limitedServers } from './host/limited-server.ts';
import { writeLocalCookie } from './host/local-cookie.ts';
import { hostRauc } from './host/rauc.ts';
import { startWatchdog, systemdNotifier } from './host/sd-notify.ts';
import { fetchFeed, updateReboot } from './host/update-host.ts';
import { loadWebAssets } from './host/web-assets.ts';
import type { Logger } from './log/log.ts';
import type { Notifications } from './notifications/notifications.ts';
import type { Paths } from './paths.ts';
import { limitedHandler } from './rpc/limited.ts';
import { webUi } from './rpc/web-ui.ts';
import type { Settings } from './settings/settings.ts';
import { type Db, openDatabase } from './state/db.ts';
import type { StateDocument } from './state/state-doc.ts';
import { prepareBoot } from './update/early.ts';
import { FEED_MAX_BYTES } from './update/feed.ts';
import { UpdateService } from './update/update.ts';
import type { Uploads } from './uploads/uploads.ts';
import { VERSION } from './version.ts';

/*
 * The OS update's part of the composition root (daemon.ts), and what comes before the
 * database opens: the data drive (`Disks`; limited mode when it is missing or unreadable) and
 * the update's early step (the database snapshot on a trial boot, put back after a fallback).
 */

/** The daemon in limited mode: the same shape as daemon.ts's RunningDaemon. */
export interface LimitedDaemon {
  paths: Paths;
  port: number;
  log: Logger;
  stop(): Promise<void>;
}

export interface UpdateDeps {
  db: Db;
  state: StateDocument;
  events: Events;
  notifications: Notifications;
  uploads: Uploads;
}

// A problem with the data drive is not the OS's: it gets limited mode, not a failed start.
const DRIVE_PROBLEMS = new Set([
  'data_drive_missing',
  'data_drive_invalid',
  'drive_unreadable',
  'command_failed',
]);
const CHECK_EVERY_MS = 60_000;

export async function startEarly(o: {
  settings: Settings;
  paths: Paths;
  log: Logger;
  env: NodeJS.ProcessEnv;
}): Promise<{ disks: Disks; limited?: LimitedDaemon; update: (d: UpdateDeps) => UpdateService }> {
  const { settings, paths, log } = o;
  // The data drive chosen at setup, mounted over the data directory at every start.
  const disks = new Disks({
    host: hostDisks(log.child('disks')),
    dataDir: paths.dataDir,
    stagingDir: paths.dataDriveStaging,
    dev: settings.dev,
    copyTree,
    log: log.child('disks'),
    // A USB disk can take a while at boot; a loop device that is gone will not come back.
    waitForDriveMs: settings.dev ? 5_000 : 60_000,
  });
  try {
    await disks.mountAtStart();
  } catch (e) {
    if (!(e instanceof HearthError) || !DRIVE_PROBLEMS.has(e.code)) throw e;
    log.error('the data drive is not usable: limited mode', { error: e });
    return { disks, limited: await startLimited(o, e), update: () => unreachable() };
  }
  const slots = hostBootSlots({
    dir: path.join(paths.dataDir, 'os-update'),
    database: paths.database,
    runtimeDir: paths.runtimeDir,
  });
  const vacuumInto = (file: string) => {
    const db = openDatabase(paths.database);
    try {
      db.prepare('VACUUM INTO ?').run(file);
    } finally {
      db.close();
    }
  };
  prepareBoot({ slots, vacuumInto, log: log.child('update') });
  const update = (d: UpdateDeps) => {
    const service = new UpdateService({
      ...d,
      engine: hostRauc({ binary: settings.raucBinary, conf: settings.raucConfig, log: log.child('rauc') }),
      slots,
      open: (source, progress) => d.uploads.open(source, progress),
      fetchFeed: (url) => fetchFeed(url, FEED_MAX_BYTES),
      reboot: updateReboot(settings.dbusAddress || undefined),
      feedUrl: settings.updateFeedUrl,
      feedKeys: settings.updateFeedKeys,
      platform: process.arch === 'arm64' ? 'raspberrypi' : 'x86_64',
      version: VERSION,
      bundle: path.join(paths.dataDir, 'os-update', 'bundle.raucb'),
      scratch: path.join(paths.dataDir, 'os-update', 'extract'),
      log: log.child('update'),
    });
    service.publish();
    // The first pass once the API answers (it blesses a trial boot), then on the interval;
    // a check of the feed at the owner's interval. Timers never keep the process alive.
    const pass = () => (d.db.open ? void service.pass().then(() => service.publish()) : undefined);
    setTimeout(pass, 2_000).unref();
    setInterval(pass, CHECK_EVERY_MS).unref();
    if (settings.updateFeedUrl && settings.updateCheckHours > 0) {
      setInterval(
        () =>
          void (d.db.open ? service.check().catch((error) => log.warn('update check failed', { error })) : 0),
        settings.updateCheckHours * 3_600_000,
      ).unref();
    }
    return service;
  };
  return { disks, update };
}

const unreachable = (): never => {
  throw new Error('limited mode has no update service');
};

async function startLimited(
  o: { settings: Settings; paths: Paths; log: Logger; env: NodeJS.ProcessEnv },
  problem: HearthError,
): Promise<LimitedDaemon> {
  const { settings, paths, log } = o;
  // The CLI finds us as always (`hearth setup status` is what a boot's blessing waits for);
  // this also makes the runtime directory the socket goes in.
  writeLocalCookie(paths.localCookie);
  const servers = await limitedServers({
    handle: limitedHandler({
      problem,
      hostname: () => os.hostname(),
      page: webUi(loadWebAssets(), () => false),
    }),
    port: settings.port,
    host: settings.listen,
    socket: paths.socket,
  });
  const notifier = systemdNotifier(o.env);
  await notifier
    .notify('READY=1', `STATUS=limited mode: ${problem.message}`)
    .catch((error) => log.warn('could not tell systemd we are ready', { error }));
  const info = path.join(paths.runtimeDir, 'daemon.json');
  writeJsonFile(info, {
    pid: process.pid,
    port: servers.port,
    socket: paths.socket,
    version: VERSION,
    limited: problem.code,
  });
  const timers = startWatchdog(notifier, log);
  log.info('listening in limited mode', { port: servers.port, problem: problem.code });
  return {
    paths,
    port: servers.port,
    log,
    stop: async () => {
      for (const t of timers) clearInterval(t);
      await notifier.notify('STOPPING=1').catch(() => {});
      await servers.close();
      removeFiles([paths.socket, paths.localCookie, info]);
    },
  };
}
