import { readHpk, type VerifiedHpk } from '#sdk/hpk/read.ts';
import type { Architecture } from '#sdk/manifest.ts';
import type { Progress } from '../calls.ts';
import { NotEnoughSpace } from '../errors.ts';
import { hearthTooOld } from './checks.ts';
import { HearthTooOld } from './errors.ts';
import { sdk } from './executors.ts';
import type { Signers } from './signers.ts';

/*
 * What install and update check before they change anything: the package file itself,
 * and the room on the data drive.
 */

/**
 * Checks the signature and every member of a .hpk, for this box's signers and
 * architecture, and that this Hearth is new enough for it.
 */
export async function verifyPackage(
  file: string,
  o: {
    signers: Signers;
    arch: Architecture;
    hearthVersion: string;
    allowUntrusted: boolean;
    progress: (p: Progress) => void;
  },
): Promise<VerifiedHpk> {
  o.progress({ step: 'verify' });
  const verified = await sdk(() =>
    readHpk(file, { trustedSigners: o.signers.publicKeys(), allowUntrusted: o.allowUntrusted, arch: o.arch }),
  );
  const needs = verified.manifest.minHearthVersion;
  if (hearthTooOld(o.hearthVersion, needs)) {
    throw new HearthTooOld(verified.manifest.id, needs!, o.hearthVersion);
  }
  return verified;
}

/**
 * Refuses what would leave less than the space the box keeps free (minFreeSpaceMiB, the
 * free-space check's threshold) on the drive holding the packages.
 */
export async function checkSpace(
  o: { freeBytes: (dir: string) => Promise<number>; packagesDir: string; minFreeBytes?: number | undefined },
  need: number,
): Promise<void> {
  const free = await o.freeBytes(o.packagesDir);
  const reserve = o.minFreeBytes ?? 0;
  if (free < need + reserve) throw new NotEnoughSpace(need, free, reserve);
}
