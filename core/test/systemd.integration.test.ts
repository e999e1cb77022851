import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { systemdNotifier } from '../src/host/sd-notify.ts';
import { startTestDaemon } from './daemon.ts';
import { notifySocket } from './notify-socket.ts';

async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

test('the notifier speaks the sd_notify protocol to the socket in NOTIFY_SOCKET', async (t) => {
  const sock = await notifySocket(t);
  const n = systemdNotifier({
    NOTIFY_SOCKET: sock.path,
    WATCHDOG_USEC: '2000000',
    PATH: process.env['PATH'],
  });
  assert.equal(n.enabled, true);
  assert.equal(n.watchdogMs, 2000);
  await n.notify('READY=1', 'STATUS=testing');
  await until(() => sock.received().includes('READY=1'), 'READY=1');
  assert.match(sock.received(), new RegExp(`MAINPID=${process.pid}\\nREADY=1\\nSTATUS=testing`));

  const off = systemdNotifier({});
  assert.equal(off.enabled, false);
  await off.notify('READY=1');
  // A watchdog meant for another process is not ours to ping.
  assert.equal(
    systemdNotifier({ NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '1000', WATCHDOG_PID: '1' }).watchdogMs,
    undefined,
  );
});

test('under systemd the daemon reports ready once it listens, pings the watchdog and says when it stops', async (t) => {
  const sock = await notifySocket(t);
  const d = await startTestDaemon({ env: { NOTIFY_SOCKET: sock.path, WATCHDOG_USEC: '400000' } });
  t.after(() => d.cleanup());
  await until(() => sock.received().includes('READY=1'), 'READY=1');
  assert.match(
    sock.received(),
    new RegExp(`MAINPID=${d.pid}\\nREADY=1\\nWATCHDOG=1\\nSTATUS=listening on port ${d.port}`),
  );
  // The first ping comes with READY=1, then one every half interval.
  await until(() => (sock.received().match(/WATCHDOG=1/g) ?? []).length >= 3, 'two more watchdog pings');
  assert.equal(await d.stop(), 0);
  await until(() => sock.received().includes('STOPPING=1'), 'STOPPING=1');
});
