import { useEffect, useState } from 'preact/hooks';
import type { Manifest } from '../../../sdk/src/manifest.ts';
import { api } from '../lib/api.ts';
import { bytes, duration, when } from '../lib/format.ts';
import { useAction, useLive, useLoad, useStreamed } from '../lib/hooks.ts';
import type { Live } from '../lib/live.ts';
import { navigate } from '../lib/router.ts';
import { Alert, Badge, Button, Confirm, ErrorNote, Loading, LogBox, PageHead } from '../ui/kit.tsx';
import { AddressesState, InterfaceAddresses, useInterfaceAddresses } from './addresses.tsx';
import { HEALTH_WORDS, healthTone, overall, STATUS_WORDS, statusTone } from './health.ts';
import { OnionToggle } from './onion.tsx';
import { type JsonSchema, SchemaForm } from './schema-form.tsx';
import { Install } from './services.tsx';
import { stateOf } from './shell.tsx';

const T = {
  gone: 'This service is not installed.',
  back: 'All services',
  start: 'Start',
  stop: 'Stop',
  restart: 'Restart',
  open: 'Open',
  health: 'Health checks',
  noChecks: 'This service has no health checks.',
  checkWords: {
    success: 'Passing',
    failure: 'Failing',
    starting: 'Checking…',
    disabled: 'Not checked while not running',
  } as Record<string, string>,
  actions: 'Actions',
  run: 'Run',
  actionDone: 'Done.',
  notNow: (statuses: string) => `Available while the service is ${statuses}.`,
  interfaces: 'Interfaces',
  inBox: 'Inside the box',
  viaBox: 'Through this page',
  resources: 'Resources',
  memory: 'Memory',
  cpu: 'CPU time',
  disk: 'Disk',
  of: 'of',
  logs: 'Logs',
  follow: 'Follow new lines',
  search: 'Search the logs',
  noLogs: 'No log lines yet.',
  noMatch: 'No line matches.',
  danger: 'Remove',
  uninstall: 'Uninstall…',
  uninstallTitle: (t: string) => `Uninstall ${t}?`,
  keepData: 'Keep its data, so installing it again brings it back',
  dataGoes: 'Its data is deleted with it. This cannot be undone.',
  dataStays: 'Its data stays on the box.',
  uninstallConfirm: 'Uninstall',
  version: 'Version',
  address: 'Address',
};

/** One service: control it, see its health, run its actions, read its logs, remove it. */
export function Service({ live, id }: { live: Live; id: string }) {
  const p = useLive(live, (l) => stateOf(l).packages?.[id]);
  const [details, reload] = useLoad(() => api.call('package.get', { id }), [id, p?.version]);
  // Whether each address answers changes with the service's status: asked again then.
  const [addresses] = useInterfaceAddresses(id, p?.status);
  const control = useAction((method: 'package.start' | 'package.stop' | 'package.restart') =>
    live.call(method, { id }),
  );

  useEffect(() => {
    if (p) document.title = `${p.title} · Hearth`;
  }, [p?.title]);

  if (!p) {
    return (
      <>
        <Alert kind="info">{T.gone}</Alert>
        <a class="button" href="#/services">
          {T.back}
        </a>
      </>
    );
  }
  const manifest = details.state === 'ready' ? (details.value.manifest as Manifest) : undefined;
  const busyState = ['starting', 'stopping', 'installing', 'updating', 'removing'].includes(p.status);
  const hasUi = manifest?.interfaces.some((i) => i.kind === 'ui' && i.protocol === 'http');
  return (
    <>
      <PageHead title={p.title}>
        {p.status === 'running' && hasUi ? (
          <a class="button primary" href={`/app/${id}/`} target="_blank" rel="noopener">
            {T.open}
          </a>
        ) : null}
        {p.desired === 'stopped' || p.status === 'stopped' ? (
          <Button busy={control.busy} disabled={busyState} onClick={() => control.run('package.start')}>
            {T.start}
          </Button>
        ) : (
          <>
            <Button busy={control.busy} disabled={busyState} onClick={() => control.run('package.restart')}>
              {T.restart}
            </Button>
            <Button busy={control.busy} disabled={busyState} onClick={() => control.run('package.stop')}>
              {T.stop}
            </Button>
          </>
        )}
      </PageHead>
      <p class="summary">
        <Badge tone={statusTone(p.status)}>{STATUS_WORDS[p.status] ?? p.status}</Badge>{' '}
        <span class="muted">
          {T.version} <span class="mono">{p.version}</span>
        </span>
      </p>
      {manifest ? <p>{manifest.description.short}</p> : null}
      <ErrorNote error={control.error} />
      {details.state === 'failed' ? <ErrorNote error={details.error} /> : null}
      <div class="columns">
        <section class="card" aria-labelledby="health-title">
          <h2 id="health-title">
            {T.health}{' '}
            {overall(p) !== 'none' ? (
              <Badge tone={healthTone(overall(p))}>{HEALTH_WORDS[overall(p)]}</Badge>
            ) : null}
          </h2>
          {!manifest ? (
            <Loading />
          ) : manifest.healthChecks.length === 0 ? (
            <p class="muted">{T.noChecks}</p>
          ) : (
            <ul class="checks">
              {manifest.healthChecks.map((c) => {
                const h = p.health?.[c.id];
                return (
                  <li key={c.id} data-check={c.id}>
                    <strong>{c.name}</strong>{' '}
                    {p.status === 'running' ? (
                      <Badge tone={h?.status === 'success' ? 'ok' : h?.status === 'failure' ? 'bad' : 'warn'}>
                        {T.checkWords[h?.status ?? 'starting']}
                      </Badge>
                    ) : (
                      <Badge>{T.checkWords['disabled']}</Badge>
                    )}
                    {h?.message ? <div class="muted">{h.message}</div> : null}
                    {h?.at ? <div class="muted small">{when(h.at)}</div> : null}
                  </li>
                );
              })}
            </ul>
          )}
        </section>
        <Resources id={id} running={p.status === 'running'} />
      </div>
      {manifest && manifest.actions.length > 0 ? (
        <Actions live={live} id={id} status={p.status} actions={manifest.actions} onDone={reload} />
      ) : null}
      {manifest && manifest.interfaces.length > 0 ? (
        <section class="card" aria-labelledby="interfaces-title">
          <h2 id="interfaces-title">{T.interfaces}</h2>
          <AddressesState load={addresses} />
          <ul>
            {manifest.interfaces.map((i) => (
              <li key={i.id}>
                <strong>{i.name}</strong> <span class="muted">{i.description}</span>
                <div class="mono small">
                  {T.inBox}: {i.protocol}://{p.address}:{i.port}
                </div>
                {i.kind === 'ui' && i.protocol === 'http' ? (
                  <div class="mono small">
                    {T.viaBox}: <a href={`/app/${id}/`}>{`${location.origin}/app/${id}/`}</a>
                  </div>
                ) : null}
                <InterfaceAddresses
                  entry={
                    addresses.state === 'ready'
                      ? addresses.value.find((e) => e.interface === i.id)
                      : undefined
                  }
                />
                <OnionToggle live={live} id={id} iface={i} />
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <Logs live={live} id={id} />
      <Install live={live} update />
      <Uninstall live={live} id={id} title={p.title} />
    </>
  );
}

function Resources({ id, running }: { id: string; running: boolean }) {
  const [stats, reload] = useLoad(() => api.call('package.stats', { id }), [id, running]);
  useEffect(() => {
    const t = setInterval(reload, 5000);
    return () => clearInterval(t);
  }, [reload]);
  const s = stats.state === 'ready' ? stats.value : undefined;
  return (
    <section class="card" aria-labelledby="resources-title">
      <h2 id="resources-title">{T.resources}</h2>
      {!s ? (
        stats.state === 'failed' ? (
          <ErrorNote error={stats.error} />
        ) : (
          <Loading />
        )
      ) : (
        <dl class="facts">
          <dt>{T.memory}</dt>
          <dd>
            {bytes(s.memoryBytes)}
            {s.memoryLimitBytes ? ` ${T.of} ${bytes(s.memoryLimitBytes)}` : ''}
          </dd>
          <dt>{T.cpu}</dt>
          <dd>{duration(s.cpuSeconds)}</dd>
          <dt>{T.disk}</dt>
          <dd>{bytes(s.diskBytes)}</dd>
        </dl>
      )}
    </section>
  );
}

function Actions(props: {
  live: Live;
  id: string;
  status: string;
  actions: Manifest['actions'];
  onDone: () => void;
}) {
  const [results, setResults] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [errors, setErrors] = useState<Record<string, unknown>>({});
  return (
    <section class="card" aria-labelledby="actions-title">
      <h2 id="actions-title">{T.actions}</h2>
      {props.actions.map((a) => {
        const allowed = (a.allowedStatuses as string[]).includes(props.status);
        return (
          <details key={a.id} class="action" data-action={a.id}>
            <summary>{a.name}</summary>
            <p class="muted">{a.description}</p>
            {allowed ? (
              <SchemaForm
                id={`action-${a.id}`}
                schema={a.input as JsonSchema}
                submitLabel={T.run}
                busy={busy === a.id}
                onSubmit={async (input) => {
                  setBusy(a.id);
                  setErrors((e) => ({ ...e, [a.id]: undefined }));
                  setResults((r) => ({ ...r, [a.id]: '' }));
                  try {
                    const { result } = await props.live.call('package.action.run', {
                      id: props.id,
                      action: a.id,
                      input,
                    });
                    const message =
                      result &&
                      typeof result === 'object' &&
                      'message' in result &&
                      typeof result.message === 'string'
                        ? result.message
                        : T.actionDone;
                    setResults((r) => ({ ...r, [a.id]: message }));
                    props.onDone();
                  } catch (e) {
                    setErrors((x) => ({ ...x, [a.id]: e }));
                  } finally {
                    setBusy(undefined);
                  }
                }}
              />
            ) : (
              <p class="muted">{T.notNow(a.allowedStatuses.join(' or '))}</p>
            )}
            <ErrorNote error={errors[a.id]} />
            {results[a.id] ? <Alert kind="success">{results[a.id]}</Alert> : null}
          </details>
        );
      })}
    </section>
  );
}

const MAX_LINES = 2000;

function Logs({ live, id }: { live: Live; id: string }) {
  const [follow, setFollow] = useState(true);
  const [query, setQuery] = useState('');
  const { items: lines, error } = useStreamed(
    live,
    'package.logs',
    { id, lines: 200, follow },
    { initial: (r) => r.lines, item: (x) => (typeof x === 'string' ? x : undefined), max: MAX_LINES },
    [id, follow],
  );

  const q = query.trim().toLowerCase();
  const shown = q ? lines.filter((l) => l.toLowerCase().includes(q)) : lines;
  return (
    <section class="card" aria-labelledby="logs-title">
      <h2 id="logs-title">{T.logs}</h2>
      <div class="toolbar">
        <label class="check">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} />
          {T.follow}
        </label>
        <input
          type="search"
          aria-label={T.search}
          placeholder={T.search}
          value={query}
          onInput={(e) => setQuery(e.currentTarget.value)}
        />
      </div>
      <ErrorNote error={error} />
      <LogBox label={T.logs} follow={follow}>
        {shown.length === 0 ? (lines.length === 0 ? T.noLogs : T.noMatch) : shown.join('\n')}
      </LogBox>
    </section>
  );
}

function Uninstall({ live, id, title }: { live: Live; id: string; title: string }) {
  const [open, setOpen] = useState(false);
  const [keepData, setKeepData] = useState(false);
  const remove = useAction(() => live.call('package.uninstall', { id, keepData }));
  return (
    <section class="card danger-zone" aria-labelledby="remove-title">
      <h2 id="remove-title">{T.danger}</h2>
      <Button variant="danger" onClick={() => setOpen(true)}>
        {T.uninstall}
      </Button>
      <Confirm
        open={open}
        title={T.uninstallTitle(title)}
        confirmLabel={T.uninstallConfirm}
        danger
        busy={remove.busy}
        error={remove.error}
        {...(keepData ? {} : { typed: id })}
        onCancel={() => {
          setOpen(false);
          remove.clear();
        }}
        onConfirm={async () => {
          if (await remove.run()) {
            setOpen(false);
            navigate('/services');
          }
        }}
      >
        <label class="check">
          <input type="checkbox" checked={keepData} onChange={(e) => setKeepData(e.currentTarget.checked)} />
          {T.keepData}
        </label>
        <p>{keepData ? T.dataStays : T.dataGoes}</p>
      </Confirm>
    </section>
  );
}
