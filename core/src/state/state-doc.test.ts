import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyPatch, type Json } from './json-patch.ts';
import { StateDocument, type StateMessage } from './state-doc.ts';

const make = (historySize = 3) => new StateDocument({ initial: { a: 1 }, revision: 10, historySize });

test('a change emits a patch with the next revision; no change spends no revision', () => {
  const doc = make();
  const p = doc.set(['b', 'c'], 2);
  assert.deepEqual(p, { revision: 11, patch: [{ op: 'add', path: '/b', value: { c: 2 } }] });
  assert.equal(doc.set(['b', 'c'], 2), undefined);
  assert.equal(doc.revision, 11);
  assert.deepEqual(doc.snapshot(), { revision: 11, state: { a: 1, b: { c: 2 } } });
});

test('a subscriber from now starts with a dump, then gets patches in order', () => {
  const doc = make();
  const seen: StateMessage[] = [];
  const stop = doc.subscribe(undefined, (m) => seen.push(m));
  doc.set(['a'], 2);
  doc.remove(['a']);
  stop();
  doc.set(['a'], 3);
  assert.deepEqual(
    seen.map((m) => [m.kind, m.revision]),
    [
      ['dump', 10],
      ['patch', 11],
      ['patch', 12],
    ],
  );
});

test('a subscriber resuming within the history gets only the missed patches', () => {
  const doc = make();
  doc.set(['x'], 1);
  doc.set(['x'], 2);
  const before = doc.snapshot();
  doc.set(['x'], 3);
  doc.set(['y'], 4);
  const missed = doc.catchUp(before.revision);
  assert.deepEqual(
    missed.map((m) => m.revision),
    [13, 14],
  );
  let state = before.state;
  for (const m of missed) if (m.kind === 'patch') state = applyPatch(state, m.patch);
  assert.deepEqual(state, doc.snapshot().state);
  assert.deepEqual(doc.catchUp(doc.revision), []);
});

test('a subscriber further behind than the history, or from the future, gets a dump', () => {
  const doc = make(2);
  for (let i = 0; i < 5; i++) doc.set(['n'], i);
  assert.equal(doc.catchUp(11)[0]!.kind, 'dump');
  assert.equal(doc.catchUp(13)[0]!.kind, 'patch');
  assert.equal(doc.catchUp(99)[0]!.kind, 'dump');
});

test('onRevision hears every revision before subscribers do', () => {
  const order: string[] = [];
  const doc = new StateDocument({
    initial: {},
    revision: 0,
    historySize: 10,
    onRevision: (r) => order.push(`stored ${r}`),
  });
  doc.subscribe(0, (m) => order.push(`sent ${m.revision}`));
  doc.update((d) => {
    (d as { [k: string]: Json })['k'] = true;
  });
  assert.deepEqual(order, ['stored 1', 'sent 1']);
});
