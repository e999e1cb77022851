import { api } from '../lib/api.ts';
import { dateTime, when } from '../lib/format.ts';
import { useAction, useLive } from '../lib/hooks.ts';
import type { Live } from '../lib/live.ts';
import { Button, Empty, ErrorNote, PageHead } from '../ui/kit.tsx';
import { stateOf } from './shell.tsx';

const T = {
  title: 'Notifications',
  markAll: 'Mark all as seen',
  markSeen: 'Mark as seen',
  remove: 'Remove',
  empty: 'Nothing to tell',
  emptyBody:
    'When something on the box needs you — a service failing, a certificate about to expire — it shows up here.',
  newLabel: 'New',
  levels: { info: 'Information', success: 'Done', warning: 'Warning', error: 'Problem' } as Record<
    string,
    string
  >,
  from: (s: string) => (s.startsWith('package:') ? `from ${s.slice(8)}` : s === 'system' ? '' : `from ${s}`),
};

/** What the box has told its owner: newest first, as the state document carries them. */
export function Notifications({ live }: { live: Live }) {
  const items = useLive(live, (l) =>
    Object.values(stateOf(l).notifications?.items ?? {}).sort((a, b) => b.id - a.id),
  );
  const unseen = items.filter((n) => !n.seen).length;
  const act = useAction((run: () => Promise<unknown>) => run());
  return (
    <>
      <PageHead title={T.title}>
        {unseen > 0 ? (
          <Button
            busy={act.busy}
            onClick={() => act.run(() => api.call('notification.mark-seen', { all: true }))}
          >
            {T.markAll}
          </Button>
        ) : null}
      </PageHead>
      <ErrorNote error={act.error} />
      {items.length === 0 ? (
        <Empty title={T.empty}>
          <p>{T.emptyBody}</p>
        </Empty>
      ) : (
        <ul class="notifications">
          {items.map((n) => (
            <li key={n.id} class={`card notification ${n.level} ${n.seen ? 'seen' : 'unseen'}`}>
              <div class="row">
                <span
                  class={`badge ${n.level === 'error' ? 'bad' : n.level === 'warning' ? 'warn' : n.level === 'success' ? 'ok' : ''}`}
                >
                  {T.levels[n.level]}
                </span>
                {n.seen ? null : <span class="badge">{T.newLabel}</span>}
                <h2>{n.title}</h2>
              </div>
              {n.message ? <p>{n.message}</p> : null}
              <p class="muted small">
                <time dateTime={new Date(n.at).toISOString()} title={dateTime(n.at)}>
                  {when(n.at)}
                </time>{' '}
                {T.from(n.source)}
              </p>
              <div class="buttons">
                {n.seen ? null : (
                  <Button onClick={() => act.run(() => api.call('notification.mark-seen', { ids: [n.id] }))}>
                    {T.markSeen}
                  </Button>
                )}
                <Button
                  onClick={() => act.run(() => api.call('notification.remove', { id: n.id }))}
                  aria-label={`${T.remove}: ${n.title}`}
                >
                  {T.remove}
                </Button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
