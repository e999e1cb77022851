import fs from 'node:fs';
import path from 'node:path';
import { MARKER_FILE as DRIVE_MARKER } from '../disks/disks.ts';
import { DATABASE_FILE } from '../disks/drives.ts';
import { CONTAINER_PREFIX, type Lxc } from '../host/containers.ts';
import { eraseDirectory, removeDurably, replaceDatabase, writeDurably } from '../host/durable-file.ts';
import type { Mounts } from '../host/mounts.ts';
import type { Logger } from '../log/log.ts';
import { migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';

/** Written into the data directory when a reset is asked for; gone when it is done. */
export const RESET_MARKER = 'factory-reset.json';

/** What a factory reset erases and what it keeps, in words for the owner. */
export interface ResetPlan {
  erases: string[];
  keeps: string[];
  packages: { id: string; title: string }[];
}

export interface FactoryResetOptions {
  dataDir: string;
  lxc: Lxc;
  mounts: Mounts;
  log: Logger;
  now?: () => number;
}

/**
 * Returns the box to setup mode, erasing everything Hearth keeps: the owner's account,
 * second factor, sessions and tokens, every package with its data, uploads, the audit log,
 * notifications and settings. The request is written down first (RESET_MARKER) and the
 * work done at the next start, before the database opens — by the code path every start
 * takes — so a crash anywhere in it only means the next start does it again. A data
 * drive stays the box's data drive, emptied; the database is replaced last, whole, so the
 * drive is always one this box accepts at start.
 */
export class FactoryReset {
  readonly #o: FactoryResetOptions & { now: () => number };

  constructor(options: FactoryResetOptions) {
    this.#o = { now: Date.now, ...options };
  }

  /** Asks for a reset; the daemon then starts again (or is started) to carry it out. */
  request(by: string): void {
    writeDurably(
      path.join(this.#o.dataDir, RESET_MARKER),
      `${JSON.stringify({ requestedAt: new Date(this.#o.now()).toISOString(), by })}\n`,
    );
    this.#o.log.warn('factory reset requested', { by });
  }

  get requested(): boolean {
    return fs.existsSync(path.join(this.#o.dataDir, RESET_MARKER));
  }

  /** Carries out a reset asked for (also one a crash cut short); nothing to do otherwise. */
  async finishIfRequested(): Promise<boolean> {
    if (!this.requested) return false;
    const { dataDir, lxc, mounts, log } = this.#o;
    const started = performance.now();
    for (const c of await lxc.list()) {
      if (c.name.startsWith(CONTAINER_PREFIX)) await lxc.destroy(c.name);
    }
    // Everything mounted inside the data directory (package images, overlays), not a data
    // drive mounted on it.
    const top = path.resolve(dataDir);
    for (const m of await mounts.listMounts(top))
      if (m.mountPoint !== top) await mounts.unmount(m.mountPoint);
    eraseDirectory(
      dataDir,
      new Set([RESET_MARKER, DRIVE_MARKER, DATABASE_FILE, `${DATABASE_FILE}-wal`, `${DATABASE_FILE}-shm`]),
    );
    // A new, empty database takes the old one's place in one rename, last: a data drive
    // must always hold one, or the next start would not take it as this box's.
    replaceDatabase(path.join(dataDir, DATABASE_FILE), (file) => {
      const db = openDatabase(file);
      migrate(db, MIGRATIONS, file);
      db.close();
    });
    removeDurably(path.join(dataDir, RESET_MARKER));
    log.warn('factory reset done: the box is in setup mode', { ms: Math.round(performance.now() - started) });
    return true;
  }
}

/** What a reset would erase on this box, from what it holds now. */
export function describeReset(o: {
  packages: { id: string; title: string }[];
  sessions: number;
  tokens: number;
  secondFactor: boolean;
  auditEntries: number;
  notifications: number;
  dataDrive: string | undefined;
}): ResetPlan {
  const n = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;
  return {
    packages: o.packages,
    erases: [
      'the owner’s password' + (o.secondFactor ? ', the second factor and its recovery codes' : ''),
      `${n(o.sessions, 'login session')} and ${n(o.tokens, 'API token')}`,
      o.packages.length > 0
        ? `${n(o.packages.length, 'package')} with all their data: ${o.packages.map((p) => p.title).join(', ')}`
        : 'no packages (none are installed)',
      `${n(o.auditEntries, 'audit entry', 'audit entries')}, ${n(o.notifications, 'notification')}, the box’s name and settings, uploads and trusted signers`,
    ],
    keeps: [
      'the operating system and its version',
      o.dataDrive
        ? `the data drive (${o.dataDrive}): it stays this box’s data drive, emptied`
        : 'the data partition itself, emptied',
      'the system journal and the daemon’s own log file',
    ],
  };
}
