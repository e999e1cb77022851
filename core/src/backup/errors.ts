import { type ErrorCode, HearthError } from '../errors.ts';
import type { ResticFailure } from '../host/restic-parse.ts';

/** What a target's test, or a run, found wrong with a target: in plain words. */
export type TargetFailure = ResticFailure | 'absent';

const WORDS: Record<TargetFailure, { code: ErrorCode; message: (name: string) => string; hint: string }> = {
  absent: {
    code: 'target_absent',
    message: (n) => `the disk of ${n} is not plugged in`,
    hint: 'plug the USB disk in and try again; the box mounts it by itself',
  },
  unreachable: {
    code: 'target_unreachable',
    message: (n) => `${n} cannot be reached`,
    hint: 'check that the directory or disk is there and the box may use it',
  },
  'wrong-password': {
    code: 'target_wrong_password',
    message: (n) => `the backup key does not open the repository on ${n}`,
    hint: 'the repository was made with another key: use the emergency kit that came with it, or choose an empty directory',
  },
  'no-repository': {
    code: 'target_no_repository',
    message: (n) => `there is no backup repository on ${n}`,
    hint: 'remove the target and add it again: adding makes the repository',
  },
  'no-space': {
    code: 'target_full',
    message: (n) => `${n} has no space left for backups`,
    hint: 'free space on it, or choose a larger disk',
  },
  'read-only': {
    code: 'target_read_only',
    message: (n) => `${n} is read-only`,
    hint: 'a USB disk may have a write-protect switch; or the filesystem was mounted read-only after an error — check it on a computer',
  },
  locked: {
    code: 'backup_failed',
    message: (n) => `the repository on ${n} is locked by another program`,
    hint: 'if nothing else uses it, `restic unlock` on it frees it',
  },
  unknown: {
    code: 'backup_failed',
    message: (n) => `restic could not use ${n}`,
    hint: 'the daemon’s log (server.logs) has what restic said',
  },
};

export class TargetProblem extends HearthError {
  readonly failure: TargetFailure;
  constructor(failure: TargetFailure, name: string, cause?: unknown) {
    const w = WORDS[failure];
    super(w.code, w.message(name), { hint: w.hint, cause, data: { failure } });
    this.failure = failure;
  }

  static of(failure: TargetFailure, name: string, cause?: unknown): TargetProblem {
    return new TargetProblem(failure, name, cause);
  }
}

/** A plain sentence for a target's state in a list (the same words as the errors). */
export const describeFailure = (failure: TargetFailure, name: string): string => WORDS[failure].message(name);
