import type { Progress } from '../calls.ts';
import { HearthError } from '../errors.ts';
import type { BootSlots } from '../host/boot-slots.ts';
import type { UpdateEngine } from '../host/rauc.ts';
import type { Logger } from '../log/log.ts';
import type { FileSource } from '../uploads/uploads.ts';
import { acceptable, type Platform } from './feed.ts';
import type { Outcome, Step } from './plan.ts';
import type { UpdateRows } from './rows.ts';

/*
 * The one table that carries the update's steps out (the pattern's step 4). Each executor
 * moves the row's phase on once its step is done, so a kill finds the phase of the last
 * step that finished.
 */

export interface ExecutorContext {
  rows: UpdateRows;
  engine: UpdateEngine;
  slots: BootSlots;
  /** Fetches a bundle (download with its digest, or a claimed upload) to a file of ours. */
  open: (source: FileSource, progress: (p: Progress) => void) => Promise<{ file: string }>;
  platform: Platform;
  currentVersion: string;
  bundle: string;
  scratch: string;
  reboot: (tryboot: boolean) => Promise<void>;
  finish: (outcome: Outcome, error: string | null) => void;
  progress: (p: Progress) => void;
  log: Logger;
}

type Executors = {
  [K in Step['kind']]: (step: Extract<Step, { kind: K }>, c: ExecutorContext) => Promise<void>;
};

/** Where a path source's bundle is read from: the path itself (never moved or removed). */
export const bundleOf = (c: Pick<ExecutorContext, 'rows' | 'bundle'>): string => {
  const source = c.rows.get().source;
  return source?.kind === 'path' ? source.path : c.bundle;
};

const fetched = async (c: ExecutorContext, source: FileSource) => {
  const { file } = await c.open(source, c.progress);
  c.slots.place(file, c.bundle);
  c.rows.setPhase('verifying');
};

export const EXECUTORS: Executors = {
  download: (s, c) => fetched(c, { url: s.url, sha256: s.sha256 }),
  'take-upload': (s, c) => fetched(c, { upload: s.id }),
  'take-path': async (_s, c) => {
    c.rows.setPhase('verifying');
  },
  verify: async (s, c) => {
    const bundle = bundleOf(c);
    c.progress({ step: 'verify' });
    // The signature, then what it says, then every block of the payload: all before the
    // idle slot is touched.
    const info = await c.engine.info(bundle);
    const row = c.rows.get();
    if (info.compatible !== `hearth-${c.platform}`) {
      throw new HearthError(
        'update_refused',
        `this bundle is for ${info.compatible}, not for this box (hearth-${c.platform})`,
        {
          hint: 'download the bundle for this box’s kind: x86_64 or raspberrypi',
          data: { reason: 'wrong_platform' },
        },
      );
    }
    if (!acceptable(info.version, c.currentVersion, s.allowDowngrade)) {
      const same = info.version === c.currentVersion;
      throw new HearthError(
        'update_refused',
        same
          ? `this box already runs Hearth ${info.version}`
          : `the bundle holds Hearth ${info.version}, older than the ${c.currentVersion} this box runs`,
        {
          hint: same ? 'nothing to do' : 'to go back on purpose, apply it with allowDowngrade: true',
          data: { reason: same ? 'same_version' : 'older' },
        },
      );
    }
    if (row.version !== null && row.source?.kind === 'feed' && row.version !== info.version) {
      throw new HearthError(
        'update_refused',
        `the feed offered ${row.version}, but the bundle holds ${info.version}`,
        {
          data: { reason: 'feed_mismatch' },
        },
      );
    }
    c.rows.setVersion(info.version);
    await c.engine.checkPayload(bundle, c.scratch);
    c.rows.setPhase('writing');
  },
  write: async (_s, c) => {
    await c.engine.install(bundleOf(c), c.progress);
    c.rows.setPhase('written');
  },
  'set-trial': async (s, c) => {
    c.progress({ step: 'prepare-boot' });
    const row = c.rows.get();
    // Written before the bootloader changes: the next start must know a trial may follow.
    c.slots.writePending({
      from: row.fromSlot ?? (s.slot === 'A' ? 'B' : 'A'),
      to: s.slot,
      fromVersion: row.fromVersion ?? c.currentVersion,
      toVersion: row.version ?? 'unknown',
    });
    c.slots.removeSnapshot();
    await c.engine.markActiveOther();
    c.rows.setPhase('trial');
  },
  reboot: async (_s, c) => {
    c.rows.setReboot({ requestedIn: c.slots.bootId() });
    await c.reboot(c.platform === 'raspberrypi');
  },
  bless: async (_s, c) => {
    await c.engine.markGoodBooted();
  },
  finish: async (s, c) => {
    const pending = c.slots.readPending();
    const error =
      s.outcome === 'fell-back'
        ? `Hearth ${pending?.toVersion ?? c.rows.get().version ?? ''} did not start properly, so the box went back to ${pending?.fromVersion ?? c.currentVersion}` +
          (pending?.restored ? '; changes made while the new version ran were undone' : '')
        : s.outcome === 'failed'
          ? 'the update was cut short and its bundle is gone; apply it again'
          : null;
    c.finish(s.outcome, error);
  },
  discard: async (_s, c) => {
    // Our copy only: a bundle applied from a path on the box stays where it is.
    c.slots.remove(c.bundle);
    c.slots.removePending();
    c.slots.removeSnapshot();
  },
};

export async function execute(step: Step, c: ExecutorContext): Promise<void> {
  c.log.info('update step', { step: step.kind });
  await (EXECUTORS[step.kind] as (s: Step, c: ExecutorContext) => Promise<void>)(step, c);
}
