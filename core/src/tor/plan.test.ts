import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onionKey } from './onion-key.ts';
import {
  type DesiredOnion,
  desiredOnions,
  type ExposedInterface,
  mappingOf,
  plan,
  virtualPort,
} from './plan.ts';
import type { OnionRow } from './rows.ts';

const row = (pkg: string, iface: string, enabled = true, fill = 1): OnionRow => {
  const seed = Buffer.alloc(32, fill);
  return { package: pkg, interface: iface, seed, address: onionKey(seed).address, enabled, createdAt: 0 };
};
const web: ExposedInterface = {
  package: 'hello',
  interface: 'main',
  protocol: 'http',
  port: 8080,
  address: '10.73.0.2',
};
const observed = (running: boolean, onions: [string, string | undefined][] = [], mayStart = true) => ({
  running,
  mayStart,
  onions: new Map(onions),
});
const kinds = (steps: { kind: string }[]) => steps.map((s) => s.kind);

test('desired: rows turned on, for interfaces that exist; http at port 80', () => {
  const d = desiredOnions(
    [row('hello', 'main'), row('hello', 'gone', true, 2), row('off', 'main', false, 3)],
    [web, { ...web, package: 'off' }],
  );
  assert.equal(d.length, 1);
  const [one] = d as [DesiredOnion];
  assert.equal(one.serviceId, onionKey(Buffer.alloc(32, 1)).serviceId);
  assert.equal(one.virtualPort, 80);
  assert.equal(one.target, '10.73.0.2:8080');
  assert.equal(virtualPort('https', 8443), 443);
  assert.equal(virtualPort('tcp', 1883), 1883);
  // Tor carries TCP only.
  assert.deepEqual(desiredOnions([row('hello', 'main')], [{ ...web, protocol: 'udp' }]), []);
});

test('tor runs only while an onion is wanted', () => {
  const d = desiredOnions([row('hello', 'main')], [web]);
  assert.deepEqual(kinds(plan(d, observed(false))), ['start-tor']);
  assert.deepEqual(kinds(plan([], observed(true))), ['stop-tor']);
  assert.deepEqual(plan([], observed(false)), []);
  // A failed start waits out its backoff.
  assert.deepEqual(plan(d, observed(false, [], false)), []);
});

test('adds what tor lacks, removes what it should not carry, leaves the rest', () => {
  const d = desiredOnions(
    [row('hello', 'main'), row('hello', 'api', true, 2)],
    [web, { ...web, interface: 'api' }],
  );
  const [main, api] = d as [DesiredOnion, DesiredOnion];
  const stranger = onionKey(Buffer.alloc(32, 9)).serviceId;
  const steps = plan(
    d,
    observed(true, [
      [main.serviceId, mappingOf(main)],
      [stranger, undefined],
    ]),
  );
  assert.deepEqual(
    steps.map((s) => [s.kind, 'serviceId' in s ? s.serviceId : '']),
    [
      ['remove-onion', stranger],
      ['add-onion', api.serviceId],
    ],
  );
  assert.deepEqual(
    plan(
      d,
      observed(true, [
        [main.serviceId, mappingOf(main)],
        [api.serviceId, mappingOf(api)],
      ]),
    ),
    [],
  );
});

test('an onion pointing elsewhere (a new address, or one we cannot tell) is replaced', () => {
  const [main] = desiredOnions([row('hello', 'main')], [web]) as [DesiredOnion];
  for (const mapping of ['80->10.73.0.9:8080', undefined]) {
    const steps = plan([main], observed(true, [[main.serviceId, mapping]]));
    assert.deepEqual(kinds(steps), ['remove-onion', 'add-onion']);
  }
});

test('after a restart of tor (nothing carried), every wanted onion is added again', () => {
  const d = desiredOnions(
    [row('a', 'main'), row('b', 'main', true, 2)],
    [
      { ...web, package: 'a' },
      { ...web, package: 'b', address: '10.73.0.3' },
    ],
  );
  assert.deepEqual(kinds(plan(d, observed(true))), ['add-onion', 'add-onion']);
});
