import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { hearthCommand } from './daemon.ts';

const UNIT = path.resolve(import.meta.dirname, '../../rootfs/usr/lib/systemd/system/hearth.service');

test('the systemd unit asks for readiness, a watchdog and restarts, and systemd-analyze accepts it', async (t) => {
  const text = fs.readFileSync(UNIT, 'utf8');
  for (const line of [
    'Type=notify',
    'NotifyAccess=all',
    'Restart=on-failure',
    'ExecStart=/usr/bin/hearthd',
  ]) {
    assert.match(text, new RegExp(`^${line}$`, 'm'));
  }
  assert.match(text, /^WatchdogSec=\d+s$/m);

  // systemd-analyze checks ExecStart on this machine: point it at the binary under test.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unit-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const [cmd, ...pre] = hearthCommand();
  const exec = [cmd, ...pre].join(' ');
  fs.writeFileSync(
    path.join(dir, 'hearth.service'),
    text.replace('ExecStart=/usr/bin/hearthd', `ExecStart=${exec} daemon`),
  );
  const { stdout, stderr } = await promisify(execFile)('systemd-analyze', [
    'verify',
    '--man=no',
    path.join(dir, 'hearth.service'),
  ]);
  assert.equal(stdout + stderr, '');
});
