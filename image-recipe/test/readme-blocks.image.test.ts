import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { shellCommands } from '../../core/test/reader-shell.ts';
import { REPO } from './vm.ts';

/**
 * The README's flashing and .deb blocks, as written, with the image and the .deb `make` just
 * built (`make test-vm` runs this beside the VM test; `make image` itself is what the target
 * runs). Two things stand in for a reader's machine: a loop device of the image's size is
 * the disk `/dev/sdX`, and the cached Debian 13 stage of the image (under an overlay, in a
 * chroot, every dependency of the .deb already there — nothing is downloaded) is "an
 * existing Debian 13 machine". The reader is root, as the README assumes; `sudo` is a shim
 * that runs its command, since a root shell on Debian need not have sudo.
 */
const IMAGE = process.env['HEARTH_IMAGE'] ?? '';
const DEB = process.env['HEARTH_DEB'] ?? '';
const CACHE = process.env['HEARTH_CACHE'] ?? '/var/cache/hearth-build';
const root = process.getuid?.() === 0;
const README = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');

/** The one command of the sh block after `marker`. */
function readmeCommand(marker: string): string {
  const block = README.slice(README.indexOf(marker));
  const commands = shellCommands(block.slice(0, block.indexOf('\n```\n', block.indexOf('```sh')) + 5), {
    bare: true,
  });
  assert.equal(commands.length, 1, commands.join('\n'));
  return commands[0]!.replace(/\s+#.*$/, '');
}

/** A directory holding `sudo`, which runs its arguments (root needs no more). */
function sudoShim(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-sudo-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'sudo'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
  return dir;
}

const sh = (command: string, cwd: string, pathFirst: string) =>
  spawnSync('sh', ['-euc', command], {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: `${pathFirst}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      LANG: 'C.UTF-8',
    },
  });

test(
  "the README's flashing command writes the image to a whole disk, byte for byte",
  {
    skip: !root || !fs.existsSync(`${IMAGE}.zst`) ? 'needs root and the image (HEARTH_IMAGE)' : false,
    timeout: 600_000,
  },
  (t) => {
    const command = readmeCommand('**Flashing.**');
    assert.match(command, /of=\/dev\/sdX/);
    const zst = path.basename(`${IMAGE}.zst`);
    // The README names the file of this version and platform; the reader is where it is.
    assert.ok(command.includes(zst), `${command} does not name ${zst}`);
    const disk = path.join(os.tmpdir(), `hearth-flash-${process.pid}.img`);
    fs.writeFileSync(disk, '');
    fs.truncateSync(disk, fs.statSync(IMAGE).size);
    const loop = execFileSync('losetup', ['--find', '--show', disk], { encoding: 'utf8' }).trim();
    t.after(() => {
      spawnSync('losetup', ['--detach', loop]);
      fs.rmSync(disk, { force: true });
    });
    const run = sh(command.replace('/dev/sdX', loop), path.dirname(IMAGE), sudoShim(t));
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    const same = spawnSync('cmp', [IMAGE, loop], { encoding: 'utf8' });
    assert.equal(same.status, 0, `the disk differs from the image: ${same.stdout}${same.stderr}`);
  },
);

/** The Debian 13 stage `make image` cached for x86_64 (one is kept per platform). */
function debianStage(): string | undefined {
  const dir = path.join(CACHE, 'image');
  if (!fs.existsSync(dir)) return undefined;
  return fs
    .readdirSync(dir)
    .filter((d) => d.startsWith('rootfs-x86_64-') && fs.existsSync(path.join(dir, d, '.ok')))
    .map((d) => path.join(dir, d))[0];
}

test(
  "the README's apt command installs the .deb on a Debian 13 machine, every dependency met",
  {
    skip: !root || !fs.existsSync(DEB) || !debianStage() ? 'needs root, the .deb and the image stage' : false,
    timeout: 300_000,
  },
  (t) => {
    const command = readmeCommand('**On an existing Debian 13 machine**');
    assert.ok(command.includes(`./${path.basename(DEB)}`), `${command} does not name ${path.basename(DEB)}`);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-apt-'));
    const machine = path.join(work, 'root');
    for (const d of ['upper', 'work', 'root']) fs.mkdirSync(path.join(work, d));
    const mounted: string[] = [];
    t.after(() => {
      for (const m of mounted.reverse()) spawnSync('umount', ['--lazy', m]);
      fs.rmSync(work, { recursive: true, force: true });
    });
    const mount = (...args: string[]) => {
      execFileSync('mount', args);
      mounted.push(args.at(-1)!);
    };
    mount(
      '-t',
      'overlay',
      'overlay',
      '-o',
      `lowerdir=${debianStage()},upperdir=${work}/upper,workdir=${work}/work`,
      machine,
    );
    mount('--bind', '/proc', path.join(machine, 'proc'));
    mount('--bind', '/dev', path.join(machine, 'dev'));
    fs.writeFileSync(path.join(machine, 'usr/local/bin/sudo'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
    fs.copyFileSync(DEB, path.join(machine, 'root', path.basename(DEB)));
    const inside = (c: string) => sh(`chroot ${machine} sh -euc 'cd /root && ${c}'`, REPO, '');
    const install = inside(command);
    assert.equal(install.status, 0, `${install.stdout}${install.stderr}`);
    assert.match(inside('dpkg -s hearth').stdout, /^Status: install ok installed$/m);
    const version = inside('hearth --version');
    assert.equal(version.status, 0, `${version.stdout}${version.stderr}`);
    assert.ok(fs.existsSync(path.join(machine, 'usr/lib/systemd/system/hearth.service')));
  },
);
