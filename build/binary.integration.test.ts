// The x86_64 binary as it ships: `make test` points HEARTH_BIN at it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { required } from '../core/test/required.ts';
import { checkBinary, repo } from './binary-checks.ts';

checkBinary({
  bin: process.env['HEARTH_BIN'] ?? path.join(repo, 'out', 'hearth-x86_64'),
  arch: 'x64',
});

const bin = process.env['HEARTH_BIN'] ?? path.join(repo, 'out', 'hearth-x86_64');
const skip = required(
  fs.existsSync(bin) ? false : `${bin} is missing: run \`make build\``,
  'the hearthd test',
);

test(
  'invoked through a `hearthd` symlink it is the daemon, and SIGTERM stops it cleanly',
  { skip },
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearthd-'));
    t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.symlinkSync(path.resolve(bin), path.join(dir, 'hearthd'));
    const root = path.join(dir, 'root');
    const child = spawn(
      path.join(dir, 'hearthd'),
      ['--root', root, '--port', '0', '--listen', '127.0.0.1', '--dev'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const info = path.join(root, 'run/hearth/daemon.json');
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(info)) {
      assert.ok(Date.now() < deadline, `no daemon.json after 20 s:\n${out}`);
      await sleep(20);
    }
    const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    assert.equal(await exit, 0);
    assert.match(out, /^<6>hearthd: listening port=\d+/m, 'journald priority prefixes on stdout');
    assert.match(out, /^<6>hearthd: stopped$/m);
    assert.equal(fs.existsSync(info), false, 'runtime files are removed on stop');
  },
);
