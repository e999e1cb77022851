import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../src/host/run.ts';
import { type TestDaemon, untilHealthy } from './daemon.ts';
import { leaseNetwork, log, lxcSkipReason, packagesDaemon } from './lxc-harness.ts';
import { required } from './required.ts';
import { SERVICES } from './services.ts';

/**
 * mDNS with the real avahi-daemon: a "box" network namespace and a "LAN" one joined by a
 * veth, an avahi-daemon in each on a private dbus-daemon of its own (avahi talks to the
 * system bus, so each gets its own; a mount namespace gives each its own /run for its pid
 * file). The daemon publishes through the box's avahi over D-Bus; the LAN side resolves
 * with avahi-resolve and browses with avahi-browse, through its own avahi, over the veth.
 */
const NETWORK = leaseNetwork();
const TAG = `hm${process.pid}`;
const BOX_NS = `${TAG}box`;
const LAN_NS = `${TAG}lan`;
const BOX_ADDRESS = '192.168.250.1';

const skip = required(
  lxcSkipReason() ||
    (process.env['HEARTH_BIN'] ? false : 'needs the built binary (HEARTH_BIN): run `make test`') ||
    (fs.existsSync(path.join(SERVICES, 'hello-world.hpk')) ? false : 'needs `make services`') ||
    ([
      '/usr/sbin/avahi-daemon',
      '/usr/bin/avahi-resolve',
      '/usr/bin/avahi-browse',
      '/usr/bin/dbus-daemon',
    ].every((f) => fs.existsSync(f))
      ? false
      : 'needs avahi-daemon, avahi-utils and dbus-daemon'),
  'the mDNS tests with a real avahi-daemon',
);

describe('mDNS through a real avahi-daemon', { skip }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-mdns-'));
  const processes: ChildProcess[] = [];
  let d: TestDaemon;
  let done: (() => Promise<void>) | undefined;
  const bus = (side: string) => `unix:path=${path.join(work, `${side}.sock`)}`;

  const startBus = async (side: string) => {
    const config = path.join(work, `${side}.conf`);
    fs.writeFileSync(
      config,
      `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><listen>${bus(side)}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy>
</busconfig>`,
    );
    const p = spawn('dbus-daemon', [`--config-file=${config}`, '--nofork', '--print-address'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    processes.push(p);
    await new Promise((r) => p.stdout.once('data', r));
  };

  const startAvahi = async (side: string, ns: string, iface: string) => {
    const config = path.join(work, `avahi-${side}.conf`);
    fs.writeFileSync(
      config,
      [
        '[server]',
        `host-name=avahi-${side}`,
        'use-ipv4=yes',
        'use-ipv6=no',
        `allow-interfaces=${iface}`,
        'enable-dbus=yes',
        '[wide-area]',
        'enable-wide-area=no',
        '[publish]',
        'publish-hinfo=no',
        'publish-workstation=no',
        '',
      ].join('\n'),
    );
    const log = fs.openSync(path.join(work, `avahi-${side}.log`), 'w');
    const p = spawn(
      'ip',
      [
        ...['netns', 'exec', ns, 'unshare', '-m', 'sh', '-c'],
        'mount -t tmpfs tmpfs /run && mkdir /run/avahi-daemon && exec avahi-daemon --no-drop-root --no-chroot --no-rlimits -f "$0"',
        config,
      ],
      { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus(side) }, stdio: ['ignore', log, log] },
    );
    processes.push(p);
    const until = Date.now() + 15_000;
    while (
      !fs.readFileSync(path.join(work, `avahi-${side}.log`), 'utf8').includes('Server startup complete')
    ) {
      if (Date.now() > until || p.exitCode !== null) throw new Error(`avahi (${side}) did not start`);
      await sleep(100);
    }
  };

  /** avahi-resolve on the LAN side: the address it finds for `name`, or undefined. */
  const resolve = async (name: string) => {
    const r = await run(['ip', 'netns', 'exec', LAN_NS, 'avahi-resolve', '-4', '-n', name], {
      log,
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus('lan') },
      timeoutMs: 10_000,
    }).catch(() => undefined);
    return r?.stdout.trim().split(/\s+/)[1];
  };
  const eventually = async <T>(f: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000) => {
    const until = Date.now() + ms;
    let v = await f();
    while (!ok(v) && Date.now() < until) {
      await sleep(300);
      v = await f();
    }
    return v;
  };

  before(async () => {
    for (const ns of [BOX_NS, LAN_NS]) await run(['ip', 'netns', 'add', ns], { log });
    await run(['ip', 'link', 'add', `${TAG}b`, 'type', 'veth', 'peer', 'name', `${TAG}l`], { log });
    await run(['ip', 'link', 'set', `${TAG}b`, 'netns', BOX_NS], { log });
    await run(['ip', 'link', 'set', `${TAG}l`, 'netns', LAN_NS], { log });
    await run(['ip', '-n', BOX_NS, 'addr', 'add', `${BOX_ADDRESS}/24`, 'dev', `${TAG}b`], { log });
    await run(['ip', '-n', LAN_NS, 'addr', 'add', '192.168.250.2/24', 'dev', `${TAG}l`], { log });
    for (const [ns, dev] of [
      [BOX_NS, `${TAG}b`],
      [LAN_NS, `${TAG}l`],
    ] as const) {
      await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up'], { log });
      await run(['ip', '-n', ns, 'link', 'set', dev, 'up'], { log });
    }
    await startBus('box');
    await startBus('lan');
    await startAvahi('box', BOX_NS, `${TAG}b`);
    await startAvahi('lan', LAN_NS, `${TAG}l`);
    const lanPorts = `${31000 + (process.pid % 100) * 10}-${31009 + (process.pid % 100) * 10}`;
    const daemon = await packagesDaemon(NETWORK, ['--dbus-address', bus('box'), '--lan-ports', lanPorts]);
    d = daemon.d;
    done = daemon.done;
  });

  after(async () => {
    await d?.stop();
    await done?.();
    for (const p of processes.reverse()) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await new Promise((r) => p.once('close', r));
      }
    }
    for (const ns of [BOX_NS, LAN_NS]) await run(['ip', 'netns', 'del', ns], { log }).catch(() => {});
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('the web UI is announced as _http._tcp on its port', async () => {
    const browse = async () =>
      (
        await run(['ip', 'netns', 'exec', LAN_NS, 'avahi-browse', '-rtp', '_http._tcp'], {
          log,
          env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus('lan') },
          timeoutMs: 15_000,
        })
      ).stdout;
    const found = await eventually(browse, (t) => t.includes(`;${d.port};`));
    assert.match(
      found,
      new RegExp(`^=;[^;]+;IPv4;testbox;[^;]+;local;avahi-box\\.local;${BOX_ADDRESS};${d.port};`, 'm'),
    );
  });

  test('a package is <hostname>-<id>.local from the LAN, and follows the hostname and the package', async () => {
    const admin = d.client({ bearer: d.localToken });
    assert.equal(await resolve('testbox-hello-world.local'), undefined);
    await admin.call('package.install', { path: path.join(SERVICES, 'hello-world.hpk') });
    await untilHealthy(admin, 'hello-world', { since: 0, timeoutMs: 60_000, pollMs: 200 });
    assert.equal(
      await eventually(
        () => resolve('testbox-hello-world.local'),
        (a) => a !== undefined,
      ),
      BOX_ADDRESS,
    );
    // Its web interface, as _https._tcp at its own name and its LAN port.
    const [web] = await eventually(
      () => admin.call('interface.list', { package: 'hello-world' }),
      (l) => typeof l[0]?.lanPort === 'number',
    );
    const browse = async () =>
      (
        await run(['ip', 'netns', 'exec', LAN_NS, 'avahi-browse', '-rtp', '_https._tcp'], {
          log,
          env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus('lan') },
          timeoutMs: 15_000,
        })
      ).stdout;
    const found = await eventually(browse, (t) => t.includes(`;${web!.lanPort};`));
    // avahi-browse -p escapes spaces and brackets in names (\032) and names the type: matched loosely.
    assert.match(
      found,
      new RegExp(
        `^=;[^;]+;IPv4;Web[^;]*hello-world[^;]*testbox[^;]*;[^;]+;local;testbox-hello-world\\.local;${BOX_ADDRESS};${web!.lanPort};`,
        'm',
      ),
    );

    await admin.call('server.hostname.set', { hostname: 'otherbox' });
    assert.equal(
      await eventually(
        () => resolve('otherbox-hello-world.local'),
        (a) => a !== undefined,
      ),
      BOX_ADDRESS,
    );
    assert.equal(
      await eventually(
        () => resolve('testbox-hello-world.local'),
        (a) => a === undefined,
      ),
      undefined,
    );

    await admin.call('package.uninstall', { id: 'hello-world' });
    assert.equal(
      await eventually(
        () => resolve('otherbox-hello-world.local'),
        (a) => a === undefined,
      ),
      undefined,
    );
  });
});
