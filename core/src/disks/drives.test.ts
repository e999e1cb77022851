import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMountInfo } from '../host/lxc-parse.ts';
import { drivesOf, fixture, LOOPS, MINIPC, PI } from './__fixtures__/scenarios.ts';
import { describeContents, mountHolding, systemDevices } from './drives.ts';

test('this machine with loop devices: loop devices only when asked, zram and the empty ones never', () => {
  assert.deepEqual(
    drivesOf(LOOPS, { loopDevices: false }).map((d) => d.path),
    ['/dev/vda'],
  );
  const drives = drivesOf(LOOPS);
  assert.deepEqual(
    drives.map((d) => d.path),
    ['/dev/loop0', '/dev/loop1', '/dev/loop2', '/dev/loop3', '/dev/loop4', '/dev/vda'],
  );
  const [gpt, squashfs, photos, empty, dos, vda] = drives;
  assert.deepEqual(
    { ...gpt, partitions: gpt!.partitions.map((p) => [p.name, p.partLabel, p.fsType, p.label]) },
    {
      path: '/dev/loop0',
      name: 'loop0',
      type: 'loop',
      model: null,
      vendor: null,
      serial: null,
      sizeBytes: 2147483648,
      transport: null,
      removable: false,
      readOnly: false,
      partitionTable: 'gpt',
      filesystem: null,
      partitions: [['loop0p1', 'hearth-data', 'ext4', 'hearth-data']],
      mountpoints: [],
      unreadable: false,
      system: false,
      dataPartition: null,
      hearthData: '/dev/loop0p1',
      hasData: true,
    },
  );
  // Another test's package image: mounted, so in use.
  assert.deepEqual(squashfs!.mountpoints, [
    '/tmp/hearth-test-mq4vUz/run/hearth/lxc/hearth-hello-world/lower',
  ]);
  assert.deepEqual(photos!.filesystem, {
    fsType: 'ext4',
    label: 'photos',
    uuid: 'a567e949-4c7f-4ae5-b231-aebe2086c784',
  });
  assert.equal(photos!.hasData, true);
  assert.equal(photos!.hearthData, null);
  assert.deepEqual([empty!.hasData, empty!.partitionTable, empty!.filesystem], [false, null, null]);
  assert.deepEqual([dos!.partitionTable, dos!.mountpoints], ['dos', ['/tmp/hearth-fixture-lb3h/m']]);
  // The root filesystem is on vda, and blkid may not open it here: both count.
  assert.deepEqual([vda!.system, vda!.unreadable, vda!.dataPartition], [true, true, null]);
});

test('a mini-PC on the x86_64 image: the NVMe holds the system and the data partition', () => {
  const drives = drivesOf(MINIPC);
  // No card in the reader (size 0), and the DVD drive is no drive.
  assert.deepEqual(
    drives.map((d) => d.path),
    ['/dev/sda', '/dev/sdc', '/dev/mmcblk0', '/dev/nvme0n1'],
  );
  const byPath = new Map(drives.map((d) => [d.path, d]));
  const nvme = byPath.get('/dev/nvme0n1')!;
  assert.deepEqual(
    [nvme.system, nvme.dataPartition, nvme.hearthData, nvme.transport, nvme.model],
    [true, '/dev/nvme0n1p4', null, 'nvme', 'Samsung SSD 980 500GB'],
  );
  assert.deepEqual(nvme.mountpoints, ['/', '/var/lib/hearth', '/data']);
  const usb = byPath.get('/dev/sda')!;
  assert.deepEqual([usb.system, usb.removable, usb.transport, usb.hasData], [false, true, 'usb', true]);
  assert.equal(describeContents(usb), "1 partition: sda1 (ntfs 'Backup', 1000 GB)");
  assert.equal(byPath.get('/dev/sdc')!.hearthData, '/dev/sdc1');
  assert.deepEqual(
    [byPath.get('/dev/mmcblk0')!.readOnly, byPath.get('/dev/mmcblk0')!.transport],
    [true, 'mmc'],
  );
});

test("a Raspberry Pi on the raspberrypi image: mmcblk0's data partition (MBR: a filesystem label only)", () => {
  const drives = drivesOf(PI);
  // The eMMC's boot areas and zram are not drives.
  assert.deepEqual(
    drives.map((d) => d.path),
    ['/dev/sda', '/dev/sdb', '/dev/mmcblk0'],
  );
  const [ssd, stick, mmc] = drives;
  assert.deepEqual([mmc!.system, mmc!.dataPartition, mmc!.partitionTable], [true, '/dev/mmcblk0p4', 'dos']);
  assert.deepEqual([ssd!.hasData, ssd!.system], [false, false]);
  assert.deepEqual(stick!.mountpoints, ['/media/stick']);
});

test('a Pi whose data partition did not mount: the data directory is on the read-only root, no data partition', () => {
  const drives = drivesOf({ ...PI, dataDir: '/srv/elsewhere' });
  const mmc = drives.find((d) => d.path === '/dev/mmcblk0')!;
  assert.deepEqual([mmc.system, mmc.dataPartition], [true, null]);
});

test('a data directory on a non-system drive counts wherever it is, labelled or not', () => {
  const mounts = `${fixture('mountinfo-minipc.txt')}40 20 8:1 / /srv/hearth rw - ntfs3 /dev/sda1 rw\n`;
  const drives = drivesOf({ ...MINIPC, mountinfo: mounts, dataDir: '/srv/hearth/state' });
  assert.equal(drives.find((d) => d.path === '/dev/sda')!.dataPartition, '/dev/sda1');
});

test('system devices and the mount holding a path, from mountinfo', () => {
  const mounts = parseMountInfo(fixture('mountinfo-raspberrypi.txt'));
  assert.deepEqual([...systemDevices(mounts)].sort(), ['179:1', '179:2']);
  assert.equal(mountHolding(mounts, '/var/lib/hearth/packages')?.device, '179:4');
  assert.equal(mountHolding(mounts, '/var/lib/hearth')?.mountPoint, '/var/lib/hearth');
  assert.equal(mountHolding(mounts, '/var/lib/hearthx')?.mountPoint, '/var');
  assert.equal(mountHolding(mounts, '/srv')?.mountPoint, '/');
});
