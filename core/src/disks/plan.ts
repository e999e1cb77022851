import { type ErrorCode, HearthError, InvalidParams, NotFound } from '../errors.ts';
import { type Drive, describeContents } from './drives.ts';

/** What the person chose in the wizard's drive step. */
export interface DriveChoice {
  /** The drive's path, as `disk.list` names it (`/dev/sda`). */
  dataDrive: string;
  /** Yes, destroy what is on it. */
  erase?: boolean | undefined;
  /** Use the Hearth data already on it instead of erasing it. */
  attach?: boolean | undefined;
}

/**
 * What `setup.execute` will do with the chosen drive:
 * - `in-place`: the data directory is already on it (the image's own data partition when
 *   the person picks the boot disk): nothing to move;
 * - `format`: partition and format it (erasing what is there), then move the state onto it;
 * - `attach`: use the Hearth data on its `hearth-data` filesystem as the box's state.
 */
export type DrivePlan =
  | { kind: 'in-place'; drive: Drive }
  | { kind: 'format'; drive: Drive }
  | { kind: 'attach'; drive: Drive; filesystem: string };

/** A data drive smaller than this is a mistake (a forgotten USB stick), not a choice. */
export const MIN_DRIVE_BYTES = 1024 ** 3;

export class DriveRefused extends HearthError {
  constructor(
    code: ErrorCode,
    drive: Drive,
    message: string,
    hint: string,
    data: Record<string, unknown> = {},
  ) {
    super(code, message, { hint, data: { drive: drive.path, ...data } });
  }
}

/**
 * Decides what to do with the chosen drive, or refuses with an error that says what is on
 * it and what to send instead. Pure: every rule is tested from here.
 */
export function planDrive(drives: Drive[], choice: DriveChoice, options: { dev: boolean }): DrivePlan {
  const drive = drives.find((d) => d.path === choice.dataDrive);
  if (!drive) {
    throw new NotFound('drive', choice.dataDrive, {
      hint: 'name a whole drive by the path disk.list gives (like /dev/sda), not a partition',
    });
  }
  if (choice.erase && choice.attach) {
    throw new InvalidParams(
      'erase and attach exclude each other: erase destroys the data that attach would use',
    );
  }
  if (drive.dataPartition) {
    if (choice.erase || choice.attach) {
      throw new InvalidParams(
        `${drive.path} already holds this box's data (${drive.dataPartition}): it is used as it is`,
        { hint: 'call again without erase and attach' },
      );
    }
    return { kind: 'in-place', drive };
  }
  if (drive.system) {
    throw new DriveRefused(
      'system_drive',
      drive,
      `${drive.path} holds the running system and has no Hearth data partition`,
      'choose another drive; the system drive can only be used through the data partition of a Hearth image',
    );
  }
  if (options.dev && drive.type !== 'loop') {
    throw new DriveRefused(
      'real_drive_in_dev',
      drive,
      `this daemon runs in development mode and will not write to the real drive ${drive.path}`,
      'attach a file as a loop device (losetup -f --show -P FILE) and choose that',
    );
  }
  if (drive.mountpoints.length > 0) {
    throw new DriveRefused(
      'drive_in_use',
      drive,
      `${drive.path} is in use: mounted at ${drive.mountpoints.join(', ')}`,
      'unmount it (or turn its swap off) first, or choose another drive',
      { mountpoints: drive.mountpoints },
    );
  }
  if (drive.readOnly) {
    throw new DriveRefused(
      'drive_read_only',
      drive,
      `${drive.path} is read-only`,
      'slide the card’s write-protect switch off, or choose another drive',
    );
  }
  if (drive.unreadable) {
    throw new DriveRefused(
      'drive_unreadable',
      drive,
      `${drive.path} cannot be read, so what is on it is unknown`,
      'check its cable and the kernel log (journalctl -k), or choose another drive',
    );
  }
  if (choice.attach) {
    if (!drive.hearthData) {
      throw new DriveRefused(
        'no_hearth_data',
        drive,
        `${drive.path} holds no Hearth data to attach (${describeContents(drive)})`,
        'call without attach to format it (with erase: true if it holds data)',
      );
    }
    return { kind: 'attach', drive, filesystem: drive.hearthData };
  }
  if (drive.hearthData && !choice.erase) {
    throw new DriveRefused(
      'drive_has_hearth_data',
      drive,
      `${drive.path} already holds Hearth data (${drive.hearthData})`,
      'send attach: true to use that data (its apps, settings and backups) on this box, or erase: true to erase it',
      { filesystem: drive.hearthData },
    );
  }
  if (drive.hasData && !choice.erase) {
    const contents = describeContents(drive);
    throw new DriveRefused(
      'drive_not_empty',
      drive,
      `${drive.path} is not empty: it holds ${contents}`,
      'send erase: true to erase everything on it, or choose another drive',
      { contents },
    );
  }
  if (drive.sizeBytes < MIN_DRIVE_BYTES) {
    throw new DriveRefused(
      'drive_too_small',
      drive,
      `${drive.path} holds only ${Math.floor(drive.sizeBytes / 1024 ** 2)} MiB; a data drive needs at least 1 GiB`,
      'choose a larger drive',
    );
  }
  return { kind: 'format', drive };
}
