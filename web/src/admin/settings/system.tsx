import { useState } from 'preact/hooks';
import type { EventKind } from '../../../../core/src/events/events.ts';
import { api, type ResultOf } from '../../lib/api.ts';
import { bytes, dateTime, duration, when } from '../../lib/format.ts';
import { useAction, useLive, useLoad, useStreamed } from '../../lib/hooks.ts';
import type { Live } from '../../lib/live.ts';
import { Alert, Badge, Button, Empty, ErrorNote, Loading, LogBox } from '../../ui/kit.tsx';
import { stateOf } from '../shell.tsx';

/** Every kind of event in words: a new kind in the core fails to compile here. */
const EVENTS: Record<EventKind, string> = {
  installed: 'Installed',
  updated: 'Updated',
  started: 'Started',
  stopped: 'Stopped',
  restarted: 'Restarted',
  removed: 'Removed',
  action: 'Action run',
  failed: 'Operation failed',
  crashed: 'Crashed',
  'crash-loop': 'Keeps crashing',
  reconciled: 'Brought back as it should be',
  health: 'Health changed',
  'check-failing': 'Problem found',
  'check-resolved': 'Problem gone',
  certificate: 'Certificate made or renewed',
  'certificate-issued': 'Certificate issued',
  'certificate-failed': 'Certificate not issued',
  'backup-done': 'Backed up',
  'backup-failed': 'Backup failed',
  'restore-done': 'Restored from a backup',
  'restore-failed': 'Restore failed (the data before is back)',
  'os-update': 'Hearth update',
};

const T = {
  status: 'Overall',
  checks: 'Checks',
  runChecks: 'Run the checks now',
  lastRun: 'Last run',
  never: 'not yet',
  checkStatus: { ok: 'OK', failing: 'Needs attention', unknown: 'Could not tell' } as Record<string, string>,
  fix: 'Fix it',
  fixed: (did: string) => `Done: ${did}`,
  events: 'Recent activity',
  noEvents: 'Nothing has happened yet.',
  box: 'the box',
  containers: 'Containers',
  noContainers: 'No containers.',
  ignored: 'Not Hearth’s (left alone)',
  uptime: 'up',
  logs: 'The box’s own log',
  follow: 'Follow new entries',
  noLogs: 'No entries.',
};

export function SystemView({ live }: { live: Live }) {
  return (
    <>
      <Overall />
      <Checks live={live} />
      <Events />
      <Containers />
      <DaemonLogs live={live} />
    </>
  );
}

function Overall() {
  const [status] = useLoad(() => api.call('server.status', { recent: 0 }));
  if (status.state !== 'ready')
    return status.state === 'failed' ? <ErrorNote error={status.error} /> : <Loading />;
  const s = status.value;
  return (
    <Alert kind={s.summary === 'ok' ? 'success' : s.summary === 'attention' ? 'warning' : 'error'}>
      <strong>{T.status}:</strong> {s.headline}
    </Alert>
  );
}

function Checks({ live }: { live: Live }) {
  const checks = useLive(live, (l) => Object.values(stateOf(l).checks ?? {}));
  const [did, setDid] = useState<string | undefined>(undefined);
  const run = useAction(() => api.call('server.check.run', {}));
  const fix = useAction(async (fixup: string, subject: string | null) =>
    setDid((await api.call('server.fixup.run', { fixup, subject })).did),
  );
  return (
    <section class="card" aria-labelledby="checks-title">
      <h2 id="checks-title">{T.checks}</h2>
      <ErrorNote error={run.error ?? fix.error} />
      {did ? <Alert kind="success">{T.fixed(did)}</Alert> : null}
      <ul class="checks">
        {checks.map((c) => (
          <li key={c.id} data-check={c.id}>
            <strong>{c.title}</strong>{' '}
            <Badge tone={c.status === 'ok' ? 'ok' : c.status === 'failing' ? 'bad' : 'warn'}>
              {T.checkStatus[c.status] ?? c.status}
            </Badge>
            <span class="muted small">
              {' '}
              · {T.lastRun} {c.lastRun ? when(c.lastRun) : T.never}
            </span>
            {c.reason ? <div class="muted">{c.reason}</div> : null}
            {c.findings.map((f) => (
              <div key={`${f.subject}`} class="finding">
                {f.message} {f.hint ? <span class="muted">{f.hint}</span> : null}
                {f.fixup ? (
                  <Button busy={fix.busy} onClick={() => fix.run(f.fixup!, f.subject)}>
                    {T.fix}
                  </Button>
                ) : null}
              </div>
            ))}
          </li>
        ))}
      </ul>
      <Button busy={run.busy} onClick={() => run.run()}>
        {T.runChecks}
      </Button>
    </section>
  );
}

function Events() {
  const [events] = useLoad(() => api.call('event.list', { limit: 30 }));
  return (
    <section class="card" aria-labelledby="events-title">
      <h2 id="events-title">{T.events}</h2>
      {events.state === 'loading' ? <Loading /> : null}
      {events.state === 'failed' ? <ErrorNote error={events.error} /> : null}
      {events.state === 'ready' && events.value.length === 0 ? <p class="muted">{T.noEvents}</p> : null}
      {events.state === 'ready' && events.value.length > 0 ? (
        <ul class="events">
          {events.value.map((e) => (
            <li key={e.id}>
              <span title={dateTime(e.at)}>{when(e.at)}</span> · <strong>{e.package ?? T.box}</strong>:{' '}
              {EVENTS[e.kind]}
              {typeof e.detail['message'] === 'string' ? (
                <span class="muted"> — {e.detail['message']}</span>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function Containers() {
  const [ps] = useLoad(() => api.call('server.ps'));
  return (
    <section class="card" aria-labelledby="ps-title">
      <h2 id="ps-title">{T.containers}</h2>
      {ps.state === 'loading' ? <Loading /> : null}
      {ps.state === 'failed' ? <ErrorNote error={ps.error} /> : null}
      {ps.state === 'ready' && ps.value.length === 0 ? <p class="muted">{T.noContainers}</p> : null}
      {ps.state === 'ready' && ps.value.length > 0 ? (
        <ul class="list">
          {ps.value.map((c: ResultOf<'server.ps'>[number]) => (
            <li key={`${c.lxcPath}/${c.name}`}>
              <strong class="mono">{c.name}</strong>{' '}
              <Badge tone={c.state === 'RUNNING' ? 'ok' : undefined}>{c.state}</Badge>
              {c.ignored ? <Badge tone="warn">{T.ignored}</Badge> : null}
              <div class="muted small">
                {c.ipv4.join(', ')} · {T.uptime} {duration(c.uptimeSeconds)} · {bytes(c.memoryBytes)}
              </div>
            </li>
          ))}
        </ul>
      ) : null}
    </section>
  );
}

type Entry = ResultOf<'server.logs'>['entries'][number];

function DaemonLogs({ live }: { live: Live }) {
  const [follow, setFollow] = useState(false);
  const { items: entries, error } = useStreamed(
    live,
    'server.logs',
    { lines: 100, follow },
    { initial: (r) => r.entries, item: (x) => x as Entry, max: 1000 },
    [follow],
  );
  return (
    <section class="card" aria-labelledby="daemon-logs-title">
      <h2 id="daemon-logs-title">{T.logs}</h2>
      <label class="check">
        <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} />
        {T.follow}
      </label>
      <ErrorNote error={error} />
      {entries.length === 0 ? (
        <Empty title={T.noLogs} />
      ) : (
        <LogBox label={T.logs} follow={follow}>
          {entries
            .map(
              (e) => `${new Date(e.time).toLocaleTimeString()} ${e.level.padEnd(5)} ${e.scope}: ${e.message}`,
            )
            .join('\n')}
        </LogBox>
      )}
    </section>
  );
}
