import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RpcError } from '../src/client/client.ts';
import { run } from '../src/host/run.ts';
import { startTestDaemon, type TestDaemon } from './daemon.ts';
import { notifySocket } from './notify-socket.ts';
import { required } from './required.ts';

/*
 * Limited mode: a box whose data drive is missing or does not hold its data still starts,
 * tells systemd it is ready (a drive is not the OS's fault: a trial boot is not failed for
 * it), and answers the web UI and the CLI with what is wrong — instead of exiting and
 * burning boot tries. The drive is configured as setup leaves it: data-drive.json in the
 * data directory naming the drive's filesystem UUID.
 */

const skip = required(
  process.getuid?.() === 0 && fs.existsSync('/dev/loop-control') ? false : 'needs root and loop devices',
  'the limited-mode tests',
);
const files = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-limited-test-'));
const attached: string[] = [];
after(async () => {
  for (const device of attached) await run(['losetup', '--detach', device]).catch(() => {});
  fs.rmSync(files, { recursive: true, force: true });
});

/** A root whose data directory says its data is on the filesystem `uuid`. */
function rootWithDrive(uuid: string): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-test-'));
  const dataDir = path.join(root, 'var/lib/hearth');
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(
    path.join(dataDir, 'data-drive.json'),
    JSON.stringify({ uuid, chosenAt: new Date().toISOString() }),
  );
  return root;
}

async function limitedCode(d: TestDaemon): Promise<string | undefined> {
  const status = (await d.client().call('setup.status')) as {
    limited?: { code: string; message: string; hint?: string };
  };
  return status.limited?.code;
}

describe('limited mode', { skip }, () => {
  test('the data drive is missing: the daemon is ready and says what is wrong on every surface', async (t) => {
    const systemd = await notifySocket(t);
    const uuid = crypto.randomUUID();
    const root = rootWithDrive(uuid);
    const d = await startTestDaemon({ root, env: { NOTIFY_SOCKET: systemd.path } });
    t.after(() => d.cleanup());
    // The datagram may still be on its way to the listener.
    for (let i = 0; i < 100 && !/STATUS=limited/.test(systemd.received()); i++) await sleep(50);
    assert.match(systemd.received(), /READY=1/);
    assert.match(systemd.received(), /STATUS=limited mode: the data drive/);

    const status = (await d.client().call('setup.status')) as {
      setupComplete: boolean;
      limited?: { code: string; message: string; hint?: string };
    };
    assert.equal(status.limited?.code, 'data_drive_missing');
    assert.match(status.limited?.message ?? '', new RegExp(uuid));
    assert.match(status.limited?.hint ?? '', /plug the data drive in/);

    // Anything that needs the data answers with the problem, and the daemon stays up.
    for (const method of ['server.info', 'auth.login', 'package.list', 'no.such.method']) {
      await assert.rejects(
        d.client({ bearer: d.localToken }).call(method as 'server.info', {}),
        (e) => e instanceof RpcError && e.code === 'data_drive_missing',
        method,
      );
    }
    // Malformed requests are refused without taking it down.
    const bad = await fetch(`${d.url}/rpc/v1`, {
      method: 'POST',
      body: '{nope',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(bad.status, 400);
    const huge = await fetch(`${d.url}/rpc/v1`, { method: 'POST', body: 'x'.repeat(200_000) }).catch(
      () => null,
    );
    assert.ok(huge === null || huge.status === 400);
    const batch = (await (
      await fetch(`${d.url}/rpc/v1`, {
        method: 'POST',
        body: JSON.stringify(
          Array.from({ length: 500 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'setup.status' })),
        ),
      })
    ).json()) as unknown[];
    assert.equal(batch.length, 100);

    // The web UI's page is served, which shows the problem from setup.status.
    const page = await fetch(`${d.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);

    // What hearth-boot-complete.service runs succeeds: the boot is blessed, the OS is fine.
    const cli = await d.cli(['setup', 'status']);
    assert.equal(cli.code, 0, cli.stderr);
    // The data directory was left alone: no database was made where the drive should be.
    assert.equal(fs.existsSync(path.join(root, 'var/lib/hearth/hearth.db')), false);
    assert.equal(await d.stop(), 0);
  });

  test('a drive that does not hold the box’s data: limited mode too, and nothing is written to it', async (t) => {
    const file = path.join(files, 'other.img');
    fs.writeFileSync(file, '');
    fs.truncateSync(file, 64 * 1024 * 1024);
    const uuid = crypto.randomUUID();
    await run(['mkfs.ext4', '-q', '-U', uuid, '-L', 'hearth-data', file]);
    const device = (await run(['losetup', '--find', '--show', file])).stdout.trim();
    attached.push(device);
    const d = await startTestDaemon({ root: rootWithDrive(uuid) });
    t.after(async () => {
      await d.cleanup();
    });
    assert.equal(await limitedCode(d), 'data_drive_invalid');
    // The drive was unmounted again: nothing of the box's is on it.
    const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8');
    assert.equal(mounts.includes(d.root), false);
  });
});
