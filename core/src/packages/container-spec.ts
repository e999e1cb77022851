import path from 'node:path';
import type { Architecture } from '#sdk/manifest.ts';
import type { Bridge, NetworkSpec } from '../host/bridge.ts';
import { type ContainerSpec, containerName, idRangeForSlot } from '../host/lxc.ts';
import type { Logger } from '../log/log.ts';
import { prepareRuntimeDir, prepareSocketDir, runtimeLaunch } from '../runtime/launch.ts';
import type { Channels } from './effects-host.ts';
import type { ContainerSpecFor, InstalledPackage } from './packages.ts';

export interface ContainerSpecsOptions {
  arch: Architecture;
  network: NetworkSpec;
  bridge: Bridge;
  channels: Channels;
  /** The binary the containers run as their runtime (the running hearth). */
  hearthBinary: string;
  /** Where runtime directories (loader, libraries, init) are made; searchable by all. */
  runtimeRoot: string;
  /** `<runtime>/packages`: one socket directory per package. */
  socketsDir: string;
  log: Logger;
}

/** The socket a package's runtime connects to, on the host side. */
export const hostSocketOf = (socketsDir: string, id: string): string =>
  path.join(socketsDir, id, 'host.sock');

/**
 * Makes a package's container: its image, volumes, limits and address from the
 * manifest; the runtime's mounts, init and environment from runtime/launch.ts. The bridge
 * and the package's channel are made ready first, so the runtime finds both.
 */
export function containerSpecs(o: ContainerSpecsOptions): ContainerSpecFor {
  return async (pkg, dirs, address): Promise<ContainerSpec> => {
    await o.bridge.ensure(o.network);
    const runtime = await prepareRuntimeDir({
      root: o.runtimeRoot,
      hearthBinary: o.hearthBinary,
      log: o.log,
    });
    const socketDir = path.join(o.socketsDir, pkg.id);
    await prepareSocketDir(socketDir);
    const name = containerName(pkg.id);
    const launch = runtimeLaunch({
      runtime,
      hearthBinary: o.hearthBinary,
      codeDir: path.join(dirs.version, 'code'),
      socketDir,
      containerName: name,
    });
    await listen(o, pkg);
    const m = pkg.manifest;
    // The container's root is the package's first image; more images are for later.
    const image = m.images[0]!;
    return {
      name,
      image: path.join(dirs.version, 'images', o.arch, `${image.name}.squashfs`),
      dataDir: dirs.container,
      idmap: idRangeForSlot(pkg.slot),
      volumes: [
        ...m.volumes.map((v) => ({ source: path.join(dirs.volumes, v.id), target: v.mountPath })),
        ...launch.volumes,
      ],
      hearthBinary: launch.hearthBinary,
      init: launch.init,
      env: launch.env,
      // The package's own allowance plus the runtime's: a 32 MiB package must not see the
      // runtime OOM-killed for it.
      memoryMiB: m.resources.memoryMiB + launch.extraMemoryMiB,
      haltSignal: 'SIGINT',
      cpus: m.resources.cpus,
      network: { bridge: o.network.bridge, subnet: o.network.subnet, address },
    };
  };
}

/** Listens on a package's channel (at container creation, and for every package at start-up). */
export async function listen(
  o: Pick<ContainerSpecsOptions, 'channels' | 'socketsDir'>,
  pkg: InstalledPackage,
): Promise<void> {
  const ids = idRangeForSlot(pkg.slot);
  await prepareSocketDir(path.join(o.socketsDir, pkg.id));
  await o.channels.listen(pkg.id, hostSocketOf(o.socketsDir, pkg.id), { uid: ids.hostId, gid: ids.hostId });
}
