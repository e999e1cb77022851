/*
 * The OS update, planned purely (ARCHITECTURE.md "The pattern" and "OS updates"). The row
 * (`rows.ts`) says what should be and how far an apply got; the observation says what the
 * machine is (which slot booted, what the bootloader thinks of each slot, whether the
 * bundle is on disk); `planUpdate` turns the two into steps that `executors.ts` carries out.
 *
 * The order is the safety: nothing touches the idle slot before the bundle is verified
 * (RAUC's signature, the compatible string, the version; the feed's digest when it came
 * from a feed); the idle slot is written with RAUC's `activate-installed=false`, so a kill
 * while writing leaves the booted slot primary and the box boots what it booted; only then
 * is the slot made a trial; the reboot happens only when the owner asked for it. The
 * database is snapshotted on the trial boot before its hearthd opens it (`early.ts`), so
 * nothing the owner did before the reboot is lost by a fallback.
 */

export type Slot = 'A' | 'B';
export const otherSlot = (s: Slot): Slot => (s === 'A' ? 'B' : 'A');

/** How far an apply got; a kill leaves one of these behind and the next pass goes on from it. */
export type Phase = 'idle' | 'downloading' | 'verifying' | 'writing' | 'written' | 'trial';

export type Source =
  | { kind: 'feed'; url: string; sha256: string; size: number }
  | { kind: 'upload'; id: string }
  | { kind: 'path'; path: string };

export interface UpdateRow {
  phase: Phase;
  /** The version being applied (from the feed, or from the bundle once verified). */
  version: string | null;
  source: Source | null;
  allowDowngrade: boolean;
  /** Reboot into the trial as soon as it is set (else the owner reboots, or `server.update.reboot`). */
  rebootWhenReady: boolean;
  fromSlot: Slot | null;
  fromVersion: string | null;
  /** The boot (kernel boot id) that asked for the reboot into the trial. */
  rebootRequestedIn: string | null;
}

/** What a slot's boot entry says: never written, a trial with tries left, good, or tried and failed. */
export type SlotState = 'empty' | 'trial' | 'good' | 'bad';

export interface Observed {
  booted: Slot;
  bootId: string;
  slots: Record<Slot, SlotState>;
  /** The bundle file is where the download or the upload put it. */
  bundlePresent: boolean;
  /** The daemon answers its API on this boot (daemon.json names this process). */
  apiAnswering: boolean;
}

export type Step =
  | { kind: 'download'; url: string; sha256: string; size: number }
  | { kind: 'take-upload'; id: string }
  | { kind: 'take-path'; path: string }
  | { kind: 'verify'; allowDowngrade: boolean }
  | { kind: 'write'; slot: Slot }
  | { kind: 'set-trial'; slot: Slot }
  | { kind: 'reboot' }
  | { kind: 'bless'; slot: Slot }
  | { kind: 'finish'; outcome: Outcome; slot: Slot }
  | { kind: 'discard' };

export type Outcome = 'updated' | 'fell-back' | 'failed';

const fetchStep = (s: Source): Step =>
  s.kind === 'feed'
    ? { kind: 'download', url: s.url, sha256: s.sha256, size: s.size }
    : s.kind === 'upload'
      ? { kind: 'take-upload', id: s.id }
      : { kind: 'take-path', path: s.path };

/** Whether the trial of `to` has been given its chance and the box is back on the old slot. */
export function trialFailed(row: UpdateRow, o: Observed): boolean {
  if (row.phase !== 'trial' || !row.fromSlot || o.booted !== row.fromSlot) return false;
  const to = otherSlot(row.fromSlot);
  // x86_64: systemd-boot used up the entry's tries. The Pi: tryboot is one-shot, so a later
  // boot on the old slot than the one that asked for the trial means the trial is over.
  return o.slots[to] === 'bad' || (row.rebootRequestedIn !== null && row.rebootRequestedIn !== o.bootId);
}

export function planUpdate(row: UpdateRow, o: Observed): Step[] {
  const target = otherSlot(o.booted);
  const after = (steps: Step[]): Step[] => (row.rebootWhenReady ? [...steps, { kind: 'reboot' }] : steps);
  switch (row.phase) {
    case 'idle':
      return o.bundlePresent ? [{ kind: 'discard' }] : [];
    case 'downloading':
      // A kill mid-download leaves only a `.part` file behind (not the bundle): fetch again.
      if (!row.source) return [{ kind: 'finish', outcome: 'failed', slot: o.booted }, { kind: 'discard' }];
      return after([
        ...(o.bundlePresent ? [] : [fetchStep(row.source)]),
        { kind: 'verify', allowDowngrade: row.allowDowngrade },
        { kind: 'write', slot: target },
        { kind: 'set-trial', slot: target },
      ]);
    case 'verifying':
    case 'writing':
      // A kill while writing leaves the idle slot half-written but not primary: verify again
      // (the bundle on disk may be what was cut short) and write it whole.
      if (!o.bundlePresent) {
        return row.source?.kind === 'feed'
          ? planUpdate({ ...row, phase: 'downloading' }, o)
          : [{ kind: 'finish', outcome: 'failed', slot: o.booted }, { kind: 'discard' }];
      }
      return after([
        { kind: 'verify', allowDowngrade: row.allowDowngrade },
        { kind: 'write', slot: target },
        { kind: 'set-trial', slot: target },
      ]);
    case 'written':
      return after([{ kind: 'set-trial', slot: target }]);
    case 'trial': {
      const from = row.fromSlot ?? o.booted;
      const to = otherSlot(from);
      if (o.booted === to) {
        // On the trial boot: blessed once hearthd answers (its database opened and migrated
        // before that). x86_64's systemd-bless-boot may have done it already; bless is idempotent.
        if (!o.apiAnswering) return [];
        return [
          { kind: 'bless', slot: to },
          { kind: 'finish', outcome: 'updated', slot: to },
          { kind: 'discard' },
        ];
      }
      if (trialFailed(row, o)) {
        // The snapshot was put back before the database opened (`restoreAfterFallback`).
        return [{ kind: 'finish', outcome: 'fell-back', slot: from }, { kind: 'discard' }];
      }
      // Set, not yet booted: the reboot waits for the owner unless asked for.
      return row.rebootWhenReady && row.rebootRequestedIn !== o.bootId ? [{ kind: 'reboot' }] : [];
    }
  }
}

/** The phase each step leaves behind when it is done: what a kill right after it finds. */
export function phaseAfter(step: Step, current: Phase): Phase {
  switch (step.kind) {
    case 'download':
    case 'take-upload':
    case 'take-path':
      return 'verifying';
    case 'verify':
      return 'writing';
    case 'write':
      return 'written';
    case 'set-trial':
      return 'trial';
    case 'finish':
      return 'idle';
    default:
      return current;
  }
}
