import type { Access, Annotations, Caller, Scope } from '../calls.ts';
import { Forbidden, HearthError, Unauthorized } from '../errors.ts';

const RANK: Record<Scope, number> = { read: 1, operate: 2, admin: 3 };

export class SetupRequired extends HearthError {
  constructor() {
    super('setup_required', 'this box is not set up yet', {
      hint: 'finish the setup wizard (setup.execute) first',
    });
  }
}

export class AlreadySetUp extends HearthError {
  constructor() {
    super('already_set_up', 'this box is already set up', {
      hint: 'log in instead; to start over, restore or reset the box',
    });
  }
}

/**
 * Decides whether `caller` may call a method with `access` right now. Throws the error
 * to show the caller, or returns. Pure: the whole access table is tested from here.
 */
export function checkAccess(access: Access, caller: Caller, setupMode: boolean): void {
  if (access === 'public') return;
  if (access === 'setup') {
    if (!setupMode) throw new AlreadySetUp();
    return;
  }
  if (setupMode) throw new SetupRequired();
  if (access === 'local') {
    if (caller.kind === 'local') return;
    if (caller.kind === 'anonymous') throw new Unauthorized();
    throw new Forbidden('only root on the box itself can do this', {
      hint: 'run it on the box (its console, or a root shell): hearth <command>',
      data: { needed: access },
    });
  }
  switch (caller.kind) {
    case 'session':
    case 'local':
      return;
    case 'anonymous':
      throw new Unauthorized();
    case 'token':
      if (RANK[caller.scope] >= RANK[access]) return;
      throw new Forbidden(
        `an API token with scope '${caller.scope}' cannot call a method that needs '${access}'`,
        {
          hint: `create a token with scope '${access}' (auth.token.create) or log in`,
          data: { needed: access, scope: caller.scope },
        },
      );
  }
}

/**
 * Whether a call must prove it comes from our own pages: only browser sessions (cookie)
 * can be driven by another site, and only state-changing calls matter.
 */
export const needsSameOrigin = (
  caller: Caller,
  viaCookie: boolean,
  annotations: Pick<Annotations, 'readOnly'>,
): boolean => viaCookie && caller.kind === 'session' && !annotations.readOnly;
