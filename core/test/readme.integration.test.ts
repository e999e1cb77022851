import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runShell, shellCommands } from './reader-shell.ts';
import { required } from './required.ts';
import { REPO } from './services.ts';

/**
 * The README's first steps with `make dev` running, as written, in the checkout: against a
 * daemon on `make dev`'s own command line (make -n), whose root (make dev's DEV_ROOT,
 * /tmp/hearth-dev in the README) is this test's; then the data-drive block the same way, on
 * a file as the drive. The README's other blocks are run elsewhere: `make dev` and
 * `make test` by CI itself, the image, flashing and .deb blocks by the image tier
 * (image-recipe/test/readme-blocks.image.test.ts).
 */
const DEV_ROOT = '/tmp/hearth-dev';

const skip = required(
  fs.existsSync(path.join(REPO, 'out/hearth-x86_64')) && fs.existsSync(path.join(REPO, 'out/hearth'))
    ? false
    : 'needs the built binaries: run `make build`',
  "the README's first steps",
);

/** The README's `make dev`, on make's own command line with this test's root and a free port. */
async function startMakeDev(
  t: TestContext,
  root: string,
): Promise<{ output: () => string; stop: () => Promise<void> }> {
  const dry = execFileSync('make', ['-n', '-s', 'dev', `DEV_ROOT=${root}`, 'DEV_PORT=0'], {
    cwd: REPO,
    encoding: 'utf8',
  }).split('\n');
  const argv = dry
    .find((l) => l.startsWith('exec '))
    ?.slice(5)
    .trim()
    .split(/\s+/);
  assert.ok(argv, dry.join('\n'));
  const daemon = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  for (const s of [daemon.stdout, daemon.stderr])
    s.on('data', (b: Buffer) => {
      output += b.toString();
    });
  const stop = async () => {
    if (daemon.exitCode !== null || daemon.signalCode !== null) return;
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    process.kill(-daemon.pid!, 'SIGKILL');
    await exited;
  };
  t.after(stop);
  const info = path.join(root, 'run/hearth/daemon.json');
  for (const deadline = Date.now() + 30_000; !fs.existsSync(info); await sleep(50))
    assert.ok(
      Date.now() < deadline && daemon.exitCode === null,
      `make dev's daemon did not start:\n${output}`,
    );
  return { output: () => output, stop };
}

/** The sh block after `marker` in the README, its lines as a reader would type them. */
function readmeBlock(marker: string): string[] {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const block = readme.slice(readme.indexOf(marker));
  return shellCommands(block.slice(0, block.indexOf('\n```\n', block.indexOf('```sh')) + 5), { bare: true });
}

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
const traced = (commands: string[]) =>
  [
    'set -eu',
    ...commands.map((c) => `echo "+ ${c.replaceAll('"', '\\"').replaceAll('$', '\\$')}"\n${c}`),
  ].join('\n');

test(
  "the README's first steps work as written against make dev's daemon",
  { skip, timeout: 120_000 },
  async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-readme-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    const daemon = await startMakeDev(t, root);
    const commands = readmeBlock('With `make dev` running, in another terminal:');
    assert.ok(
      commands.length >= 5 && commands.every((c) => c.includes('out/hearth-x86_64')),
      commands.join('\n'),
    );
    const script = traced(commands).replaceAll(DEV_ROOT, root);
    const env = { ...ENV, HOME: root };
    const { code, output } = await runShell(script, REPO, env);
    assert.equal(code, 0, `${output}\n--- the daemon ---\n${daemon.output().slice(-3000)}`);
    assert.match(output, /setupComplete\s+false/, 'setup status before');
    assert.match(output, /hostname\s+hearth/, 'server info after setup');
    assert.match(output, /Usage: hearth/, '--help');
  },
);

const driveSkip = required(
  skip ||
    (process.getuid?.() === 0 && fs.existsSync('/dev/loop-control') ? false : 'needs root and loop devices'),
  "the README's data-drive block",
);

test(
  "the README's data-drive block works as written: a file as the drive, setup onto it, starting over",
  { skip: driveSkip, timeout: 180_000 },
  async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-readme-'));
    const drive = path.join(os.tmpdir(), `hearth-readme-drive-${process.pid}.img`);
    let loop: string | undefined;
    // Whatever happens: the mount, the loop device, the files.
    t.after(() => {
      spawnSync('umount', ['--lazy', path.join(root, 'var/lib/hearth')]);
      if (loop) spawnSync('losetup', ['--detach', loop]);
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(drive, { force: true });
    });
    const daemon = await startMakeDev(t, root);
    const commands = readmeBlock('The dev\ndaemon writes only to loop devices');
    assert.equal(commands.filter((c) => !c.startsWith('#')).length, 4, commands.join('\n'));
    const [attach, list, setup, , startOver] = commands as [string, string, string, string, string];
    assert.match(attach, /losetup --find --show/);
    // The reader reads /dev/loopN off the first line's output and types it where the README says.
    const mine = (c: string) =>
      c.replaceAll(DEV_ROOT, root).replaceAll('/tmp/drive.img', drive).replaceAll('/dev/loopN', '"$LOOP"');
    const first = await runShell(
      `set -eu\nLOOP=$(${mine(attach).replace(/\s+#.*$/, '')})\necho "LOOP=$LOOP"\n${traced([list, setup].map(mine)).replace('set -eu\n', '')}`,
      REPO,
      { ...ENV, HOME: root },
    );
    loop = /^LOOP=(\/dev\/loop\d+)$/m.exec(first.output)?.[1];
    assert.equal(first.code, 0, `${first.output}\n--- the daemon ---\n${daemon.output().slice(-3000)}`);
    assert.ok(loop, first.output);
    assert.match(first.output, new RegExp(`${loop}\\b`), 'disk list shows the loop device');

    // The daemon moved its data onto the drive and started again from it.
    const info = path.join(root, 'run/hearth/daemon.json');
    const source = () =>
      spawnSync('findmnt', ['-n', '-o', 'SOURCE', path.join(root, 'var/lib/hearth')], {
        encoding: 'utf8',
      }).stdout.trim();
    for (
      const deadline = Date.now() + 60_000;
      !source().startsWith(loop) || !fs.existsSync(info);
      await sleep(200)
    )
      assert.ok(
        Date.now() < deadline,
        `the data directory is not on ${loop}: ${source()}\n${daemon.output().slice(-3000)}`,
      );
    const after = await runShell(`out/hearth-x86_64 --root ${root} server info`, REPO, {
      ...ENV,
      HOME: root,
    });
    assert.match(after.output, /hostname\s+hearth/, after.output);

    // "to start over, after stopping make dev"
    await daemon.stop();
    const over = await runShell(traced([mine(startOver)]).replace('set -eu\n', `LOOP=${loop}\n`), REPO, {
      ...ENV,
      HOME: root,
    });
    assert.equal(over.code, 0, over.output);
    assert.equal(fs.existsSync(root), false, 'the dev root is gone');
    assert.doesNotMatch(
      spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout,
      new RegExp(`^${loop}:`, 'm'),
    );
    loop = undefined;
  },
);
