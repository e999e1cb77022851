import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runShell, shellCommands } from './reader-shell.ts';
import { required } from './required.ts';
import { REPO } from './services.ts';

/**
 * The README's first steps with `make dev` running, as written, in the checkout: against a
 * daemon on `make dev`'s own command line (make -n), whose root (make dev's DEV_ROOT,
 * /tmp/hearth-dev in the README) is this test's. The README's other blocks are run
 * elsewhere or not here: `make dev` and `make test` by CI itself, the data-drive block by
 * data-drive.integration.test.ts through the API, the image blocks by the image tier.
 */
const DEV_ROOT = '/tmp/hearth-dev';

const skip = required(
  fs.existsSync(path.join(REPO, 'out/hearth-x86_64')) && fs.existsSync(path.join(REPO, 'out/hearth'))
    ? false
    : 'needs the built binaries: run `make build`',
  "the README's first steps",
);

test(
  "the README's first steps work as written against make dev's daemon",
  { skip, timeout: 120_000 },
  async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-readme-'));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
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
    let daemonOutput = '';
    for (const s of [daemon.stdout, daemon.stderr])
      s.on('data', (b: Buffer) => {
        daemonOutput += b.toString();
      });
    t.after(async () => {
      if (daemon.exitCode !== null || daemon.signalCode !== null) return;
      const exited = new Promise((resolve) => daemon.once('exit', resolve));
      process.kill(-daemon.pid!, 'SIGKILL');
      await exited;
    });
    const info = path.join(root, 'run/hearth/daemon.json');
    for (const deadline = Date.now() + 30_000; !fs.existsSync(info); await sleep(50))
      assert.ok(
        Date.now() < deadline && daemon.exitCode === null,
        `make dev's daemon did not start:\n${daemonOutput}`,
      );

    const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf('With `make dev` running, in another terminal:'));
    const commands = shellCommands(block.slice(0, block.indexOf('\n```\n', block.indexOf('```sh')) + 5), {
      bare: true,
    });
    assert.ok(
      commands.length >= 5 && commands.every((c) => c.includes('out/hearth-x86_64')),
      commands.join('\n'),
    );
    const script = ['set -eu', ...commands.map((c) => `echo "+ ${c.replaceAll('"', '\\"')}"\n${c}`)]
      .join('\n')
      .replaceAll(DEV_ROOT, root);
    const env = {
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      HOME: root,
      LANG: 'C.UTF-8',
    };
    const { code, output } = await runShell(script, REPO, env);
    assert.equal(code, 0, `${output}\n--- the daemon ---\n${daemonOutput.slice(-3000)}`);
    assert.match(output, /setupComplete\s+false/, 'setup status before');
    assert.match(output, /hostname\s+hearth/, 'server info after setup');
    assert.match(output, /Usage: hearth/, '--help');
  },
);
