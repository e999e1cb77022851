import fs from 'node:fs';
import path from 'node:path';
import { type Probe, parseBlkidExport, parseLsblk } from '../../host/disks-parse.ts';
import { parseMountInfo } from '../../host/lxc-parse.ts';
import { type Drive, describeDrives, mountHolding, systemDevices } from '../drives.ts';

/**
 * The machines of the unit tests: what lsblk, blkid -p and /proc/self/mountinfo say on
 * each. `loops` was captured on the build machine with four loop devices attached (and
 * another test's package image); the others are written by hand after real ones.
 */
export interface Scenario {
  lsblk: string;
  mountinfo: string;
  probes: Map<string, Probe>;
  /** hearth-data filesystems with a hearth.db at their root. */
  hearthDatabases: string[];
  dataDir: string;
}

export const fixture = (name: string) => fs.readFileSync(path.join(import.meta.dirname, name), 'utf8');

const probesFrom = (blkidExport: string) =>
  new Map(
    blkidExport
      .split('\n\n')
      .map((block) => [/^DEVNAME=(.*)$/m.exec(block)![1]!, parseBlkidExport(block)] as const),
  );

const DATA: Probe = { fsType: 'ext4', label: 'hearth-data', uuid: '6f1c4d3e-1a2b-4c5d-8e9f-0a1b2c3d4e5f' };

export const LOOPS: Scenario = {
  lsblk: fixture('lsblk-loops.json'),
  mountinfo: fixture('mountinfo-loops.txt'),
  // blkid could not open vda here (the sandbox forbids it) and found nothing on loop3.
  probes: new Map([...probesFrom(fixture('blkid-loops.txt')), ['/dev/vda', { unreadable: true }]]),
  hearthDatabases: ['/dev/loop0p1'],
  dataDir: '/tmp/hearth-test-abc123/var/lib/hearth',
};

export const MINIPC: Scenario = {
  lsblk: fixture('lsblk-minipc.json'),
  mountinfo: fixture('mountinfo-minipc.txt'),
  probes: new Map<string, Probe>([
    ['/dev/nvme0n1', { partitionTable: 'gpt' }],
    ['/dev/nvme0n1p1', { fsType: 'vfat', label: 'EFI', partLabel: 'hearth-boot' }],
    ['/dev/nvme0n1p2', { fsType: 'erofs', partLabel: 'hearth-root-a' }],
    ['/dev/nvme0n1p3', { fsType: 'erofs', partLabel: 'hearth-root-b' }],
    ['/dev/nvme0n1p4', { ...DATA, partLabel: 'hearth-data' }],
    ['/dev/sda', { partitionTable: 'gpt' }],
    ['/dev/sda1', { fsType: 'ntfs', label: 'Backup', partLabel: 'Basic data partition' }],
    ['/dev/sdc', { partitionTable: 'gpt' }],
    ['/dev/sdc1', { ...DATA, uuid: '0d9e8f7a-6b5c-4d3e-9f2a-1b0c9d8e7f6a', partLabel: 'hearth-data' }],
    ['/dev/mmcblk0', { partitionTable: 'dos' }],
    ['/dev/mmcblk0p1', { fsType: 'exfat', label: 'CAMERA' }],
  ]),
  hearthDatabases: ['/dev/sdc1'],
  dataDir: '/var/lib/hearth',
};

export const PI: Scenario = {
  lsblk: fixture('lsblk-raspberrypi.json'),
  mountinfo: fixture('mountinfo-raspberrypi.txt'),
  probes: new Map<string, Probe>([
    ['/dev/mmcblk0', { partitionTable: 'dos' }],
    ['/dev/mmcblk0p1', { fsType: 'vfat', label: 'RASPIFIRM' }],
    ['/dev/mmcblk0p2', { fsType: 'erofs' }],
    ['/dev/mmcblk0p3', { fsType: 'erofs' }],
    ['/dev/mmcblk0p4', DATA],
    ['/dev/sdb', { partitionTable: 'dos' }],
    ['/dev/sdb1', { fsType: 'vfat', label: 'STICK' }],
  ]),
  hearthDatabases: [],
  dataDir: '/var/lib/hearth',
};

export function drivesOf(s: Scenario, options: { loopDevices?: boolean } = {}): Drive[] {
  const mounts = parseMountInfo(s.mountinfo);
  return describeDrives(parseLsblk(s.lsblk), {
    system: systemDevices(mounts),
    dataDir: mountHolding(mounts, s.dataDir)?.device,
    probes: s.probes,
    hearthDatabases: new Set(s.hearthDatabases),
    loopDevices: options.loopDevices ?? true,
  });
}
