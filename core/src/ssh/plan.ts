import { authorizedLine } from './keys.ts';
import type { SshKeyRow } from './rows.ts';

/*
 * SSH's planner, pure: the keys in the table against what the login user's authorized_keys
 * holds and whether sshd runs → the steps that make them agree. sshd runs only while a key
 * exists: a box nobody can log in to offers no login at all.
 */

export const HEADER =
  '# Written by Hearth from the keys added with `hearth ssh key add` or its web UI; edits here are replaced.\n';

export interface ObservedSsh {
  /** The authorized_keys file's content; null when it does not exist. */
  authorizedKeys: string | null;
  /** Whether sshd runs; null when the daemon does not manage it (development, tests). */
  sshdActive: boolean | null;
}

export type Step = { kind: 'write-keys'; content: string } | { kind: 'start-sshd' } | { kind: 'stop-sshd' };

export function authorizedKeys(rows: SshKeyRow[]): string {
  return HEADER + rows.map((r) => `${authorizedLine(r)}\n`).join('');
}

export function plan(rows: SshKeyRow[], observed: ObservedSsh): Step[] {
  const content = authorizedKeys(rows);
  const write: Step[] = observed.authorizedKeys === content ? [] : [{ kind: 'write-keys', content }];
  if (rows.length === 0) {
    // The door shuts before the keys go: no moment with sshd up and a key the owner removed.
    return [...(observed.sshdActive === true ? [{ kind: 'stop-sshd' } as const] : []), ...write];
  }
  // The keys are in place before sshd starts reading them.
  return [...write, ...(observed.sshdActive === false ? [{ kind: 'start-sshd' } as const] : [])];
}
