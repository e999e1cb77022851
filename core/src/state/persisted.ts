import type { Db } from './db.ts';
import { StateDocument } from './state-doc.ts';

/**
 * The state revision a daemon that starts again in place (after setup moved the state)
 * hands to its successor, whose database copy may be older: revisions never go back.
 */
export const REVISION_FLOOR = 'HEARTH_STATE_REVISION_FLOOR';

/** The state document, its revision carried on from the last run so it never goes back. */
export function createState(db: Db, historySize: number, floor: number): StateDocument {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'state.revision'").get() as
    | { value: string }
    | undefined;
  const save = db.prepare(
    "INSERT INTO meta (key, value) VALUES ('state.revision', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
  );
  return new StateDocument({
    initial: {},
    revision: Math.max(row ? Number(row.value) : 0, floor),
    historySize,
    onRevision: (r) => save.run(String(r)),
  });
}
