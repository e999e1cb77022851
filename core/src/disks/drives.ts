import path from 'node:path';
import type { BlockDevice, Probe } from '../host/disks-parse.ts';
import type { MountInfo } from '../host/lxc-parse.ts';

/**
 * The drives of the box and what they mean for choosing one as the data drive, from what
 * lsblk and blkid said (host/disks-parse.ts) and /proc/self/mountinfo. Pure.
 */

/** The partition label and the filesystem label of a Hearth data partition (docs/api.md). */
export const DATA_LABEL = 'hearth-data';
/** The database file at the root of a data drive's filesystem. */
export const DATABASE_FILE = 'hearth.db';

/**
 * Which block devices are drives a person could choose: whole disks with a medium (an
 * empty card reader has size 0), without the kernel's RAM-backed disks and an eMMC's
 * hardware boot areas. Loop devices only where asked (development and tests).
 */
export function isDrive(d: BlockDevice, options: { loopDevices: boolean }): boolean {
  if (d.sizeBytes <= 0) return false;
  if (d.type === 'loop') return options.loopDevices;
  if (d.type !== 'disk') return false;
  return !/^(zram|ram)\d+$/.test(d.name) && !/^mmcblk\d+boot\d+$/.test(d.name);
}

/** The mount points whose filesystems are the running system: the root and the boot files. */
const SYSTEM_MOUNTS = new Set(['/', '/usr', '/boot', '/boot/efi', '/boot/firmware', '/efi']);

/** The devices (`major:minor`) the running system is on, from /proc/self/mountinfo. */
export function systemDevices(mounts: MountInfo[]): Set<string> {
  return new Set(mounts.filter((m) => SYSTEM_MOUNTS.has(m.mountPoint)).map((m) => m.device));
}

/** The mount that holds `dir`: the latest one at the longest mount point above it. */
export function mountHolding(mounts: MountInfo[], dir: string): MountInfo | undefined {
  const target = path.resolve(dir);
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const mp = m.mountPoint;
    const inside = target === mp || target.startsWith(mp === '/' ? '/' : `${mp}/`);
    if (inside && (!best || mp.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

export interface Filesystem {
  fsType: string | null;
  label: string | null;
  uuid: string | null;
}

export interface Partition extends Filesystem {
  path: string;
  name: string;
  sizeBytes: number;
  /** The GPT partition name. */
  partLabel: string | null;
  mountpoints: string[];
}

/** A drive with what is on it and what it means for choosing it as the data drive. */
export interface Drive {
  path: string;
  name: string;
  type: 'disk' | 'loop';
  model: string | null;
  vendor: string | null;
  serial: string | null;
  sizeBytes: number;
  transport: string | null;
  removable: boolean;
  readOnly: boolean;
  /** `gpt` or `dos` when partitioned. */
  partitionTable: string | null;
  /** A filesystem on the whole drive, without a partition table. */
  filesystem: Filesystem | null;
  partitions: Partition[];
  /** Where the drive, its partitions or anything built on them is mounted (or `[SWAP]`). */
  mountpoints: string[];
  /** The drive could not be read: what is on it is unknown. */
  unreadable: boolean;
  /** The running system (the root filesystem or the boot files) is on it. */
  system: boolean;
  /**
   * The partition that holds the daemon's data directory now, if it is on this drive: on
   * the system drive, the image's data partition.
   */
  dataPartition: string | null;
  /** A `hearth-data` filesystem holding a Hearth database that is not in use: it can be attached. */
  hearthData: string | null;
  /** Partitions or filesystems are on it: choosing it to format erases them. */
  hasData: boolean;
}

export interface DriveFacts {
  /** `major:minor` of the devices the running system is on. */
  system: Set<string>;
  /** `major:minor` of the filesystem holding the data directory. */
  dataDir: string | undefined;
  /** What blkid found, by device path; missing means nothing was found. */
  probes: Map<string, Probe>;
  /** Paths of `hearth-data` filesystems that hold a Hearth database. */
  hearthDatabases: Set<string>;
  loopDevices: boolean;
}

const all = (d: BlockDevice): BlockDevice[] => [d, ...d.children.flatMap(all)];

const isDataLabelled = (p: Probe | undefined) => p?.label === DATA_LABEL || p?.partLabel === DATA_LABEL;

/** The drives to offer, with everything the wizard and the setup plan need to know. */
export function describeDrives(devices: BlockDevice[], facts: DriveFacts): Drive[] {
  return devices
    .filter((d) => isDrive(d, { loopDevices: facts.loopDevices }))
    .map((d) => {
      const probe = facts.probes.get(d.path) ?? {};
      const parts = d.children.filter((c) => c.type === 'part');
      const fsOf = (p: Probe): Filesystem => ({
        fsType: p.fsType ?? null,
        label: p.label ?? null,
        uuid: p.uuid ?? null,
      });
      const partitions: Partition[] = parts.map((c) => {
        const p = facts.probes.get(c.path) ?? {};
        return {
          path: c.path,
          name: c.name,
          sizeBytes: c.sizeBytes,
          partLabel: p.partLabel ?? null,
          ...fsOf(p),
          mountpoints: all(c).flatMap((x) => x.mountpoints),
        };
      });
      const everything = all(d);
      const system = everything.some((x) => facts.system.has(x.majMin));
      // On the system drive only the image's own data partition counts, never the root
      // filesystem that a data directory outside the image happens to sit on.
      const dataPart = everything.find((x) => x.majMin === facts.dataDir);
      const dataPartition =
        dataPart && (!system || isDataLabelled(facts.probes.get(dataPart.path))) ? dataPart.path : null;
      const hearthData =
        [d, ...parts].find(
          (x) =>
            facts.hearthDatabases.has(x.path) &&
            isDataLabelled(facts.probes.get(x.path)) &&
            x.path !== dataPart?.path,
        )?.path ?? null;
      return {
        path: d.path,
        name: d.name,
        type: d.type === 'loop' ? 'loop' : 'disk',
        model: d.model,
        vendor: d.vendor,
        serial: d.serial,
        sizeBytes: d.sizeBytes,
        transport: d.transport,
        removable: d.removable || d.hotplug,
        readOnly: d.readOnly,
        partitionTable: probe.partitionTable ?? null,
        filesystem: probe.fsType ? fsOf(probe) : null,
        partitions,
        mountpoints: everything.flatMap((x) => x.mountpoints),
        unreadable: Boolean(probe.unreadable) || parts.some((c) => facts.probes.get(c.path)?.unreadable),
        system,
        dataPartition,
        hearthData,
        hasData: partitions.length > 0 || probe.fsType !== undefined,
      } satisfies Drive;
    });
}

const GB = 1e9;

/** "2 partitions: sdb1 (ntfs 'Photos', 500 GB), sdb2 (ext4, 12 GB)" — what erasing would destroy. */
export function describeContents(d: Drive): string {
  const size = (n: number) => (n >= 10 * GB ? `${Math.round(n / GB)} GB` : `${(n / GB).toPrecision(2)} GB`);
  const fs = (f: Filesystem) =>
    f.fsType ? `${f.fsType}${f.label ? ` '${f.label}'` : ''}` : 'no filesystem known to blkid';
  if (d.filesystem) return `a filesystem on the whole drive (${fs(d.filesystem)})`;
  if (d.partitions.length === 0) return 'nothing';
  const list = d.partitions.map((p) => `${p.name} (${fs(p)}, ${size(p.sizeBytes)})`).join(', ');
  return `${d.partitions.length === 1 ? '1 partition' : `${d.partitions.length} partitions`}: ${list}`;
}
