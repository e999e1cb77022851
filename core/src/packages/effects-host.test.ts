import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseManifest } from '#sdk/manifest.ts';
import { sampleManifest } from '#sdk/testing/fixtures.ts';
import { Events } from '../events/events.ts';
import { silentLogger } from '../log/log.ts';
import { Notifications } from '../notifications/notifications.ts';
import { RpcPeer } from '../runtime/peer.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import { Channels, overallHealth, type PackageView } from './effects-host.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-effects-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function setup() {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  const notifications = new Notifications({ db, state });
  const view = (id: string, deps: string[] = []): PackageView => ({
    id,
    version: '1.0.0',
    manifest: parseManifest(
      sampleManifest({
        id,
        dependencies: deps.map((d) => ({ id: d, versionRange: '*', requireRunning: false })),
      }),
    ),
    address: id === 'app' ? '10.73.0.2' : '10.73.0.3',
    status: 'running',
  });
  const packages = new Map([
    ['app', view('app', ['db'])],
    ['db', view('db')],
    ['secret', view('secret')],
  ]);
  const alerts: string[] = [];
  const channels = new Channels({
    lookup: (id) => packages.get(id),
    state,
    notifications,
    events: new Events({ db, retentionDays: 30 }),
    arch: 'x86_64',
    log: silentLogger,
    onFailure: (a) => alerts.push(`${a.packageId}/${a.checkId}: ${a.message}`),
  });
  return { state, notifications, channels, alerts, packages };
}

async function connect(socket: string): Promise<RpcPeer> {
  const conn = net.connect(socket);
  await new Promise((resolve) => conn.once('connect', resolve));
  return new RpcPeer(conn, { handlers: {} });
}

test('a runtime registers, reports health, and the owner hears of failures', async (t) => {
  const s = setup();
  const socket = path.join(dir, 'app', 'host.sock');
  await s.channels.listen('app', socket, { uid: process.getuid!(), gid: process.getgid!() });
  t.after(() => s.channels.closeAll());
  assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
  const runtime = await connect(socket);

  // The daemons and checks from the manifest the box installed: the runtime runs these.
  const { manifest } = s.packages.get('app')!;
  assert.deepEqual(await runtime.call('effects.register', { runtimeVersion: 'test', pid: 1 }), {
    packageId: 'app',
    version: '1.0.0',
    manifest: { daemons: manifest.daemons, healthChecks: manifest.healthChecks },
  });
  for (const status of ['starting', 'success', 'failure', 'success'] as const) {
    await runtime.call('effects.setHealth', { checkId: 'web', status, message: `now ${status}` });
  }
  assert.equal(overallHealth(s.state, 'app'), 'healthy');
  assert.deepEqual(s.alerts, ['app/web: now failure'], 'the alert command hears of the failure once');
  assert.deepEqual(
    s.notifications.list({ unseenOnly: false, limit: 10 }).map((n) => [n.level, n.title, n.source]),
    [
      ['success', 'Hello World: Web page is healthy again', 'package:app'],
      ['warning', 'Hello World: Web page is failing', 'package:app'],
    ],
  );
  await runtime.call('effects.daemonState', { daemonId: 'web', state: 'running' });
  assert.equal((s.state.get('packages', 'app', 'daemons', 'web') as { state: string }).state, 'running');

  const self = (await runtime.call('effects.getSelf')) as { containerAddress: string };
  assert.equal(self.containerAddress, '10.73.0.2');
  const web = (await runtime.call('effects.getInterface', { id: 'web' })) as {
    addresses: { host: string }[];
  };
  assert.equal(web.addresses[0]!.host, '10.73.0.2');
  runtime.close();
});

test('a package learns only about the dependencies it declared, and bad calls are refused', async (t) => {
  const s = setup();
  const socket = path.join(dir, 'app2', 'host.sock');
  await s.channels.listen('app', socket, { uid: process.getuid!(), gid: process.getgid!() });
  t.after(() => s.channels.closeAll());
  const runtime = await connect(socket);
  const db = (await runtime.call('effects.getDependency', { id: 'db' })) as { id: string; health: string };
  assert.equal(db.id, 'db');
  assert.equal(db.health, 'unknown');
  assert.equal(await runtime.call('effects.getDependency', { id: 'secret' }), null);
  await assert.rejects(runtime.call('effects.setHealth', { checkId: 'web', status: 'great' }), {
    code: 'invalid_params',
  });
  await assert.rejects(runtime.call('effects.notify', { level: 'info', title: '', message: 'x' }), {
    code: 'invalid_params',
  });
  await assert.rejects(runtime.call('packages.uninstall', {}), { code: 'method_not_found' });
  runtime.close();
});

test('a new connection replaces the old one: the runtime reconnects after a daemon restart', async (t) => {
  const s = setup();
  const socket = path.join(dir, 'app3', 'host.sock');
  await s.channels.listen('app', socket, { uid: process.getuid!(), gid: process.getgid!() });
  t.after(() => s.channels.closeAll());
  const first = await connect(socket);
  await first.call('effects.register', { runtimeVersion: 'a', pid: 1 });
  const second = await connect(socket);
  await second.call('effects.register', { runtimeVersion: 'b', pid: 1 });
  await first.closed;
  assert.ok(s.channels.peer('app'));
  second.close();
});

test('work asked for before start runs when the runtime registers, before register answers', async (t) => {
  const s = setup();
  const socket = path.join(dir, 'app4', 'host.sock');
  await s.channels.listen('app', socket, { uid: process.getuid!(), gid: process.getgid!() });
  t.after(() => s.channels.closeAll());
  const order: string[] = [];
  const migrated = s.channels.beforeStart(
    'app',
    async (peer) => {
      order.push('migrate asked');
      return peer.call('runtime.migrate', { from: '1.0.0', to: '1.1.0' });
    },
    5000,
  );
  const conn = net.connect(socket);
  await new Promise((resolve) => conn.once('connect', resolve));
  const runtime = new RpcPeer(conn, {
    handlers: {
      'runtime.migrate': () => {
        order.push('migrated');
        return { ok: true };
      },
    },
  });
  await runtime.call('effects.register', { runtimeVersion: 't', pid: 1 });
  order.push('registered');
  assert.deepEqual(await migrated, { ok: true });
  assert.deepEqual(order, ['migrate asked', 'migrated', 'registered']);
  // Used once: the next register answers at once.
  await runtime.call('effects.register', { runtimeVersion: 't', pid: 1 });
  runtime.close();
  await assert.rejects(
    s.channels.beforeStart('app', async () => 1, 50),
    { code: 'runtime_unavailable' },
  );
});
