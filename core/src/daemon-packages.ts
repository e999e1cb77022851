import path from 'node:path';
import type { Events } from './events/events.ts';
import { hostBridge } from './host/bridge.ts';
import type { Lxc } from './host/containers.ts';
import { copyTree } from './host/copy.ts';
import type { Mounts } from './host/mounts.ts';
import type { hostProcfs } from './host/procfs.ts';
import { run } from './host/run.ts';
import type { Logger } from './log/log.ts';
import type { Notifications } from './notifications/notifications.ts';
import {
  containerPreparation,
  containerSpec,
  listen as listenForRuntime,
} from './packages/container-spec.ts';
import { Channels, type EffectsDeps } from './packages/effects-host.ts';
import { Packages } from './packages/packages.ts';
import type { Signers } from './packages/signers.ts';
import type { Paths } from './paths.ts';
import type { Settings } from './settings/settings.ts';
import type { Db } from './state/db.ts';
import type { StateDocument } from './state/state-doc.ts';

/*
 * The packages' part of the composition root (daemon.ts): the service with its host
 * adapters, the channels to the containers, and what its start does.
 */

export interface PackagesParts {
  settings: Settings;
  paths: Paths;
  db: Db;
  state: StateDocument;
  notifications: Notifications;
  events: Events;
  /** A package is in a crash loop: the checks look again (and tell the owner, once). */
  onCrashLoop: (id: string) => void;
  signers: Signers;
  procfs: ReturnType<typeof hostProcfs>;
  lxc: Lxc;
  mounts: Mounts;
  /** A package's own certificate (the box's CA, tls/). */
  certificate?: EffectsDeps['certificate'];
  /** An interface's address on the LAN (lan/). */
  lanAddress?: EffectsDeps['lanAddress'];
  log: Logger;
  /** Before a container is made: its name and its fences must be there when it starts. */
  beforeContainer?: () => Promise<unknown>;
}

/** The packages service with its host adapters and the channels to the containers. */
export function createPackages(o: PackagesParts) {
  const arch = process.arch === 'arm64' ? ('arm64' as const) : ('x86_64' as const);
  const network = { bridge: o.settings.bridge, subnet: o.settings.subnet, nftTable: o.settings.nftTable };
  const log = o.log.child('packages');
  const { lxc, mounts } = o;
  const socketsDir = path.join(o.paths.runtimeDir, 'packages');
  // The channels look packages up; the service is made below with the channels.
  const lookup: { service?: Packages } = {};
  const alert = o.settings.healthAlertCommand;
  const channels = new Channels({
    lookup: (id) => lookup.service?.view(id),
    state: o.state,
    notifications: o.notifications,
    events: o.events,
    arch,
    log: o.log.child('channel'),
    ...(o.certificate ? { certificate: o.certificate } : {}),
    ...(o.lanAddress ? { lanAddress: o.lanAddress } : {}),
    ...(alert.length > 0
      ? {
          onFailure: (a: { packageId: string; checkId: string; message: string }) => {
            const env = {
              ...process.env,
              HEARTH_PACKAGE: a.packageId,
              HEARTH_CHECK: a.checkId,
              HEARTH_MESSAGE: a.message,
            };
            run(alert, { env, timeoutMs: 30_000, log }).catch((error) =>
              log.warn('the health alert command failed', { error }),
            );
          },
        }
      : {}),
  });
  const service = new Packages({
    db: o.db,
    state: o.state,
    notifications: o.notifications,
    events: o.events,
    onCrashLoop: o.onCrashLoop,
    signers: o.signers,
    lxc,
    mounts,
    log,
    packagesDir: path.join(o.paths.dataDir, 'packages'),
    arch,
    subnet: o.settings.subnet,
    channels,
    copyTree,
    freeBytes: async (dir) => (await o.procfs.statfs(dir)).availableBytes,
    minFreeBytes: o.settings.minFreeSpaceMiB * 1048576,
    specFor: containerSpec,
    prepareContainer: withNames(
      o.beforeContainer,
      containerPreparation({
        arch,
        network,
        bridge: hostBridge(o.log.child('bridge')),
        channels,
        // In the single executable this is the hearth binary itself.
        hearthBinary: process.execPath,
        // Not under /run: systemd mounts it noexec, and the loader and init run from here.
        runtimeRoot: path.join(o.paths.dataDir, 'rt'),
        socketsDir,
        log,
      }),
    ),
  });
  lookup.service = service;
  const start = async () => {
    for (const pkg of service.list()) await listenForRuntime({ channels, socketsDir }, pkg);
    // Also with no packages: containers or mounts of ours without a row are orphans.
    await service.reconcile({ startUp: true });
  };
  return { service, channels, start };
}

const withNames =
  <P, E>(before: (() => Promise<unknown>) | undefined, prepare: (pkg: P) => Promise<E>) =>
  async (pkg: P): Promise<E> => {
    const env = await prepare(pkg);
    await before?.();
    return env;
  };
