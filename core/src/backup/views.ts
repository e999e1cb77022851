import path from 'node:path';
import { InvalidParams } from '../errors.ts';
import type { TargetRow } from './rows.ts';

/* What the backup domain shows: targets, snapshots and runs as callers see them, the checks
 * of what a caller may give, and the emergency kit's words. Pure. */

export interface TargetView {
  id: string;
  name: string;
  kind: 'local' | 'usb';
  path: string | null;
  uuid: string | null;
  subdir: string | null;
  ready: boolean;
  lastBackupAt: number | null;
  lastError: string | null;
}

export interface SnapshotView {
  id: string;
  shortId: string;
  time: string;
  package: string | null;
  version: string | null;
  box: boolean;
}

export interface RunView {
  run: number;
  phase: 'done' | 'failed';
  snapshots: { of: string; snapshot: string; filesNew: number; bytesAdded: number; totalBytes: number }[];
  failures: { of: string; error: string }[];
}

export const NAME = /^[\p{L}\p{N} ._()-]{1,64}$/u;
export const UUID = /^[0-9A-Fa-f]{4,16}(-[0-9A-Fa-f]{4,16}){0,4}$/;
export const SUBDIR = /^[A-Za-z0-9._-]{1,64}(\/[A-Za-z0-9._-]{1,64}){0,7}$/;
const SYSTEM = ['/proc', '/sys', '/dev', '/run', '/boot', '/efi', '/etc', '/usr', '/bin', '/sbin', '/lib'];

/** A local target's path, plain: absolute, normalized, no `..`, no control characters, not a system directory. */
export function checkLocalPath(p: string, forbidden: readonly string[]): string {
  if (
    p.length > 1024 ||
    !p.startsWith('/') ||
    /[\0-\x1f\x7f]/.test(p) ||
    p.split('/').includes('..') ||
    path.posix.normalize(p).replace(/\/$/, '') !== p
  ) {
    throw new InvalidParams(
      'the path must be absolute and plain (no .., no trailing /, no control characters)',
    );
  }
  const under = (root: string) => p === root || p.startsWith(`${root.replace(/\/$/, '')}/`);
  if (p === '/' || SYSTEM.some(under)) throw new InvalidParams(`${p} is a system directory`);
  if (forbidden.some(under) || forbidden.some((f) => f.startsWith(`${p}/`)))
    throw new InvalidParams(`${p} is on the box's own data: a backup there is lost with it`, {
      hint: 'choose a USB disk or another drive',
    });
  return p;
}

export const view = (t: TargetRow): TargetView => ({
  id: t.id,
  name: t.name,
  kind: t.location.kind,
  path: t.location.kind === 'local' ? t.location.path : null,
  uuid: t.location.kind === 'usb' ? t.location.uuid : null,
  subdir: t.location.kind === 'usb' ? t.location.subdir : null,
  ready: t.phase === 'ready',
  lastBackupAt: t.lastBackupAt,
  lastError: t.lastError,
});

/** A target removed while a run was under way: recovery still undoes the packages' side. */
export const placeholder = (id: string): TargetRow => ({
  id,
  name: id,
  location: { kind: 'local', path: '/nonexistent' },
  phase: 'ready',
  createdAt: 0,
  lastBackupAt: null,
  lastError: null,
});

export interface Kit {
  key: string;
  targets: { name: string; repository: string }[];
  instructions: string;
}

/** The emergency kit: the key, where each target's repository is, and the words around them. */
export const kitOf = (key: string, targets: TargetRow[]): Kit => ({
  key,
  targets: targets.map((t) => ({
    name: t.name,
    repository:
      t.location.kind === 'local'
        ? t.location.path
        : `the directory ${t.location.subdir} on the disk with filesystem UUID ${t.location.uuid}`,
  })),
  instructions: KIT_INSTRUCTIONS,
});

const KIT_INSTRUCTIONS = `Hearth backup — emergency kit

Keep this page somewhere safe, away from the box: without the key below, nobody (not you, not
Hearth) can read the backups. With it, anyone who has the backup disk can.

The backups are restic repositories (https://restic.net), one per target listed below. To get
your data back without Hearth, on any Linux, macOS or Windows computer with restic installed:

  1. Save the key in a file, e.g. key.txt (the key only, on one line).
  2. List the snapshots:   restic -r <repository> --password-file key.txt snapshots
     Each package's snapshot is tagged package:<id>; the box's own database is tagged box.
  3. Restore one:          restic -r <repository> --password-file key.txt restore <snapshot id> --target ./restored
     A package's data is under …/packages/<id>/volumes/<volume> in what was restored;
     the box's database is hearth.db (an SQLite file).

For a USB disk, plug it into the computer first; the repository is the directory named below
on that disk.
`;
