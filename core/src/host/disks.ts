import fs from 'node:fs/promises';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import { LSBLK_COLUMNS, type Probe, parseBlkidExport, parseLsblk } from './disks-parse.ts';
import { type MountInfo, parseMountInfo } from './lxc-parse.ts';
import { CommandFailed, run } from './run.ts';

/**
 * Block devices and their filesystems: listing them and making a data drive. Everything
 * here runs a tool from util-linux or e2fsprogs; what they print is parsed in
 * disks/drives.ts.
 */
export interface DiskHost {
  /** `lsblk --json` of every block device (columns: LSBLK_COLUMNS). */
  lsblk(): Promise<string>;
  /** What is on one device, read from the device itself. */
  probe(device: string): Promise<Probe>;
  /**
   * Whether the (unmounted) ext4 filesystem on `device` has `file` at its root. Read-only
   * and without mounting it: see `hasFile` below.
   */
  hasFile(device: string, file: string): Promise<boolean>;
  mountInfo(): Promise<MountInfo[]>;
  /**
   * Replaces whatever is on `drive` with a GPT holding one Linux partition over the whole
   * drive, named `name`, and returns the new partition's path once its node exists.
   */
  partition(drive: string, name: string): Promise<string>;
  /** Makes an ext4 filesystem with this label and UUID. */
  format(partition: string, fs: { label: string; uuid: string }): Promise<void>;
  /** Repairs what e2fsck can repair by itself (as at boot); warns about the rest. */
  check(device: string): Promise<void>;
  /** The device holding the filesystem with this UUID, if it is attached. */
  findFilesystem(uuid: string): Promise<string | undefined>;
  /** A device node's `major:minor`, as /proc/self/mountinfo names devices. */
  deviceNumber(device: string): Promise<string>;
  mount(device: string, target: string): Promise<void>;
  /** Not mounted is fine. */
  unmount(target: string): Promise<void>;
}

export class PartitionMissing extends HearthError {
  constructor(drive: string) {
    super('partition_missing', `the new partition on ${drive} did not appear`, {
      hint: 'unplug and plug the drive in again, then retry; the kernel log (journalctl -k) may say more',
    });
  }
}

const E2FS = 'e2fsprogs';
const UTIL = 'util-linux';

export function hostDisks(log: Logger, mountinfo = '/proc/self/mountinfo'): DiskHost {
  const mounted = async (target: string) =>
    parseMountInfo(await fs.readFile(mountinfo, 'utf8')).some((m) => m.mountPoint === target);

  const self: DiskHost = {
    lsblk: async () =>
      (await run(['lsblk', '--json', '--bytes', '--output', LSBLK_COLUMNS], { log, debianPackage: UTIL }))
        .stdout,

    async probe(device) {
      try {
        const { stdout } = await run(['blkid', '--probe', '--output', 'export', device], {
          log,
          debianPackage: UTIL,
        });
        return parseBlkidExport(stdout);
      } catch (e) {
        if (!(e instanceof CommandFailed)) throw e;
        // 2: nothing found (quietly) or the device could not be opened (said on stderr);
        // 8: several signatures disagree — something is there, nobody knows what.
        if (e.exitCode === 2) return e.stderr.trim() === '' ? {} : { unreadable: true };
        if (e.exitCode === 8) return { fsType: 'unknown' };
        throw e;
      }
    },

    /*
     * debugfs -c opens the device read-only and reads the superblock, the root directory
     * and one inode. Mounting would do more: replay a journal, leave a mount behind if we
     * are killed meanwhile, and run the kernel's filesystem code on a stranger's USB stick.
     * It prints the inode ("Inode: 12 …") or "File not found" on stderr, exiting 0 either way.
     */
    async hasFile(device, file) {
      try {
        const { stdout } = await run(['debugfs', '-c', '-R', `stat /${file}`, device], {
          log,
          debianPackage: E2FS,
        });
        return /^Inode:\s*\d+/m.test(stdout);
      } catch (e) {
        if (e instanceof CommandFailed) return false;
        throw e;
      }
    },

    mountInfo: async () => parseMountInfo(await fs.readFile(mountinfo, 'utf8')),

    async partition(drive, name) {
      // --wipe: old signatures on the drive (a filesystem, RAID or LVM labels) go; the
      // same for the new partition's area, so no stale superblock shows through.
      await run(['sfdisk', '--quiet', '--wipe', 'always', '--wipe-partitions', 'always', drive], {
        input: `label: gpt\ntype=linux, name="${name}"\n`,
        log,
        debianPackage: 'fdisk',
      });
      // sfdisk asks the kernel to re-read the table, which a loop device (and a busy
      // disk) may not do: partx tells it about each partition directly.
      await run(['partx', '--update', drive], { log, debianPackage: UTIL });
      for (let i = 0; i < 200; i++) {
        const [disk] = parseLsblk(
          (
            await run(['lsblk', '--json', '--bytes', '--output', LSBLK_COLUMNS, drive], {
              log,
              debianPackage: UTIL,
            })
          ).stdout,
        );
        const part = disk?.children.find((c) => c.type === 'part');
        // The kernel makes the node in devtmpfs at once; udev may still be adding links.
        if (part && (await fs.stat(part.path).catch(() => undefined))?.isBlockDevice()) return part.path;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new PartitionMissing(drive);
    },

    async format(partition, { label, uuid }) {
      // -F: once, so that mke2fs does not stop at a leftover signature; it still refuses
      // a mounted device.
      await run(['mkfs.ext4', '-q', '-F', '-L', label, '-U', uuid, partition], {
        log,
        debianPackage: E2FS,
      });
    },

    async check(device) {
      try {
        await run(['e2fsck', '-p', device], { log, debianPackage: E2FS });
      } catch (e) {
        // 1: errors were fixed. Worse is left for a person, as at boot: mounting may still work.
        if (!(e instanceof CommandFailed) || e.exitCode === null) throw e;
        if (e.exitCode > 1) log.warn('e2fsck left errors', { device, exitCode: e.exitCode });
      }
    },

    async findFilesystem(uuid) {
      try {
        // -c /dev/null: no cache, probe the devices as they are now.
        const { stdout } = await run(
          ['blkid', '-c', '/dev/null', '--match-token', `UUID=${uuid}`, '--output', 'device'],
          { log, debianPackage: UTIL },
        );
        return stdout.split('\n')[0]?.trim() || undefined;
      } catch (e) {
        if (e instanceof CommandFailed && e.exitCode === 2) return undefined;
        throw e;
      }
    },

    async deviceNumber(device) {
      const { rdev } = await fs.stat(device, { bigint: true });
      // glibc's encoding of dev_t (major/minor in sys/sysmacros.h).
      const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
      const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
      return `${major}:${minor}`;
    },

    async mount(device, target) {
      // A mount point made here (a staging one) is root's alone while nothing is on it.
      await fs.mkdir(target, { recursive: true, mode: 0o700 });
      await run(['mount', '-t', 'ext4', '-o', 'noatime', device, target], { log, debianPackage: 'mount' });
    },

    async unmount(target) {
      while (await mounted(target)) await run(['umount', target], { log, debianPackage: 'mount' });
    },
  };
  return self;
}
