import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { HearthError } from '../src/errors.ts';
import { Events } from '../src/events/events.ts';
import { hostBootSlots } from '../src/host/boot-slots.ts';
import { BundleRefused, hostRauc } from '../src/host/rauc.ts';
import { run } from '../src/host/run.ts';
import { silentLogger } from '../src/log/log.ts';
import { Notifications } from '../src/notifications/notifications.ts';
import { migrate, openDatabase } from '../src/state/db.ts';
import { MIGRATIONS } from '../src/state/migrations.ts';
import { StateDocument } from '../src/state/state-doc.ts';
import { UpdateService } from '../src/update/update.ts';
import { required } from './required.ts';

/*
 * The update engine for real: Debian's rauc (bundle, info, extract, install through its
 * D-Bus service on a private bus) with Hearth's boot backend (rootfs/usr/libexec/hearth/
 * rauc-boot) over two loop devices as root slots A and B and a directory as the boot
 * partition. Bundles are signed by a test CA made here; the box's keyring is that CA.
 * This machine's kernel has no device-mapper, so bundles that are installed are RAUC's
 * `plain` format (the box uses `verity`, which `rauc install` reads through dm-verity);
 * the verity bundles are checked with info and extract, which read them in user space.
 */

const BACKEND = path.resolve(import.meta.dirname, '../../rootfs/usr/libexec/hearth/rauc-boot');
const have = (bin: string) =>
  ['/usr/bin', '/usr/sbin', '/bin', '/sbin'].some((d) => fs.existsSync(path.join(d, bin)));
const skip = required(
  process.getuid?.() !== 0 || !fs.existsSync('/dev/loop-control')
    ? 'needs root and loop devices'
    : !have('rauc') || !have('mkfs.erofs') || !have('dbus-daemon')
      ? 'needs rauc, erofs-utils and dbus-daemon (apt-get install rauc erofs-utils dbus)'
      : false,
  'the update engine tests',
);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-update-engine-'));
const at = (...p: string[]) => path.join(dir, ...p);
const loops: string[] = [];
const processes: ChildProcess[] = [];
let slotA = '';
let slotB = '';
const env = () => ({
  ...process.env,
  DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${at('bus')}`,
  HEARTH_ESP: at('esp'),
  HEARTH_SLOTS: at('slots'),
  HEARTH_CMDLINE: at('proc', 'cmdline'),
});

/** A root slot image holding what set-primary copies to the boot partition. */
async function rootImage(name: string, version: string): Promise<string> {
  const tree = at(`${name}-tree`);
  fs.mkdirSync(path.join(tree, 'usr/lib/hearth/boot'), { recursive: true });
  fs.writeFileSync(path.join(tree, 'usr/lib/hearth/boot/vmlinuz'), `kernel ${version}\n`);
  // RAUC wants a payload over one 4 KiB block once squashfs has compressed it.
  fs.writeFileSync(path.join(tree, 'usr/lib/hearth/boot/initrd.img'), crypto.randomBytes(64 * 1024));
  fs.writeFileSync(path.join(tree, 'usr/lib/hearth/boot/version'), `VERSION=${version}\n`);
  fs.writeFileSync(path.join(tree, 'usr/lib/hearth/boot/cmdline'), 'quiet\n');
  const image = at(`${name}.erofs`);
  await run(['mkfs.erofs', '--quiet', image, tree]);
  return image;
}

async function bundle(
  name: string,
  o: { version: string; compatible?: string; format?: 'plain' | 'verity'; key?: string; cert?: string },
): Promise<string> {
  const content = at(`${name}-content`);
  fs.mkdirSync(content, { recursive: true });
  fs.copyFileSync(await rootImage(name, o.version), path.join(content, 'root.img'));
  fs.writeFileSync(
    path.join(content, 'manifest.raucm'),
    `[update]\ncompatible=${o.compatible ?? 'hearth-x86_64'}\nversion=${o.version}\n\n[bundle]\nformat=${o.format ?? 'plain'}\n\n[image.rootfs]\nfilename=root.img\n`,
  );
  const out = at(`${name}.raucb`);
  await run([
    'rauc',
    'bundle',
    `--cert=${o.cert ?? at('cert.pem')}`,
    `--key=${o.key ?? at('key.pem')}`,
    content,
    out,
  ]);
  return out;
}

/** A copy of `file` with one byte changed at `offset` (from the end when negative). */
function tampered(file: string, offset: number): string {
  const copy = file.replace(/\.raucb$/, `-tampered${offset}.raucb`);
  const bytes = fs.readFileSync(file);
  const i = offset < 0 ? bytes.length + offset : offset;
  bytes[i] = bytes[i]! ^ 0xff;
  fs.writeFileSync(copy, bytes);
  return copy;
}

const keyPair = (name: string, cn: string) =>
  run([
    ...['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...[
      '-keyout',
      at(`${name}key.pem`),
      '-out',
      at(`${name}cert.pem`),
      '-days',
      '3650',
      '-subj',
      `/CN=${cn}`,
    ],
  ]);

/** Slot B as bytes: all zero until something writes it. */
const slotBIsEmpty = () => {
  const fd = fs.openSync(slotB, 'r');
  try {
    const b = Buffer.alloc(1 << 20);
    fs.readSync(fd, b, 0, b.length, 0);
    return b.every((x) => x === 0);
  } finally {
    fs.closeSync(fd);
  }
};

async function startRauc(): Promise<void> {
  fs.writeFileSync(
    at('bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${at('bus')}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="root"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>`,
  );
  processes.push(spawn('dbus-daemon', ['--config-file', at('bus.conf'), '--nofork'], { stdio: 'ignore' }));
  while (!fs.existsSync(at('bus'))) await sleep(20);
  processes.push(
    spawn('rauc', ['service', `--conf=${at('system.conf')}`, '--override-boot-slot=A'], {
      env: env(),
      stdio: 'ignore',
    }),
  );
  // Ready once it answers on the bus.
  for (let i = 0; ; i++) {
    try {
      await run(['rauc', 'status', `--conf=${at('system.conf')}`], { env: env() });
      return;
    } catch (e) {
      if (i > 100) throw e;
      await sleep(50);
    }
  }
}

describe('the update engine', { skip }, () => {
  before(async () => {
    await keyPair('', 'Hearth test release');
    await keyPair('stranger-', 'Someone else');
    for (const name of ['a', 'b']) {
      fs.writeFileSync(at(`slot-${name}.img`), '');
      fs.truncateSync(at(`slot-${name}.img`), 16 * 1024 * 1024);
      loops.push((await run(['losetup', '--find', '--show', at(`slot-${name}.img`)])).stdout.trim());
    }
    [slotA, slotB] = loops as [string, string];
    await run([
      'dd',
      `if=${await rootImage('running', '0.2.0')}`,
      `of=${slotA}`,
      'conv=notrunc',
      'status=none',
    ]);
    fs.writeFileSync(at('slots'), `A ${slotA} aaaaaaaa-0002\nB ${slotB} bbbbbbbb-0003\n`);
    fs.mkdirSync(at('esp/loader/entries'), { recursive: true });
    fs.writeFileSync(
      at('esp/loader/entries/hearth-a.conf'),
      'title Hearth\nversion 0.2.0 (slot A)\nsort-key hearth-1\nlinux /hearth/a/vmlinuz\n',
    );
    fs.mkdirSync(at('proc/sys/kernel/random'), { recursive: true });
    fs.writeFileSync(at('proc/cmdline'), 'root=PARTUUID=aaaaaaaa-0002 rauc.slot=A ro\n');
    fs.writeFileSync(at('proc/sys/kernel/random/boot_id'), 'boot-1\n');
    fs.writeFileSync(
      at('system.conf'),
      `[system]\ncompatible=hearth-x86_64\nbootloader=custom\nactivate-installed=false\nstatusfile=${at('status.raucs')}\n\n` +
        `[handlers]\nbootloader-custom-backend=${BACKEND}\n\n[keyring]\npath=${at('cert.pem')}\n\n` +
        `[slot.rootfs.0]\ndevice=${slotA}\ntype=raw\nbootname=A\n\n[slot.rootfs.1]\ndevice=${slotB}\ntype=raw\nbootname=B\n`,
    );
    await startRauc();
  });
  after(async () => {
    for (const p of processes.reverse()) {
      p.kill('SIGTERM');
      if (p.exitCode === null) await new Promise((r) => p.once('exit', r));
    }
    for (const l of loops) await run(['losetup', '--detach', l]).catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const engine = () => hostRauc({ conf: at('system.conf'), env: env(), log: silentLogger });
  const refused = (reason: string) => (e: unknown) =>
    e instanceof HearthError && e.code === 'update_refused' && e.data?.['reason'] === reason;

  test('a signed verity bundle: rauc info reads it, extract checks every block; a changed one is refused', async () => {
    const good = await bundle('verity', { version: '0.3.0', format: 'verity' });
    const info = await engine().info(good);
    assert.equal(info.version, '0.3.0');
    assert.equal(info.compatible, 'hearth-x86_64');
    await engine().checkPayload(good, at('scratch'));
    // A changed block of the payload: the signature still matches the manifest, the hash tree does not.
    const payload = tampered(good, 4096 * 3);
    await engine().info(payload);
    await assert.rejects(engine().checkPayload(payload, at('scratch')), refused('corrupted'));
    assert.equal(fs.existsSync(at('scratch')), false, 'the scratch copy is gone');
    // A changed signature, another signer, something that is no bundle at all.
    await assert.rejects(engine().info(tampered(good, -100)), refused('bad_signature'));
    const stranger = await bundle('stranger', {
      version: '0.3.0',
      key: at('stranger-key.pem'),
      cert: at('stranger-cert.pem'),
    });
    await assert.rejects(engine().info(stranger), refused('bad_signature'));
    await assert.rejects(engine().info(at('verity.erofs')), (e) => e instanceof BundleRefused);
  });

  test('an apply writes slot B and makes it the trial; refusals leave slot B untouched', async () => {
    const db = openDatabase(':memory:');
    migrate(db, MIGRATIONS);
    const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
    fs.mkdirSync(at('data'), { recursive: true });
    const slots = hostBootSlots({
      dir: at('data/os-update'),
      database: at('data/hearth.db'),
      runtimeDir: at('run'),
      proc: at('proc'),
    });
    const service = new UpdateService({
      db,
      state,
      events: new Events({ db, retentionDays: 30 }),
      notifications: new Notifications({ db, state }),
      engine: engine(),
      slots,
      open: async () => {
        throw new Error('not used: bundles come from a path');
      },
      fetchFeed: async () => Buffer.alloc(0),
      reboot: async () => {},
      feedUrl: '',
      feedKeys: [],
      platform: 'x86_64',
      version: '0.2.0',
      bundle: at('data/os-update/bundle.raucb'),
      scratch: at('data/os-update/extract'),
      log: silentLogger,
    });
    assert.equal(service.status().slot, 'A');

    const older = await bundle('older', { version: '0.1.0' });
    const wrongArch = await bundle('pi', { version: '0.3.0', compatible: 'hearth-raspberrypi' });
    const good = await bundle('good', { version: '0.3.0' });
    const changed = tampered(good, 4096 * 3);
    for (const [file, reason] of [
      [older, 'older'],
      [wrongArch, 'wrong_platform'],
      [tampered(good, -100), 'bad_signature'],
      // A plain bundle's signature covers its whole payload: a changed block fails it too.
      [changed, 'bad_signature'],
    ] as const) {
      await assert.rejects(service.apply({ path: file }), refused(reason), reason);
      assert.ok(slotBIsEmpty(), `slot B untouched after a refusal (${reason})`);
      assert.equal(service.status().phase, 'idle');
      assert.equal(service.status().last?.outcome, 'failed');
    }
    // An older one goes when asked for; it is not applied here (the next one is).
    const progress: string[] = [];
    const after = await service.apply({ path: good }, { progress: (p) => progress.push(p.step) });
    assert.equal(after.phase, 'trial');
    assert.equal(after.applying, '0.3.0');
    assert.deepEqual([...new Set(progress)], ['verify', 'write', 'prepare-boot']);
    assert.equal(slotBIsEmpty(), false, 'slot B written');
    // The boot partition: B's kernel and initramfs from B's own root, a trial entry first in order.
    assert.equal(fs.readFileSync(at('esp/hearth/b/vmlinuz'), 'utf8'), 'kernel 0.3.0\n');
    const entries = fs.readdirSync(at('esp/loader/entries')).sort();
    assert.deepEqual(entries, ['hearth-a.conf', 'hearth-b+2.conf']);
    const b = fs.readFileSync(at('esp/loader/entries/hearth-b+2.conf'), 'utf8');
    assert.match(b, /^sort-key hearth-1$/m);
    assert.match(b, /^options root=PARTUUID=bbbbbbbb-0003 rauc\.slot=B quiet$/m);
    assert.match(fs.readFileSync(at('esp/loader/entries/hearth-a.conf'), 'utf8'), /^sort-key hearth-2$/m);
    assert.deepEqual(slots.readPending(), { from: 'A', to: 'B', fromVersion: '0.2.0', toVersion: '0.3.0' });
    // The engine agrees: B is primary (the next boot), A booted.
    const status = await engine().status();
    assert.equal(status.primary, 'B');
    assert.equal(status.booted, 'A');
    // Nothing happens without a restart.
    await service.pass();
    assert.equal(service.status().phase, 'trial');
    // Another apply before the restart replaces the waiting trial (RAUC marks B bad while it writes).
    await service.apply({ path: good });
    assert.deepEqual(fs.readdirSync(at('esp/loader/entries')).sort(), ['hearth-a.conf', 'hearth-b+2.conf']);
    assert.equal(service.status().phase, 'trial');
  });
});

describe('rauc-boot, the boot backend', { skip }, () => {
  const esp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-rauc-boot-'));
  after(() => fs.rmSync(esp, { recursive: true, force: true }));
  const backend = (boot: string, ...args: string[]) =>
    run([BACKEND, ...args], { env: { ...process.env, HEARTH_ESP: esp, HEARTH_BOOT: boot } }).then((r) =>
      r.stdout.trim(),
    );

  test('systemd-boot: a trial entry used up sorts last, so the good slot is primary; blessing drops the counter', async () => {
    const entries = path.join(esp, 'loader/entries');
    fs.mkdirSync(entries, { recursive: true });
    fs.writeFileSync(path.join(entries, 'hearth-a.conf'), 'sort-key hearth-2\n');
    fs.writeFileSync(path.join(entries, 'hearth-b+0-2.conf'), 'sort-key hearth-1\n');
    assert.equal(await backend('systemd-boot', 'get-state', 'B'), 'bad');
    assert.equal(await backend('systemd-boot', 'get-primary'), 'A');
    fs.renameSync(path.join(entries, 'hearth-b+0-2.conf'), path.join(entries, 'hearth-b+1-1.conf'));
    assert.equal(await backend('systemd-boot', 'get-primary'), 'B');
    await backend('systemd-boot', 'set-state', 'B', 'good');
    assert.deepEqual(fs.readdirSync(entries).sort(), ['hearth-a.conf', 'hearth-b.conf']);
    await backend('systemd-boot', 'set-state', 'A', 'bad');
    assert.deepEqual(fs.readdirSync(entries).sort(), ['hearth-a+0-2.conf', 'hearth-b.conf']);
    await assert.rejects(backend('systemd-boot', 'get-state', 'C'));
    await assert.rejects(backend('systemd-boot', 'set-state', 'A', 'great'));
  });

  test('tryboot: the trial names slot B in tryboot.txt only; mark-good copies it over config.txt', async () => {
    fs.writeFileSync(path.join(esp, 'config.txt'), '[all]\nos_prefix=a/\narm_64bit=1\n');
    // What set-primary leaves (its copy of the boot files is covered with RAUC above).
    fs.writeFileSync(path.join(esp, 'tryboot.txt'), '[all]\nos_prefix=b/\narm_64bit=1\n');
    fs.writeFileSync(path.join(esp, 'hearth-trial'), 'B\n');
    assert.equal(await backend('tryboot', 'get-primary'), 'B');
    // A failed trial: the firmware read config.txt again, and the box says B is bad.
    await backend('tryboot', 'set-state', 'B', 'bad');
    assert.equal(await backend('tryboot', 'get-primary'), 'A');
    assert.equal(await backend('tryboot', 'get-state', 'B'), 'bad');
    assert.match(fs.readFileSync(path.join(esp, 'config.txt'), 'utf8'), /^os_prefix=a\/$/m);
    // A good trial: mark-good is the copy.
    fs.writeFileSync(path.join(esp, 'hearth-trial'), 'B\n');
    await backend('tryboot', 'set-state', 'B', 'good');
    assert.equal(fs.readFileSync(path.join(esp, 'config.txt'), 'utf8'), '[all]\nos_prefix=b/\narm_64bit=1\n');
    assert.equal(await backend('tryboot', 'get-primary'), 'B');
    assert.equal(await backend('tryboot', 'get-state', 'B'), 'good');
    assert.equal(fs.existsSync(path.join(esp, 'hearth-trial')), false);
  });
});
