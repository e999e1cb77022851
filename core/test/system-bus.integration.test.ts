import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import dbus from 'dbus-next';
import { RpcError } from '../src/client/client.ts';
import { logindPower } from '../src/host/power.ts';
import { setUp, startTestDaemon } from './daemon.ts';

/**
 * A private dbus-daemon with stand-ins for systemd-logind (and, when asked, hostnamed and
 * avahi) on it: the real bus, the real wire protocol, and objects that record the calls
 * instead of doing them.
 */
async function fakeLogind(
  t: test.TestContext,
  o: { serve: boolean; hostname?: boolean; timedate?: boolean } = { serve: true },
): Promise<{ address: string; calls: string[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbus-'));
  const config = path.join(dir, 'bus.conf');
  fs.writeFileSync(
    config,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${dir}/bus.sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/>
  </policy>
</busconfig>`,
  );
  // stderr ignored: an unprivileged-looking dbus-daemon warns that it cannot raise its fd limit.
  const daemon = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const address = await new Promise<string>((resolve) =>
    daemon.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );

  const calls: string[] = [];
  class Manager extends dbus.interface.Interface {
    PowerOff(interactive: boolean) {
      calls.push(`PowerOff(${interactive})`);
    }
    Reboot(interactive: boolean) {
      calls.push(`Reboot(${interactive})`);
    }
  }
  Manager.configureMembers({
    methods: {
      PowerOff: { inSignature: 'b', outSignature: '' },
      Reboot: { inSignature: 'b', outSignature: '' },
    },
  });
  class Hostname extends dbus.interface.Interface {
    SetStaticHostname(name: string, interactive: boolean) {
      calls.push(`SetStaticHostname(${name},${interactive})`);
    }
  }
  Hostname.configureMembers({ methods: { SetStaticHostname: { inSignature: 'sb', outSignature: '' } } });
  class Avahi extends dbus.interface.Interface {
    SetHostName(name: string) {
      calls.push(`SetHostName(${name})`);
    }
  }
  Avahi.configureMembers({ methods: { SetHostName: { inSignature: 's', outSignature: '' } } });
  // systemd-timedated: a clock NTP has not set, with network time off until SetNTP.
  class Timedate extends dbus.interface.Interface {
    NTP = false;
    NTPSynchronized = false;
    SetNTP(use: boolean, interactive: boolean) {
      calls.push(`SetNTP(${use},${interactive})`);
      this.NTP = use;
    }
  }
  Timedate.configureMembers({
    properties: {
      NTP: { signature: 'b', access: 'read' },
      NTPSynchronized: { signature: 'b', access: 'read' },
    },
    methods: { SetNTP: { inSignature: 'bb', outSignature: '' } },
  });
  const bus = dbus.sessionBus({ busAddress: address });
  if (o.timedate) {
    await bus.requestName('org.freedesktop.timedate1', 0);
    bus.export('/org/freedesktop/timedate1', new Timedate('org.freedesktop.timedate1'));
  }
  if (o.serve) {
    await bus.requestName('org.freedesktop.login1', 0);
    bus.export('/org/freedesktop/login1', new Manager('org.freedesktop.login1.Manager'));
  }
  if (o.hostname) {
    // One connection may own several names: logind, hostnamed and avahi all on this one.
    await bus.requestName('org.freedesktop.hostname1', 0);
    bus.export('/org/freedesktop/hostname1', new Hostname('org.freedesktop.hostname1'));
    await bus.requestName('org.freedesktop.Avahi', 0);
    bus.export('/', new Avahi('org.freedesktop.Avahi.Server'));
  }
  t.after(async () => {
    bus.disconnect();
    // Its socket lives in `dir`: remove the directory only once the daemon is gone.
    if (daemon.exitCode === null && daemon.signalCode === null) {
      const exited = new Promise((resolve) => daemon.once('exit', resolve));
      daemon.kill();
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });
  return { address, calls };
}

test('power goes through logind over D-Bus', async (t) => {
  const logind = await fakeLogind(t);
  const power = logindPower(logind.address);
  await power.reboot();
  await power.powerOff();
  assert.deepEqual(logind.calls, ['Reboot(false)', 'PowerOff(false)']);
});

test('without logind, or without a bus, the error says so', async (t) => {
  const emptyBus = await fakeLogind(t, { serve: false });
  await assert.rejects(logindPower(emptyBus.address).reboot(), {
    code: 'power_failed',
    message: /logind refused Reboot/,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nobus-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await assert.rejects(logindPower(`unix:path=${dir}/none.sock`).reboot(), { code: 'power_failed' });
});

test('server.restart and server.shutdown reach logind from a real daemon, admins only', async (t) => {
  const logind = await fakeLogind(t);
  const d = await startTestDaemon({ dev: false, args: ['--dbus-address', logind.address] });
  t.after(() => d.cleanup());
  await setUp(d);
  const admin = d.client({ bearer: d.localToken });
  const operate = d.client({
    bearer: (await admin.call('auth.token.create', { name: 'op', scope: 'operate' })).token,
  });
  await assert.rejects(
    operate.call('server.restart'),
    (e: unknown) => e instanceof RpcError && e.code === 'forbidden',
  );
  await admin.call('server.restart');
  await admin.call('server.shutdown');
  assert.deepEqual(logind.calls, ['Reboot(false)', 'PowerOff(false)']);
  const audit = await admin.call('audit.list', { method: 'server.shutdown' });
  assert.equal(audit[0]!.outcome, 'ok');
});

test('setup gives the machine its new name through hostnamed and avahi; --dev leaves it alone', async (t) => {
  const bus = await fakeLogind(t, { serve: true, hostname: true });
  const d = await startTestDaemon({ dev: false, args: ['--dbus-address', bus.address] });
  t.after(() => d.cleanup());
  await setUp(d);
  const want = ['SetStaticHostname(testbox,false)', 'SetHostName(testbox)'];
  for (let i = 0; i < 100 && bus.calls.length < want.length; i++) await sleep(50);
  assert.deepEqual(bus.calls, want);

  const dev = await startTestDaemon({ args: ['--dbus-address', bus.address] });
  t.after(() => dev.cleanup());
  await setUp(dev);
  // It says when it leaves the machine's name alone; until then, a call could still come.
  const admin = dev.client({ bearer: dev.localToken });
  const kept = async () =>
    (await admin.call('server.logs', { lines: 200 })).entries.some(
      (e) => e.message.includes('keeps its own name') && e.message.includes('testbox'),
    );
  for (let i = 0; i < 100 && !(await kept()); i++) await sleep(50);
  assert.ok(await kept(), 'the development daemon says it left the name alone');
  assert.deepEqual(bus.calls, want, 'a development daemon named the machine');
});

test('the clock check asks timedated; its fixup turns network time on', async (t) => {
  const bus = await fakeLogind(t, { serve: false, timedate: true });
  const d = await startTestDaemon({ args: ['--dbus-address', bus.address] });
  t.after(() => d.cleanup());
  const admin = d.client({ bearer: await setUp(d) });
  const [off] = await admin.call('server.check.run', { id: 'clock' });
  assert.equal(off!.status, 'failing');
  assert.deepEqual(
    off!.findings.map((f) => [f.severity, f.message, f.fixup]),
    [['warning', 'The clock is not synchronised: network time is turned off', 'clock.enable-ntp']],
  );
  const fixed = await admin.call('server.fixup.run', { fixup: 'clock.enable-ntp', subject: null });
  assert.match(fixed.did, /network time is on/);
  assert.deepEqual(bus.calls, ['SetNTP(true,false)']);
  // On now, not yet synchronised: still a warning, with nothing left to fix from here.
  assert.deepEqual(
    fixed.check.findings.map((f) => [f.message, f.fixup]),
    [['The clock is not synchronised with a time server yet', undefined]],
  );

  // Without timedated on the bus the check cannot tell: unknown, and no finding.
  const empty = await fakeLogind(t, { serve: false });
  const none = await startTestDaemon({ args: ['--dbus-address', empty.address] });
  t.after(() => none.cleanup());
  const [unknown] = await none
    .client({ bearer: await setUp(none) })
    .call('server.check.run', { id: 'clock' });
  assert.deepEqual([unknown!.status, unknown!.findings], ['unknown', []]);
});
