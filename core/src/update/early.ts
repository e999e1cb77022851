import type { BootSlots } from '../host/boot-slots.ts';
import type { Logger } from '../log/log.ts';

/*
 * What the update does at start, before the database opens (daemon-update.ts calls it):
 * - on the trial boot, the first time: the database aside (hearthd is about to migrate it);
 * - back on the old slot after a trial that got that far: the snapshot put back, since a
 *   migration by the newer hearthd would keep the older one from opening the database at
 *   all — and a hearthd that cannot start would burn the old slot's boots too.
 * The trial's own boots (x86_64 gives it two) snapshot once: the second finds the first's.
 */
export function prepareBoot(o: { slots: BootSlots; vacuumInto: (file: string) => void; log: Logger }): void {
  const { slots, log } = o;
  const pending = slots.readPending();
  const booted = slots.booted();
  if (!pending || !booted) return;
  if (booted === pending.to) {
    if (slots.hasSnapshot()) return;
    slots.snapshotDatabase(o.vacuumInto);
    log.info('database snapshot before the trial of a new version', { version: pending.toVersion });
    return;
  }
  if (booted === pending.from && slots.hasSnapshot() && !pending.restored) {
    slots.restoreDatabase();
    slots.writePending({ ...pending, restored: true });
    log.warn('back on the old slot after a failed trial: the database snapshot is back in place', {
      failed: pending.toVersion,
      running: pending.fromVersion,
    });
  }
}
