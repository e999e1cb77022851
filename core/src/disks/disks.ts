import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Progress } from '../calls.ts';
import { HearthError, isHearthError } from '../errors.ts';
import type { DiskHost } from '../host/disks.ts';
import { type Probe, parseLsblk } from '../host/disks-parse.ts';
import { fsyncPath, removeDurably, renameDurably, writeDurably } from '../host/durable-file.ts';
import type { Logger } from '../log/log.ts';
import { type Db, migrate, openDatabase } from '../state/db.ts';
import { MIGRATIONS } from '../state/migrations.ts';
import {
  DATA_LABEL,
  DATABASE_FILE,
  type Drive,
  describeDrives,
  isDrive,
  mountHolding,
  systemDevices,
} from './drives.ts';
import { type DriveChoice, type DrivePlan, DriveRefused, planDrive } from './plan.ts';

/**
 * Names the data drive's filesystem, in two copies with the same content: one in the data
 * directory underneath (on the system disk) and one at the root of the drive. Whichever
 * is visible at start-up — the drive mounted over the data directory or not yet — says
 * which filesystem belongs there.
 */
export const MARKER_FILE = 'data-drive.json';

export interface DriveMarker {
  /** The filesystem UUID of the data drive's `hearth-data` partition. */
  uuid: string;
  /** When it was chosen (ISO 8601), for people reading the file. */
  chosenAt: string;
}

export interface DisksOptions {
  host: DiskHost;
  dataDir: string;
  /** Where a drive's filesystem is mounted while the state is moved onto it. */
  stagingDir: string;
  /** Development mode: loop devices are offered, and nothing else may be written to. */
  dev: boolean;
  /** Copies a directory tree with owners, modes and times; `dest` must not exist. */
  copyTree: (src: string, dest: string) => Promise<void>;
  log: Logger;
  /** How long start-up waits for the data drive to appear (USB disks come late at boot). */
  waitForDriveMs?: number;
  now?: () => number;
}

export type MovingPlan = Exclude<DrivePlan, { kind: 'in-place' }>;

export interface MoveOptions<T> {
  /** The daemon's open database: a consistent copy goes onto the drive (`VACUUM INTO`). */
  db: Db;
  progress: (p: Progress) => void;
  /** Runs in one transaction on the drive's database, before it becomes the box's. */
  finish: (target: Db) => T;
}

export class DataDriveMissing extends HearthError {
  constructor(uuid: string, dataDir: string) {
    super(
      'data_drive_missing',
      `the data drive (filesystem ${uuid}) is not attached, so ${dataDir} is not there`,
      {
        hint: 'plug the data drive in, then start Hearth again (systemctl restart hearth)',
        data: { uuid },
      },
    );
  }
}

/** The files of the data directory that are the database itself: never copied as files. */
const isDatabaseFile = (name: string) => name === DATABASE_FILE || name.startsWith(`${DATABASE_FILE}-`);

/**
 * The box's drives: listing them for the setup wizard, making one the data drive (or
 * attaching one that holds Hearth data) and mounting it over the data directory at
 * every start.
 */
export class Disks {
  readonly #o: DisksOptions & { waitForDriveMs: number; now: () => number };

  constructor(options: DisksOptions) {
    this.#o = { waitForDriveMs: 60_000, now: Date.now, ...options };
  }

  async list(): Promise<Drive[]> {
    const { host, dev } = this.#o;
    const [devices, mounts] = await Promise.all([host.lsblk().then(parseLsblk), host.mountInfo()]);
    const drives = devices.filter((d) => isDrive(d, { loopDevices: dev }));
    const all = drives.flatMap((d) => [d, ...d.children.filter((c) => c.type === 'part')]);
    const probes = new Map<string, Probe>(
      await Promise.all(all.map(async (d) => [d.path, await host.probe(d.path)] as const)),
    );
    const hearthDatabases = new Set<string>();
    await Promise.all(
      all.map(async (d) => {
        const p = probes.get(d.path);
        if (p?.label !== DATA_LABEL || !p.fsType?.startsWith('ext')) return;
        // Mounted: look through the mount of its root; unmounted: read the device.
        const root = mounts.find((m) => m.device === d.majMin && m.root === '/');
        const found = root
          ? fs.existsSync(path.join(root.mountPoint, DATABASE_FILE))
          : d.mountpoints.length === 0 && (await host.hasFile(d.path, DATABASE_FILE));
        if (found) hearthDatabases.add(d.path);
      }),
    );
    return describeDrives(devices, {
      system: systemDevices(mounts),
      dataDir: mountHolding(mounts, this.#o.dataDir)?.device,
      probes,
      hearthDatabases,
      loopDevices: dev,
    });
  }

  /** What choosing this drive would do; refuses with what is on it and what to send instead. */
  async plan(choice: DriveChoice): Promise<DrivePlan> {
    return planDrive(await this.list(), choice, { dev: this.#o.dev });
  }

  /**
   * Makes the drive the box's data drive: partitions and formats it (or checks the Hearth
   * filesystem on it), copies the state onto it, lets `finish` complete the drive's
   * database, and commits by writing the marker into the data directory. Until that
   * last write the box's state is the old one, untouched; after it, every start of the
   * daemon uses the drive. The caller then restarts the daemon in place.
   */
  async moveState<T>(plan: MovingPlan, o: MoveOptions<T>): Promise<T> {
    const { host, stagingDir: staging, log } = this.#o;
    await host.unmount(staging);
    let device: string;
    let uuid: string;
    if (plan.kind === 'format') {
      o.progress({ step: 'partition' });
      device = await host.partition(plan.drive.path, DATA_LABEL);
      o.progress({ step: 'format' });
      uuid = randomUUID();
      await host.format(device, { label: DATA_LABEL, uuid });
    } else {
      device = plan.filesystem;
      o.progress({ step: 'check' });
      await host.check(device);
      const probed = (await host.probe(device)).uuid;
      if (!probed) throw notHearthData(plan.drive, device, 'its filesystem has no UUID');
      uuid = probed;
    }
    o.progress({ step: 'mount' });
    await host.mount(device, staging);
    let result: T;
    try {
      if (plan.kind === 'format') await this.#copyState(o.db, staging, o.progress);
      o.progress({ step: 'finish' });
      result = finishDatabase(plan, staging, o.finish);
      const marker = `${JSON.stringify({ uuid, chosenAt: new Date(this.#o.now()).toISOString() } satisfies DriveMarker, null, 2)}\n`;
      writeDurably(path.join(staging, MARKER_FILE), marker);
      o.progress({ step: 'switch' });
      // The commit point.
      writeDurably(path.join(this.#o.dataDir, MARKER_FILE), marker);
    } catch (e) {
      await host.unmount(staging).catch((error) => log.warn('could not unmount the staged drive', { error }));
      throw e;
    }
    // Committed: a failure from here on must not undo the answer; start-up mounts the drive anyway.
    await host.unmount(staging).catch((error) => log.warn('could not unmount the staged drive', { error }));
    log.info('the state moved to the data drive', { drive: plan.drive.path, device, uuid });
    return result;
  }

  /** The device of the data drive in use, if the data lives on one (and it is there). */
  async driveInUse(): Promise<string | undefined> {
    const marker = readMarker(path.join(this.#o.dataDir, MARKER_FILE));
    return marker
      ? ((await this.#o.host.findFilesystem(marker.uuid)) ?? `the filesystem ${marker.uuid}`)
      : undefined;
  }

  /**
   * What is wrong with the data drive while the box runs, in a sentence, or undefined:
   * gone (unplugged), or no longer mounted over the data directory — either way what is
   * written now lands on the system disk underneath. The data-drive check asks this.
   */
  async problem(): Promise<string | undefined> {
    const { host, dataDir } = this.#o;
    const marker = readMarker(path.join(dataDir, MARKER_FILE));
    if (!marker) return undefined;
    const device = await host.findFilesystem(marker.uuid);
    if (!device) return `The data drive (filesystem ${marker.uuid}) is not attached`;
    const top = (await host.mountInfo()).filter((m) => m.mountPoint === path.resolve(dataDir)).at(-1);
    if (top?.device !== (await host.deviceNumber(device))) {
      return `The data drive ${device} is attached but not mounted over ${dataDir}`;
    }
    return undefined;
  }

  /**
   * Before the database opens: if a data drive was chosen, mount it over the data
   * directory (unless it is there already). A chosen drive that does not come is an
   * error: starting on the old state underneath would offer setup mode to anyone.
   */
  async mountAtStart(): Promise<void> {
    const { host, dataDir, stagingDir, log } = this.#o;
    // Left by a kill while a drive was being set up: that attempt is over.
    await host.unmount(stagingDir);
    const marker = readMarker(path.join(dataDir, MARKER_FILE));
    if (!marker) return;
    const deadline = this.#o.now() + this.#o.waitForDriveMs;
    let device = await host.findFilesystem(marker.uuid);
    while (!device && this.#o.now() < deadline) {
      await sleep(500);
      device = await host.findFilesystem(marker.uuid);
    }
    if (!device) throw new DataDriveMissing(marker.uuid, dataDir);
    const top = (await host.mountInfo()).filter((m) => m.mountPoint === path.resolve(dataDir)).at(-1);
    if (top && top.device === (await host.deviceNumber(device))) return;
    await host.check(device);
    await host.mount(device, dataDir);
    const onDrive = readMarker(path.join(dataDir, MARKER_FILE));
    if (onDrive?.uuid !== marker.uuid || !fs.existsSync(path.join(dataDir, DATABASE_FILE))) {
      await host.unmount(dataDir);
      throw new HearthError('data_drive_invalid', `the data drive ${device} does not hold this box's data`, {
        hint: `its filesystem ${marker.uuid} lacks ${MARKER_FILE} or ${DATABASE_FILE}; restore from a backup`,
      });
    }
    log.info('data drive mounted', { device, uuid: marker.uuid, at: dataDir });
  }

  async #copyState(db: Db, staging: string, progress: (p: Progress) => void): Promise<void> {
    const { dataDir, copyTree } = this.#o;
    // lost+found belongs to each filesystem; the marker is written last, on purpose.
    const entries = (await fsp.readdir(dataDir)).filter(
      (e) => !isDatabaseFile(e) && e !== MARKER_FILE && e !== 'lost+found',
    );
    const total = entries.length + 1;
    for (const [i, e] of entries.entries()) {
      progress({ step: 'copy', done: i, total });
      await copyTree(path.join(dataDir, e), path.join(staging, e));
    }
    progress({ step: 'copy', done: entries.length, total });
    const part = path.join(staging, `${DATABASE_FILE}.part`);
    removeDurably(part);
    // A consistent copy of the open database, as of one transaction, also while it is written.
    db.prepare('VACUUM INTO ?').run(part);
    progress({ step: 'copy', done: total, total });
  }
}

function notHearthData(drive: Drive, device: string, why: string): DriveRefused {
  return new DriveRefused(
    'not_hearth_data',
    drive,
    `${device} on ${drive.path} does not hold usable Hearth data: ${why}`,
    'send erase: true to erase it instead, or choose another drive',
  );
}

/**
 * Opens the drive's database (the fresh copy, or the attached drive's own), brings it to
 * this version's schema and runs `finish` in one transaction; a fresh copy then takes the
 * database's name, durably.
 */
function finishDatabase<T>(plan: MovingPlan, staging: string, finish: (target: Db) => T): T {
  const final = path.join(staging, DATABASE_FILE);
  const file = plan.kind === 'format' ? `${final}.part` : final;
  let target: Db;
  try {
    if (!fs.existsSync(file)) throw new Error(`${DATABASE_FILE} is missing`);
    target = openDatabase(file);
    // An empty file is a valid SQLite database too, and migrating would make one up.
    if (plan.kind === 'attach' && target.pragma('user_version', { simple: true }) === 0) {
      target.close();
      throw new Error(`${DATABASE_FILE} holds no Hearth data`);
    }
    migrate(target, MIGRATIONS, file);
  } catch (e) {
    if (isHearthError(e)) throw e;
    throw notHearthData(
      plan.drive,
      plan.kind === 'attach' ? plan.filesystem : plan.drive.path,
      (e as Error).message,
    );
  }
  let result: T;
  try {
    result = target.transaction(() => finish(target))();
  } finally {
    target.close();
  }
  fsyncPath(file);
  if (file !== final) renameDurably(file, final);
  return result;
}

function readMarker(file: string): DriveMarker | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  const marker = JSON.parse(text) as Partial<DriveMarker>;
  if (typeof marker.uuid !== 'string' || marker.uuid === '') {
    throw new HearthError('data_drive_invalid', `${file} does not name a data drive`, {
      hint: 'it should hold {"uuid": "<filesystem UUID>"}; see docs/api.md, "The data-drive contract"',
    });
  }
  return { uuid: marker.uuid, chosenAt: String(marker.chosenAt ?? '') };
}
