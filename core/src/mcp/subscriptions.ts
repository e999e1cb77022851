import type { Logger } from '../log/log.ts';
import type { StateDocument, StateMessage } from '../state/state-doc.ts';
import { changedBy, changesPackageList } from './resources.ts';
import type { Session, SessionTable } from './sessions.ts';

// Resource updates are gathered for this long, then sent once per changed resource.
const NOTIFY_AFTER_MS = 250;

/**
 * Tells each session which of the resources it subscribed to changed, and when the list of
 * resources changed (a package came or went), from the state document's patches. A burst
 * of patches (an install's progress) becomes one notification per resource.
 * Returns what stops it.
 */
export function notifyResourceChanges(state: StateDocument, sessions: SessionTable, log: Logger): () => void {
  const onState = (message: StateMessage): void => {
    if (message.kind !== 'patch' || sessions.size === 0) return;
    const listChanged = changesPackageList(message.patch);
    for (const s of sessions.values()) {
      for (const uri of changedBy(message.patch, s.subscriptions)) s.changed.add(uri);
      s.listChanged ||= listChanged;
      if ((s.changed.size > 0 || s.listChanged) && !s.timer) {
        s.timer = setTimeout(() => notifySession(s, log), NOTIFY_AFTER_MS);
      }
    }
  };
  // From the current revision on: no catch-up, only what changes from now.
  return state.subscribe(state.revision, onState);
}

function notifySession(s: Session, log: Logger): void {
  s.timer = undefined;
  const uris = [...s.changed];
  s.changed.clear();
  const listChanged = s.listChanged;
  s.listChanged = false;
  const failed = (error: unknown) => log.debug('could not notify an MCP session', { error });
  for (const uri of uris) s.server.sendResourceUpdated({ uri }).catch(failed);
  if (listChanged) s.server.sendResourceListChanged().catch(failed);
}
