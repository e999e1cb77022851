import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Events } from '../events/events.ts';
import type { Tor } from '../host/tor.ts';
import { ControlCommandFailed } from '../host/tor-control-protocol.ts';
import { silentLogger } from '../log/log.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import { StateDocument } from '../state/state-doc.ts';
import { torCheck } from './checks.ts';
import { onionKey } from './onion-key.ts';
import type { ExposedInterface } from './plan.ts';
import { TorService } from './tor.ts';

/** Tor in memory: what ADD_ONION would do, the ServiceID made from the key as tor makes it. */
class FakeTor implements Tor {
  running = false;
  lastExit: string | undefined;
  starts = 0;
  failStart: string | undefined;
  progress = 100;
  onionsNow = new Map<string, string>();
  byKey = new Map<string, string>();
  async start() {
    if (this.running) return;
    if (this.failStart) throw new Error(this.failStart);
    this.starts++;
    this.running = true;
  }
  async stop() {
    this.running = false;
    this.onionsNow.clear();
  }
  async bootstrap() {
    return { progress: this.progress, tag: 'x', summary: this.progress === 100 ? 'Done' : 'Loading' };
  }
  async onions() {
    return [...this.onionsNow.keys()];
  }
  async addOnion(key: string, ports: { virtualPort: number; target: string }[]) {
    const serviceId = this.byKey.get(key) as string;
    this.onionsNow.set(serviceId, `${ports[0]?.virtualPort}->${ports[0]?.target}`);
    return { serviceId };
  }
  async delOnion(serviceId: string) {
    if (!this.onionsNow.delete(serviceId))
      throw new ControlCommandFailed('DEL_ONION', 552, 'Unknown Onion Service id');
  }
  /** Tor dies: its onions go with it. */
  die() {
    this.running = false;
    this.onionsNow.clear();
  }
}

function setup(interfaces: ExposedInterface[]) {
  const db = openDatabase(':memory:');
  migrate(db, MIGRATIONS);
  const state = new StateDocument({ initial: {}, revision: 0, historySize: 100 });
  const events = new Events({ db, retentionDays: 30 });
  const tor = new FakeTor();
  let now = 1_000_000;
  const service = new TorService({
    db,
    tor,
    interfaces: () => interfaces,
    state,
    events,
    log: silentLogger,
    now: () => now,
  });
  // The fake learns each key's ServiceID from the seeds the rows hold.
  const learn = () => {
    for (const r of service.rows.list()) {
      const k = onionKey(r.seed);
      tor.byKey.set(k.addOnionKey, k.serviceId);
    }
  };
  const origSet = service.rows.setEnabled.bind(service.rows);
  service.rows.setEnabled = (p, i, e) => {
    const row = origSet(p, i, e);
    learn();
    return row;
  };
  return {
    db,
    state,
    events,
    tor,
    service,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
  };
}

const hello: ExposedInterface = {
  package: 'hello',
  interface: 'main',
  protocol: 'http',
  port: 8080,
  address: '10.73.0.2',
};

test('enable: a key in the database, tor started, the onion added at the derived address', async () => {
  const { service, tor, state, db } = setup([hello]);
  const view = await service.enable('hello', 'main');
  assert.match(view.address, /^[a-z2-7]{56}\.onion$/);
  assert.equal(view.active, true);
  assert.equal(view.port, 80);
  assert.deepEqual([...tor.onionsNow], [[view.address.slice(0, 56), '80->10.73.0.2:8080']]);
  const published = state.get('tor') as { state: string; onions: Record<string, { address: string }> };
  assert.equal(published.state, 'ready');
  assert.equal(published.onions['hello/main']?.address, view.address);
  // The seed is in the database; nothing of it is in the state document.
  const seed = (db.prepare('SELECT seed FROM onion_services').get() as { seed: Buffer }).seed;
  assert.equal(seed.length, 32);
  assert.equal(JSON.stringify(state.get('tor')).includes(Buffer.from(seed).toString('base64')), false);
});

test('the same address after a restart of the daemon, and after off and on', async () => {
  const { service, db, tor } = setup([hello]);
  const first = await service.enable('hello', 'main');
  await service.disable('hello', 'main');
  // The last onion gone: tor stops.
  assert.equal(tor.running, false);
  const again = await service.enable('hello', 'main');
  assert.equal(again.address, first.address);
  const next = new TorService({
    db,
    tor: new FakeTor(),
    interfaces: () => [hello],
    state: new StateDocument({ initial: {}, revision: 0, historySize: 10 }),
    events: new Events({ db, retentionDays: 30 }),
    log: silentLogger,
  });
  assert.equal((await next.status()).onions[0]?.address, first.address);
});

test('tor dies: its onions are added again after the backoff', async () => {
  const { service, tor, advance } = setup([hello]);
  await service.enable('hello', 'main');
  tor.die();
  service.torExited('killed by SIGKILL');
  await service.reconcile();
  assert.equal(tor.running, false, 'waits out the backoff');
  advance(5_000);
  await service.reconcile();
  assert.equal(tor.running, true);
  assert.equal(tor.onionsNow.size, 1);
});

test('a package whose interface went away loses its onion, but keeps its key', async () => {
  const interfaces = [hello];
  const { service, tor } = setup(interfaces);
  const view = await service.enable('hello', 'main');
  interfaces.pop();
  await service.reconcile();
  assert.equal(tor.running, false);
  interfaces.push(hello);
  await service.reconcile();
  assert.deepEqual([...tor.onionsNow.keys()], [view.address.slice(0, 56)]);
});

test('refusals: no such package or interface, UDP', async () => {
  const { service } = setup([hello, { ...hello, interface: 'dns', protocol: 'udp', port: 53 }]);
  await assert.rejects(service.enable('nope', 'main'), /package 'nope' does not exist/);
  await assert.rejects(service.enable('hello', 'nope'), /interface of hello 'nope' does not exist/);
  await assert.rejects(service.enable('hello', 'dns'), /UDP/);
  await assert.rejects(service.disable('hello', 'main'), /does not exist/);
});

test('the check: tor failing to start, and tor not bootstrapped after a grace', async () => {
  const { service, tor, advance, now } = setup([hello]);
  const check = torCheck({ status: () => service.problem(), now });
  assert.deepEqual(await check.run(), []);
  tor.failStart = '/usr/sbin/tor is not installed';
  await service.enable('hello', 'main');
  const [failing] = (await check.run()) as unknown as [{ severity: string; message: string }];
  assert.equal(failing.severity, 'error');
  assert.match(
    failing.message,
    /Tor is not running \(\/usr\/sbin\/tor is not installed\), so the onion address does not answer/,
  );
  tor.failStart = undefined;
  tor.progress = 45;
  advance(5_000);
  await service.reconcile();
  assert.deepEqual(await check.run(), [], 'bootstrapping: a grace first');
  advance(4 * 60_000);
  await service.status();
  const [slow] = (await check.run()) as unknown as [{ severity: string; message: string }];
  assert.equal(slow.severity, 'warning');
  assert.match(slow.message, /Tor has not connected to the Tor network yet \(45%: Loading\)/);
  tor.progress = 100;
  await service.status();
  assert.deepEqual(await check.run(), []);
});
