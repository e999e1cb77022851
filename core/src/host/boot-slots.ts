import fs from 'node:fs';
import path from 'node:path';
import type { Slot } from '../update/plan.ts';
import { fsyncPath, removeDurably, renameDurably, replaceDatabase, writeDurably } from './durable-file.ts';

/*
 * What the update needs of the machine besides RAUC: which slot this boot is (the kernel
 * command line's `rauc.slot=`, which the boot entries carry), this boot's id, the pending
 * trial's file beside the database (read before the database opens, which a newer hearthd
 * may have migrated), and the database snapshot taken on the trial boot before hearthd
 * opened it — put back if the box comes back on the old slot.
 */

export interface Pending {
  from: Slot;
  to: Slot;
  fromVersion: string;
  toVersion: string;
  /** The database was put back from the snapshot at this boot (the trial's changes are gone). */
  restored?: boolean;
}

export interface BootSlots {
  booted(): Slot | null;
  bootId(): string;
  readPending(): Pending | null;
  writePending(p: Pending): void;
  removePending(): unknown;
  hasSnapshot(): boolean;
  /** The database as of now, aside, durably: `vacuumInto` writes it (SQLite's VACUUM INTO). */
  snapshotDatabase(vacuumInto: (file: string) => void): void;
  /** Puts the snapshot back in place of the closed database. */
  restoreDatabase(): void;
  removeSnapshot(): unknown;
  exists(file: string): boolean;
  remove(file: string): void;
  /** Moves a fetched bundle into place (same filesystem), durably. */
  place(from: string, to: string): void;
  /** Whether the daemon.json of this runtime names this process (its API is listening). */
  answering(): boolean;
}

export function parseBootedSlot(cmdline: string): Slot | null {
  const m = /(?:^|\s)rauc\.slot=([AB])(?:\s|$)/.exec(cmdline);
  return m ? (m[1] as Slot) : null;
}

export function hostBootSlots(o: {
  dir: string;
  database: string;
  runtimeDir: string;
  proc?: string;
}): BootSlots {
  const proc = o.proc ?? '/proc';
  const pendingFile = path.join(o.dir, 'pending.json');
  const snapshot = path.join(o.dir, 'snapshot.db');
  const db = o.database;
  const mkdir = () => fs.mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  return {
    booted: () => {
      try {
        return parseBootedSlot(fs.readFileSync(path.join(proc, 'cmdline'), 'utf8'));
      } catch {
        return null;
      }
    },
    bootId: () => fs.readFileSync(path.join(proc, 'sys/kernel/random/boot_id'), 'utf8').trim(),
    readPending: () => {
      try {
        return JSON.parse(fs.readFileSync(pendingFile, 'utf8')) as Pending;
      } catch {
        return null;
      }
    },
    writePending: (p) => {
      mkdir();
      writeDurably(pendingFile, JSON.stringify(p));
    },
    removePending: () => fs.existsSync(pendingFile) && removeDurably(pendingFile),
    hasSnapshot: () => fs.existsSync(snapshot),
    snapshotDatabase: (vacuumInto) => {
      mkdir();
      const part = `${snapshot}.part`;
      fs.rmSync(part, { force: true });
      vacuumInto(part);
      fsyncPath(part);
      renameDurably(part, snapshot);
    },
    restoreDatabase: () => replaceDatabase(db, (fresh) => fs.copyFileSync(snapshot, fresh)),
    removeSnapshot: () => fs.existsSync(snapshot) && removeDurably(snapshot),
    exists: (file) => fs.existsSync(file),
    remove: (file) => fs.rmSync(file, { force: true }),
    place: (from, to) => {
      mkdir();
      renameDurably(from, to);
    },
    answering: () => {
      try {
        const info = JSON.parse(fs.readFileSync(path.join(o.runtimeDir, 'daemon.json'), 'utf8')) as {
          pid?: number;
        };
        return info.pid === process.pid;
      } catch {
        return false;
      }
    },
  };
}
