import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseLsblk } from '../host/disks-parse.ts';
import { drivesOf, LOOPS, MINIPC, PI, type Scenario } from './__fixtures__/scenarios.ts';
import { type DriveChoice, planDrive } from './plan.ts';

const box = { dev: false };
const plan = (s: Scenario, choice: DriveChoice, options = box) => planDrive(drivesOf(s), choice, options);
const refusal = (s: Scenario, choice: DriveChoice, options = box) => {
  try {
    plan(s, choice, options);
  } catch (e) {
    const { code, message, hint, data } = e as { code: string; message: string; hint: string; data: unknown };
    return { code, message, hint, data };
  }
  assert.fail(`${choice.dataDrive} was not refused`);
};

test('the boot disk of an image: its data partition is used as it is', () => {
  for (const [s, drive] of [
    [MINIPC, '/dev/nvme0n1'],
    [PI, '/dev/mmcblk0'],
  ] as const) {
    assert.equal(plan(s, { dataDrive: drive }).kind, 'in-place');
    assert.equal(refusal(s, { dataDrive: drive, erase: true }).code, 'invalid_params');
    assert.equal(refusal(s, { dataDrive: drive, attach: true }).code, 'invalid_params');
  }
});

test('the system drive without a Hearth data partition is refused, whatever else is said', () => {
  const r = refusal(LOOPS, { dataDrive: '/dev/vda', erase: true });
  assert.equal(r.code, 'system_drive');
  assert.match(r.message, /\/dev\/vda holds the running system/);
  const broken = { ...PI, dataDir: '/srv/elsewhere' };
  assert.equal(refusal(broken, { dataDrive: '/dev/mmcblk0' }).code, 'system_drive');
});

test('a drive with data needs erase: true, and the refusal says what is on it', () => {
  const r = refusal(MINIPC, { dataDrive: '/dev/sda' });
  assert.equal(r.code, 'drive_not_empty');
  assert.equal(r.message, "/dev/sda is not empty: it holds 1 partition: sda1 (ntfs 'Backup', 1000 GB)");
  assert.match(r.hint, /erase: true/);
  assert.deepEqual(r.data, { drive: '/dev/sda', contents: "1 partition: sda1 (ntfs 'Backup', 1000 GB)" });
  assert.equal(plan(MINIPC, { dataDrive: '/dev/sda', erase: true }).kind, 'format');
  assert.match(
    refusal(LOOPS, { dataDrive: '/dev/loop2' }).message,
    /a filesystem on the whole drive \(ext4 'photos'\)/,
  );
});

test('an empty drive is formatted without erase', () => {
  assert.equal(plan(PI, { dataDrive: '/dev/sda' }).kind, 'format');
  assert.equal(plan(LOOPS, { dataDrive: '/dev/loop3' }).kind, 'format');
});

test('a drive holding Hearth data is offered for attaching', () => {
  const r = refusal(MINIPC, { dataDrive: '/dev/sdc' });
  assert.equal(r.code, 'drive_has_hearth_data');
  assert.match(r.hint, /attach: true/);
  assert.match(r.hint, /erase: true/);
  assert.deepEqual(plan(MINIPC, { dataDrive: '/dev/sdc', attach: true }), {
    kind: 'attach',
    drive: drivesOf(MINIPC).find((d) => d.path === '/dev/sdc'),
    filesystem: '/dev/sdc1',
  });
  assert.equal(plan(MINIPC, { dataDrive: '/dev/sdc', erase: true }).kind, 'format');
  assert.equal(refusal(MINIPC, { dataDrive: '/dev/sdc', erase: true, attach: true }).code, 'invalid_params');
});

test('attach needs Hearth data', () => {
  const r = refusal(MINIPC, { dataDrive: '/dev/sda', attach: true });
  assert.equal(r.code, 'no_hearth_data');
  assert.match(r.message, /sda1 \(ntfs 'Backup'/);
});

test('drives in use, read-only, unreadable, too small, or not drives at all are refused', () => {
  const inUse = refusal(PI, { dataDrive: '/dev/sdb', erase: true });
  assert.equal(inUse.code, 'drive_in_use');
  assert.match(inUse.message, /mounted at \/media\/stick/);
  assert.equal(refusal(MINIPC, { dataDrive: '/dev/mmcblk0', erase: true }).code, 'drive_read_only');
  assert.equal(refusal(LOOPS, { dataDrive: '/dev/loop1' }).code, 'drive_in_use');
  for (const notADrive of ['/dev/sdb', '/dev/sda1', '/dev/sr0', '/dev/mmcblk0boot0', '/dev/nope']) {
    const s = notADrive === '/dev/mmcblk0boot0' ? PI : MINIPC;
    assert.equal(refusal(s, { dataDrive: notADrive }).code, 'not_found', notADrive);
  }
  const lsblk = (size: number) =>
    JSON.stringify({
      blockdevices: [{ name: 'sdx', 'maj:min': '8:96', type: 'disk', size, mountpoints: [null] }],
    });
  const odd = (size: number, probes: Scenario['probes'] = new Map()) =>
    ({ ...PI, lsblk: lsblk(size), probes }) satisfies Scenario;
  assert.equal(parseLsblk(lsblk(1)).length, 1);
  assert.equal(refusal(odd(512 * 1024 ** 2), { dataDrive: '/dev/sdx' }).code, 'drive_too_small');
  const unreadable = odd(8e9, new Map([['/dev/sdx', { unreadable: true }]]));
  assert.equal(refusal(unreadable, { dataDrive: '/dev/sdx', erase: true }).code, 'drive_unreadable');
});

test('in development mode only loop devices are written to', () => {
  const dev = { dev: true };
  const r = refusal(MINIPC, { dataDrive: '/dev/sda', erase: true }, dev);
  assert.equal(r.code, 'real_drive_in_dev');
  assert.match(r.hint, /losetup/);
  assert.equal(plan(LOOPS, { dataDrive: '/dev/loop3' }, dev).kind, 'format');
  // The refusals that protect the system come first, also in development.
  assert.equal(refusal(LOOPS, { dataDrive: '/dev/vda', erase: true }, dev).code, 'system_drive');
});
