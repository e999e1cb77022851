import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseBlkidExport, parseLsblk } from './disks-parse.ts';

const fixture = (name: string) =>
  fs.readFileSync(path.join(import.meta.dirname, '../disks/__fixtures__', name), 'utf8');

test('lsblk of this machine with loop devices attached: the tree, sizes, flags and mounts', () => {
  const devices = parseLsblk(fixture('lsblk-loops.json'));
  assert.deepEqual(
    devices.map((d) => d.name),
    ['loop0', 'loop1', 'loop2', 'loop3', 'loop4', 'zram0', 'vda'],
  );
  const loop0 = devices[0]!;
  assert.equal(loop0.type, 'loop');
  assert.equal(loop0.majMin, '7:0');
  assert.equal(loop0.sizeBytes, 2 * 1024 ** 3);
  assert.deepEqual(loop0.mountpoints, []);
  assert.deepEqual(
    loop0.children.map((c) => [c.path, c.type, c.majMin]),
    [['/dev/loop0p1', 'part', '259:0']],
  );
  const squashfs = devices[1]!;
  assert.equal(squashfs.readOnly, true);
  assert.deepEqual(squashfs.mountpoints, ['/tmp/hearth-test-mq4vUz/run/hearth/lxc/hearth-hello-world/lower']);
  const vda = devices.at(-1)!;
  assert.deepEqual([vda.type, vda.vendor, vda.model, vda.mountpoints], ['disk', '0x1af4', null, ['/']]);
});

test('lsblk: models and vendors are trimmed, and flags may be "0"/"1" (util-linux before 2.37)', () => {
  const [ssd] = parseLsblk(fixture('lsblk-minipc.json'));
  assert.deepEqual(
    [ssd!.vendor, ssd!.model, ssd!.transport, ssd!.hotplug],
    ['SanDisk', 'Extreme SSD', 'usb', true],
  );
  const [old] = parseLsblk(
    '{"blockdevices":[{"name":"sdb","maj:min":"8:16","type":"disk","size":"8000000000","rm":"1","ro":"0","mountpoints":[null]}]}',
  );
  assert.deepEqual(
    [old!.path, old!.sizeBytes, old!.removable, old!.readOnly],
    ['/dev/sdb', 8e9, true, false],
  );
  assert.throws(() => parseLsblk('{"devices":[]}'), /blockdevices/);
});

test('blkid -p: partition tables, filesystems, GPT names; each device of the captured output', () => {
  const blocks = fixture('blkid-loops.txt').split('\n\n').map(parseBlkidExport);
  assert.deepEqual(blocks[0], { partitionTable: 'gpt' });
  assert.deepEqual(blocks[1], {
    fsType: 'ext4',
    label: 'hearth-data',
    uuid: 'ed7914cd-097c-4592-97de-c0b36b30293d',
    partLabel: 'hearth-data',
    partUuid: '71428a80-7d76-9948-84ea-79f0bb5d13de',
  });
  assert.deepEqual(blocks[2], {
    fsType: 'ext4',
    label: 'photos',
    uuid: 'a567e949-4c7f-4ae5-b231-aebe2086c784',
  });
  assert.deepEqual(blocks[3], { partitionTable: 'dos' });
  assert.equal(blocks[4]!.fsType, 'vfat');
  assert.equal(blocks[4]!.label, 'CAMERA');
  assert.equal(blocks[4]!.partLabel, undefined);
  assert.deepEqual(parseBlkidExport(''), {});
});

test('blkid -p: shell-escaped values are unescaped', () => {
  assert.equal(
    parseBlkidExport('DEVNAME=/dev/sdb1\nLABEL=My\\ Photos\\=2024\nTYPE=ntfs\n').label,
    'My Photos=2024',
  );
});
