import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, log, mtools, partitions, REPO, Vm } from './vm.ts';

/**
 * The Raspberry Pi image: its FAT partition checked against what the Pi firmware reads,
 * then the same image file booted in qemu-system-aarch64 -M virt through the EFI loader on
 * that partition (the Pi firmware itself cannot be emulated), to the setup wizard
 * answering on the forwarded port 80. `make test-vm-arm64`.
 */
const IMAGE = process.env['HEARTH_IMAGE'] ?? '';
const skip = fs.existsSync(IMAGE) ? false : 'needs the image (HEARTH_IMAGE): run `make test-vm-arm64`';
// Software emulation of arm64 on x86_64: slower still than the x86_64 VM.
const BOOT_TIMEOUT = 30 * 60_000;

describe('the Raspberry Pi image', { skip, timeout: 60 * 60_000 }, () => {
  const work = path.join(REPO, 'out/test-vm-arm64');
  let vm: Vm;

  before(async () => {
    fs.rmSync(work, { recursive: true, force: true });
    fs.mkdirSync(work, { recursive: true });
    vm = new Vm({ image: IMAGE, dir: path.join(work, 'vm'), httpPort: await freePort() });
  });
  after(async () => {
    await vm?.kill();
    if (!process.env['HEARTH_KEEP_VM']) fs.rmSync(work, { recursive: true, force: true });
  });

  test('has what the Pi firmware needs on its FAT partition', () => {
    const table = partitions(IMAGE);
    assert.equal(table.label, 'dos', 'the Pi boots from an MBR, as Debian’s raspi images');
    const [boot, rootA, rootB, data] = table.partitions;
    assert.ok(boot && rootA && rootB && data);
    assert.equal(boot.type, 'c', 'FAT32 (LBA) first');
    const files = mtools('mdir', IMAGE, boot.start, ['-/', '-b', '::/'])
      .split('\n')
      .map((l) => l.replace(/^::\//, ''));
    const has = (f: string) => assert.ok(files.includes(f), `${f} on the FAT (${files.length} files)`);
    // The firmware of the Pi 4 family, at the top where it looks.
    for (const f of ['start4.elf', 'fixup4.dat', 'config.txt', 'tryboot.txt']) has(f);
    // Slot A's kernel, initramfs, cmdline.txt and the DTBs of the supported boards, in a/.
    for (const f of [
      'a/cmdline.txt',
      'a/bcm2711-rpi-4-b.dtb',
      'a/bcm2711-rpi-400.dtb',
      'a/bcm2711-rpi-cm4-io.dtb',
    ])
      has(f);
    assert.ok(files.some((f) => /^a\/vmlinuz-/.test(f)) && files.some((f) => /^a\/initrd\.img-/.test(f)));
    // QEMU's way in, ignored by the Pi firmware.
    has('EFI/BOOT/BOOTAA64.EFI');

    const config = mtools('mtype', IMAGE, boot.start, ['::/config.txt']);
    const tryboot = mtools('mtype', IMAGE, boot.start, ['::/tryboot.txt']);
    assert.match(config, /^arm_64bit=1$/m);
    assert.match(config, /^os_prefix=a\/$/m);
    assert.match(tryboot, /^os_prefix=b\/$/m);
    const cmdline = mtools('mtype', IMAGE, boot.start, ['::/a/cmdline.txt']).trim();
    log(`a/cmdline.txt: ${cmdline}`);
    assert.equal(cmdline.split('\n').length, 1, 'cmdline.txt is one line');
    assert.match(cmdline, new RegExp(`root=PARTUUID=${partitionUuid(IMAGE, 2)}( |$)`));
    assert.match(cmdline, /rootfstype=erofs/);
    assert.match(cmdline, new RegExp(`hearth\\.data=PARTUUID=${partitionUuid(IMAGE, 4)}`));
  });

  test('boots in qemu-system-aarch64 -M virt to the setup wizard', async () => {
    await vm.start();
    const toWizard = await vm.waitForApi(BOOT_TIMEOUT);
    log(`arm64 (emulated) boot to wizard: ${(toWizard / 1000).toFixed(1)} s`);
    const status = await vm.client().call('setup.status');
    assert.equal(status.setupComplete, false);
    assert.equal(status.hostname, 'hearth');
    await vm.powerOff();
  });
});

/** An MBR partition's PARTUUID: the disk identifier and the partition number. */
function partitionUuid(image: string, n: number): string {
  const fd = fs.openSync(image, 'r');
  const mbr = Buffer.alloc(512);
  fs.readSync(fd, mbr, 0, 512, 0);
  fs.closeSync(fd);
  return `${mbr.readUInt32LE(440).toString(16).padStart(8, '0')}-${n.toString(16).padStart(2, '0')}`;
}
