/*
 * What restic prints, parsed purely and with bounds: the JSON lines of `backup --json`,
 * the JSON of `snapshots --json`, and the words of its failures on stderr. Nothing here
 * trusts the input: a repository can be someone else's, and its output is read as data.
 */

/** A progress line of `restic backup --json` (message_type status). */
export interface BackupStatus {
  kind: 'status';
  /** 0..1 */
  fraction: number;
  filesDone: number;
  totalFiles: number;
  bytesDone: number;
  totalBytes: number;
  secondsRemaining: number | null;
}

/** The last line of a backup that worked (message_type summary). */
export interface BackupSummary {
  kind: 'summary';
  snapshotId: string;
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  bytesAdded: number;
  totalFiles: number;
  totalBytes: number;
  seconds: number;
}

export interface BackupError {
  kind: 'error';
  message: string;
}

export type BackupEvent = BackupStatus | BackupSummary | BackupError;

/** A snapshot as `restic snapshots --json` lists it, checked. */
export interface Snapshot {
  id: string;
  shortId: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}

/** Restic's ids: 64 hex digits whole, 8 or more as a prefix. */
export const SNAPSHOT_ID = /^[0-9a-f]{8,64}$/;
const MAX_SNAPSHOTS = 100_000;
const MAX_SNAPSHOTS_JSON = 64 * 1024 * 1024;
const MAX_TEXT = 4096;

const count = (v: unknown): number =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0
    ? Math.min(Math.floor(v), Number.MAX_SAFE_INTEGER)
    : 0;
const text = (v: unknown, max = MAX_TEXT): string => (typeof v === 'string' ? v.slice(0, max) : '');

/** One line of `restic backup --json`; undefined for anything that is not one of its messages. */
export function parseBackupLine(line: string): BackupEvent | undefined {
  if (line.length > 65536 || !line.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  switch (o['message_type']) {
    case 'status': {
      const fraction = typeof o['percent_done'] === 'number' ? o['percent_done'] : 0;
      return {
        kind: 'status',
        fraction: Number.isFinite(fraction) ? Math.min(Math.max(fraction, 0), 1) : 0,
        filesDone: count(o['files_done']),
        totalFiles: count(o['total_files']),
        bytesDone: count(o['bytes_done']),
        totalBytes: count(o['total_bytes']),
        secondsRemaining: typeof o['seconds_remaining'] === 'number' ? count(o['seconds_remaining']) : null,
      };
    }
    case 'summary': {
      const id = text(o['snapshot_id'], 64);
      if (!SNAPSHOT_ID.test(id)) return undefined;
      return {
        kind: 'summary',
        snapshotId: id,
        filesNew: count(o['files_new']),
        filesChanged: count(o['files_changed']),
        filesUnmodified: count(o['files_unmodified']),
        bytesAdded: count(o['data_added']),
        totalFiles: count(o['total_files_processed']),
        totalBytes: count(o['total_bytes_processed']),
        seconds:
          typeof o['total_duration'] === 'number' && o['total_duration'] >= 0 ? o['total_duration'] : 0,
      };
    }
    case 'error': {
      const e = o['error'];
      const message =
        typeof e === 'object' && e !== null ? text((e as Record<string, unknown>)['message']) : text(e);
      const item = text(o['item']);
      return { kind: 'error', message: item ? `${item}: ${message}` : message };
    }
    default:
      return undefined;
  }
}

/** `restic snapshots --json`: entries that are not well-formed snapshots are left out. */
export function parseSnapshots(json: string): Snapshot[] {
  if (json.length > MAX_SNAPSHOTS_JSON) throw new Error('restic listed more snapshots than the box reads');
  const v: unknown = JSON.parse(json);
  if (!Array.isArray(v)) throw new Error('restic did not list snapshots as an array');
  const out: Snapshot[] = [];
  for (const s of v.slice(0, MAX_SNAPSHOTS)) {
    if (typeof s !== 'object' || s === null) continue;
    const o = s as Record<string, unknown>;
    const id = text(o['id'], 64);
    const time = text(o['time'], 64);
    if (!/^[0-9a-f]{64}$/.test(id) || Number.isNaN(Date.parse(time))) continue;
    const strings = (a: unknown) =>
      Array.isArray(a)
        ? a.filter((x): x is string => typeof x === 'string').map((x) => x.slice(0, MAX_TEXT))
        : [];
    out.push({
      id,
      shortId: id.slice(0, 8),
      time,
      hostname: text(o['hostname'], 253),
      paths: strings(o['paths']).slice(0, 64),
      tags: strings(o['tags']).slice(0, 64),
    });
  }
  return out;
}

/** Why restic failed, in the words a target's test answers with. */
export type ResticFailure =
  | 'wrong-password'
  | 'no-repository'
  | 'no-space'
  | 'read-only'
  | 'unreachable'
  | 'locked'
  | 'unknown';

/** Reads restic's stderr (its own words, which its exit codes did not tell apart before 0.17). */
export function classifyFailure(stderr: string): ResticFailure {
  const s = stderr.slice(-16384);
  if (/wrong password or no key found/i.test(s)) return 'wrong-password';
  if (/no space left on device|disk quota exceeded/i.test(s)) return 'no-space';
  if (/read-only file system/i.test(s)) return 'read-only';
  if (/repository is already locked/i.test(s)) return 'locked';
  if (/unable to open config file|Is there a repository at the following location/i.test(s))
    return 'no-repository';
  if (/permission denied|no such file or directory|connection refused|no route to host|timeout/i.test(s))
    return 'unreachable';
  return 'unknown';
}
