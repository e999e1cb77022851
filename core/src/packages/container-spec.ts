import path from 'node:path';
import type { Architecture } from '#sdk/manifest.ts';
import type { Bridge, NetworkSpec } from '../host/bridge.ts';
import { type ContainerSpec, containerName, idRangeForSlot } from '../host/containers.ts';
import { parseSubnet } from '../host/lxc-parse.ts';
import type { PackageDirs } from '../host/package-files.ts';
import { prepareRuntimeDir, prepareSocketDir } from '../host/runtime-dir.ts';
import type { Logger } from '../log/log.ts';
import { INTERNAL_DOMAIN } from '../names/plan.ts';
import { type RuntimeDir, runtimeLaunch } from '../runtime/launch.ts';
import type { Channels } from './effects-host.ts';
import type { InstalledPackage } from './rows.ts';

/** What a package's container is made with besides the package: the same for every one. */
export interface ContainerEnvironment {
  arch: Architecture;
  network: NetworkSpec;
  /** The binary the containers run as their runtime (the running hearth). */
  hearthBinary: string;
  /** The runtime directory (loader, libraries, init) every container mounts. */
  runtime: RuntimeDir;
  /** `<runtime>/packages`: one socket directory per package. */
  socketsDir: string;
}

/** Builds the container of an installed package, pure (containerSpec below). */
export type ContainerSpecFor = (
  pkg: InstalledPackage,
  dirs: PackageDirs,
  address: string,
  env: ContainerEnvironment,
) => ContainerSpec;

/** The socket a package's runtime connects to, on the host side. */
export const hostSocketOf = (socketsDir: string, id: string): string =>
  path.join(socketsDir, id, 'host.sock');

/**
 * A package's container, pure: its image, volumes, limits and address from the manifest;
 * the runtime's mounts, init and environment from runtime/launch.ts.
 */
export function containerSpec(
  pkg: InstalledPackage,
  dirs: PackageDirs,
  address: string,
  env: ContainerEnvironment,
): ContainerSpec {
  const name = containerName(pkg.id);
  const launch = runtimeLaunch({
    runtime: env.runtime,
    hearthBinary: env.hearthBinary,
    codeDir: path.join(dirs.version, 'code'),
    socketDir: path.join(env.socketsDir, pkg.id),
    containerName: name,
  });
  const m = pkg.manifest;
  // The container's root is the package's first image; more images are for later.
  const image = m.images[0]!;
  return {
    name,
    image: path.join(dirs.version, 'images', env.arch, `${image.name}.squashfs`),
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
    network: { bridge: env.network.bridge, subnet: env.network.subnet, address },
    // The box's DNS server listens on the bridge's own address (names/).
    dns: { nameserver: parseSubnet(env.network.subnet).gateway, search: INTERNAL_DOMAIN },
  };
}

export interface ContainerPreparationOptions {
  arch: Architecture;
  network: NetworkSpec;
  bridge: Bridge;
  channels: Channels;
  hearthBinary: string;
  /** Where runtime directories are made; searchable by all. */
  runtimeRoot: string;
  socketsDir: string;
  log: Logger;
}

/**
 * What must be on the host before a package's container is made, done by the
 * `create-container` step: the bridge, the runtime directory (made once per binary), and
 * the package's channel listening, so the runtime finds both when it starts.
 */
export function containerPreparation(o: ContainerPreparationOptions) {
  return async (pkg: InstalledPackage): Promise<ContainerEnvironment> => {
    await o.bridge.ensure(o.network);
    const runtime = await prepareRuntimeDir({
      root: o.runtimeRoot,
      hearthBinary: o.hearthBinary,
      log: o.log,
    });
    await listen(o, pkg);
    return {
      arch: o.arch,
      network: o.network,
      hearthBinary: o.hearthBinary,
      runtime,
      socketsDir: o.socketsDir,
    };
  };
}

/** Listens on a package's channel (at container creation, and for every package at start-up). */
export async function listen(
  o: Pick<ContainerPreparationOptions, 'channels' | 'socketsDir'>,
  pkg: InstalledPackage,
): Promise<void> {
  const ids = idRangeForSlot(pkg.slot);
  await prepareSocketDir(path.join(o.socketsDir, pkg.id));
  await o.channels.listen(pkg.id, hostSocketOf(o.socketsDir, pkg.id), { uid: ids.hostId, gid: ids.hostId });
}
