import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assignPorts, type LanInterface, type ListenerSpec, plan } from './plan.ts';
import type { PortRow } from './rows.ts';

const RANGE = { from: 20000, to: 20002 };
const itf = (
  pkg: string,
  id: string,
  protocol: LanInterface['protocol'] = 'http',
  port = 8080,
): LanInterface => ({
  package: pkg,
  interface: id,
  protocol,
  port,
  address: `10.0.0.${pkg.length}`,
});
const row = (pkg: string, id: string, port: number, createdAt = 1): PortRow => ({
  package: pkg,
  interface: id,
  port,
  createdAt,
});
const spec = (r: PortRow, i: LanInterface, mode: ListenerSpec['mode'] = 'http'): ListenerSpec => ({
  port: r.port,
  package: r.package,
  interface: r.interface,
  mode,
  target: { host: i.address, port: i.port },
});

test('a new interface gets the lowest free port; its row comes before its listener', () => {
  const steps = plan([row('a', 'web', 20000)], [itf('a', 'web'), itf('bb', 'web')], RANGE, new Map());
  assert.deepEqual(
    steps.map((s) => s.kind),
    ['assign-port', 'open', 'open'],
  );
  assert.deepEqual(steps[0], { kind: 'assign-port', package: 'bb', interface: 'web', port: 20001 });
});

test('ports something else listens on are skipped', () => {
  const got = assignPorts([], [itf('a', 'web')], RANGE, new Set([20000, 20001]));
  assert.deepEqual(got, [{ package: 'a', interface: 'web', port: 20002 }]);
});

test('a port once given stays: after a restart nothing is assigned again, even outside a changed range', () => {
  const r = row('a', 'web', 31000);
  const i = itf('a', 'web');
  assert.deepEqual(plan([r], [i], RANGE, new Map()), [{ kind: 'open', spec: spec(r, i) }]);
  assert.deepEqual(plan([r], [i], RANGE, new Map([[31000, spec(r, i)]])), []);
});

test('a gone package keeps its port (a reinstall finds it) until the range is full', () => {
  const rows = [row('gone', 'web', 20000, 5), row('old', 'web', 20001, 1), row('a', 'web', 20002)];
  const installed = [itf('a', 'web'), itf('new', 'web'), itf('new', 'api', 'tcp', 9000), itf('x', 'y')];
  const got = assignPorts(rows, installed, RANGE);
  // The oldest gone row's port first; then the other; then none left.
  assert.deepEqual(got, [
    { package: 'new', interface: 'web', port: 20001 },
    { package: 'new', interface: 'api', port: 20000 },
    { package: 'x', interface: 'y', port: undefined },
  ]);
  // A gone package's listener closes; its row stays.
  const open = new Map([[20000, spec(rows[0]!, itf('gone', 'web'))]]);
  assert.deepEqual(plan(rows.slice(0, 1), [], RANGE, open), [{ kind: 'close', port: 20000 }]);
});

test('udp is not carried; https and tcp pass through; a new container address retargets', () => {
  assert.deepEqual(assignPorts([], [itf('a', 'dns', 'udp')], RANGE), []);
  const r = row('a', 'tls', 20000);
  const i = itf('a', 'tls', 'https', 8443);
  assert.deepEqual(plan([r], [i], RANGE, new Map()), [{ kind: 'open', spec: spec(r, i, 'tcp') }]);
  const moved = { ...i, address: '10.0.0.99' };
  assert.deepEqual(plan([r], [moved], RANGE, new Map([[20000, spec(r, i, 'tcp')]])), [
    { kind: 'retarget', spec: spec(r, moved, 'tcp') },
  ]);
});

test('a listener of another mode on the port is closed, then opened as it should be', () => {
  const r = row('a', 'web', 20000);
  const i = itf('a', 'web', 'tcp');
  const steps = plan([r], [i], RANGE, new Map([[20000, spec(r, i, 'http')]]));
  assert.deepEqual(
    steps.map((s) => s.kind),
    ['close', 'open'],
  );
});

test('a tcp interface whose manifest says tls: box gets TLS from the box', () => {
  const r = row('a', 'mqtt', 20000);
  const i = { ...itf('a', 'mqtt', 'tcp', 1883), tls: 'box' as const };
  assert.deepEqual(plan([r], [i], RANGE, new Map()), [{ kind: 'open', spec: spec(r, i, 'tls') }]);
});
