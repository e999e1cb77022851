import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type Observed,
  type Phase,
  phaseAfter,
  planUpdate,
  type Step,
  trialFailed,
  type UpdateRow,
} from './plan.ts';

const row = (over: Partial<UpdateRow> = {}): UpdateRow => ({
  phase: 'downloading',
  version: '0.3.0',
  source: { kind: 'feed', url: 'https://feed.example/hearth-0.3.0.raucb', sha256: 'a'.repeat(64), size: 10 },
  allowDowngrade: false,
  rebootWhenReady: false,
  fromSlot: 'A',
  fromVersion: '0.2.0',
  rebootRequestedIn: null,
  ...over,
});
const seen = (over: Partial<Observed> = {}): Observed => ({
  booted: 'A',
  bootId: 'boot-1',
  slots: { A: 'good', B: 'empty' },
  bundlePresent: false,
  apiAnswering: true,
  ...over,
});
const kinds = (steps: Step[]) => steps.map((s) => s.kind);

describe('the OS update planner', () => {
  test('an apply from the feed: download, verify, write the idle slot, make it the trial', () => {
    assert.deepEqual(kinds(planUpdate(row(), seen())), ['download', 'verify', 'write', 'set-trial']);
    assert.deepEqual(
      planUpdate(row(), seen()).find((s) => s.kind === 'write'),
      { kind: 'write', slot: 'B' },
    );
    // From slot B the idle one is A.
    assert.deepEqual(
      planUpdate(row({ fromSlot: 'B' }), seen({ booted: 'B' })).find((s) => s.kind === 'write'),
      { kind: 'write', slot: 'A' },
    );
    // Asked to, it reboots once the trial is set.
    assert.deepEqual(kinds(planUpdate(row({ rebootWhenReady: true }), seen())).at(-1), 'reboot');
  });

  test('an upload or a path is taken instead of downloaded', () => {
    assert.equal(planUpdate(row({ source: { kind: 'upload', id: 'u1' } }), seen())[0]?.kind, 'take-upload');
    assert.equal(
      planUpdate(row({ source: { kind: 'path', path: '/x.raucb' } }), seen())[0]?.kind,
      'take-path',
    );
  });

  test('nothing touches the idle slot before verify: verify always comes right before write', () => {
    for (const phase of ['downloading', 'verifying', 'writing'] as Phase[]) {
      const steps = kinds(planUpdate(row({ phase }), seen({ bundlePresent: true })));
      const w = steps.indexOf('write');
      assert.ok(w > 0 && steps[w - 1] === 'verify', `${phase}: ${steps.join(',')}`);
    }
  });

  test('a kill after each step of an apply leads on to the same end, never to a trial of an unverified slot', () => {
    // Walk the apply; at each point, "kill" (keep the phase reached) and plan again from there.
    const full = planUpdate(row(), seen());
    let phase: Phase = 'downloading';
    for (const [i, step] of full.entries()) {
      phase = phaseAfter(step, phase);
      const fetched = i >= 0; // the bundle is on disk from the first step on
      const again = kinds(planUpdate(row({ phase }), seen({ bundlePresent: fetched })));
      const rest = kinds(full.slice(i + 1));
      if (step.kind === 'set-trial') {
        assert.equal(phase, 'trial');
        assert.deepEqual(again, [], 'set, waiting for the owner’s reboot');
      } else {
        // The rest of the apply, re-verifying anything written after a kill mid-write.
        assert.deepEqual(again.slice(-rest.length), rest, `after ${step.kind}: ${again.join(',')}`);
        if (again.includes('write')) assert.equal(again[again.indexOf('write') - 1], 'verify');
      }
    }
  });

  test('a kill mid-download (the bundle not yet there) downloads again; an upload gone fails the apply', () => {
    assert.deepEqual(kinds(planUpdate(row({ phase: 'verifying' }), seen())), [
      'download',
      'verify',
      'write',
      'set-trial',
    ]);
    assert.deepEqual(
      kinds(planUpdate(row({ phase: 'writing', source: { kind: 'upload', id: 'u' } }), seen())),
      ['finish', 'discard'],
    );
    assert.deepEqual(planUpdate(row({ phase: 'writing', source: { kind: 'upload', id: 'u' } }), seen())[0], {
      kind: 'finish',
      outcome: 'failed',
      slot: 'A',
    });
  });

  test('the trial boot is blessed once the API answers, and the update is recorded', () => {
    const trial = row({ phase: 'trial', rebootRequestedIn: 'boot-1' });
    const onB = seen({ booted: 'B', bootId: 'boot-2', slots: { A: 'good', B: 'trial' } });
    assert.deepEqual(planUpdate(trial, { ...onB, apiAnswering: false }), []);
    assert.deepEqual(planUpdate(trial, onB), [
      { kind: 'bless', slot: 'B' },
      { kind: 'finish', outcome: 'updated', slot: 'B' },
      { kind: 'discard' },
    ]);
    // x86_64's systemd-bless-boot got there first: the same steps (bless is idempotent).
    assert.equal(planUpdate(trial, { ...onB, slots: { A: 'good', B: 'good' } })[0]?.kind, 'bless');
  });

  test('back on the old slot after the trial: fell back, never silently', () => {
    const trial = row({ phase: 'trial', rebootRequestedIn: 'boot-1' });
    // x86_64: the trial entry's tries are used up.
    const x86 = seen({ bootId: 'boot-3', slots: { A: 'good', B: 'bad' } });
    assert.ok(trialFailed(trial, x86));
    assert.deepEqual(planUpdate(trial, x86), [
      { kind: 'finish', outcome: 'fell-back', slot: 'A' },
      { kind: 'discard' },
    ]);
    // The Pi: tryboot is one-shot; a later boot on A than the one that asked is the fallback.
    const pi = seen({ bootId: 'boot-2', slots: { A: 'good', B: 'trial' } });
    assert.equal(planUpdate(trial, pi)[0]?.kind, 'finish');
    // Still the boot that asked for the reboot (the reboot has not happened yet): wait.
    assert.deepEqual(planUpdate(trial, seen({ bootId: 'boot-1', slots: { A: 'good', B: 'trial' } })), []);
  });

  test('the trial waits for the owner’s reboot, and reboots once when asked', () => {
    const set = row({ phase: 'trial' });
    assert.deepEqual(planUpdate(set, seen({ slots: { A: 'good', B: 'trial' } })), []);
    const asked = row({ phase: 'trial', rebootWhenReady: true });
    assert.deepEqual(kinds(planUpdate(asked, seen({ slots: { A: 'good', B: 'trial' } }))), ['reboot']);
    // Already asked in this boot: not again at every pass.
    assert.deepEqual(
      planUpdate({ ...asked, rebootRequestedIn: 'boot-1' }, seen({ slots: { A: 'good', B: 'trial' } })),
      [],
    );
  });

  test('idle: a leftover bundle is removed, otherwise nothing', () => {
    assert.deepEqual(planUpdate(row({ phase: 'idle' }), seen()), []);
    assert.deepEqual(kinds(planUpdate(row({ phase: 'idle' }), seen({ bundlePresent: true }))), ['discard']);
  });
});
