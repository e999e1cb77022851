import { useEffect, useState } from 'preact/hooks';
import type { MetricsState, PackageState } from '../../../core/src/state/shape.ts';
import { api, type ResultOf } from '../lib/api.ts';
import { bytes } from '../lib/format.ts';
import { useAction, useLive, useLoad } from '../lib/hooks.ts';
import type { Live } from '../lib/live.ts';
import { href } from '../lib/router.ts';
import { Alert, Badge, Button, Empty, ErrorNote, PageHead } from '../ui/kit.tsx';
import { Chart } from './chart.tsx';
import { HEALTH_WORDS, healthTone, overall, STATUS_WORDS, statusTone } from './health.ts';
import { stateOf } from './shell.tsx';

const T = {
  title: 'Home',
  services: 'Services',
  vitals: 'How the box is doing',
  attention: 'Needs your attention',
  fix: 'Fix it',
  open: (t: string) => `Open ${t}`,
  details: 'Details',
  noServices: 'No services yet',
  noServicesBody: 'Install your first service from a package file on the Services page.',
  install: 'Install a service',
  cpu: 'CPU',
  memory: 'Memory',
  disk: 'Data drive',
  temperature: 'Temperature',
  network: 'Network in / out',
  noSensor: 'no sensor',
};

const pct = (v: number) => `${Math.round(v)} %`;
const rate = (v: number) => `${bytes(v)}/s`;

/** The box at a glance: what needs attention, the services as tiles, the vitals as live charts. */
export function Home({ live }: { live: Live }) {
  const packages = useLive(live, (l) => Object.values(stateOf(l).packages ?? {}));
  const checks = useLive(live, (l) => stateOf(l).checks ?? {});
  return (
    <>
      <PageHead title={T.title} />
      <Attention live={live} checks={checks} />
      <section aria-labelledby="tiles-title">
        <h2 id="tiles-title">{T.services}</h2>
        {packages.length === 0 ? (
          <Empty title={T.noServices}>
            <p>{T.noServicesBody}</p>
            <a class="button primary" href={href('/services')}>
              {T.install}
            </a>
          </Empty>
        ) : (
          <ul class="grid tiles">
            {packages
              .sort((a, b) => a.title.localeCompare(b.title))
              .map((p) => (
                <Tile key={p.id} p={p} />
              ))}
          </ul>
        )}
      </section>
      <Vitals live={live} />
    </>
  );
}

/** The package's own icon (from its .hpk); its initial while it loads or when it has none. */
function PackageIcon(props: { id: string; version: string; title: string }) {
  const [failed, setFailed] = useState(false);
  if (failed) {
    return (
      <span class="icon" aria-hidden="true">
        {props.title.slice(0, 1).toUpperCase()}
      </span>
    );
  }
  return (
    <img
      class="icon"
      src={`/icons/${props.id}?v=${encodeURIComponent(props.version)}`}
      alt=""
      onError={() => setFailed(true)}
    />
  );
}

function Tile({ p }: { p: PackageState }) {
  const h = overall(p);
  return (
    <li class="tile card" data-package={p.id}>
      <div class="top">
        <PackageIcon id={p.id} version={p.version} title={p.title} />
        <h3>{p.title}</h3>
      </div>
      <div class="row">
        <Badge tone={statusTone(p.status)}>{STATUS_WORDS[p.status] ?? p.status}</Badge>
        {p.status === 'running' && h !== 'none' ? (
          <Badge tone={healthTone(h)}>{HEALTH_WORDS[h]}</Badge>
        ) : null}
      </div>
      <div class="row">
        {p.status === 'running' ? (
          <a
            class="button primary"
            href={`/app/${p.id}/`}
            target="_blank"
            rel="noopener"
            aria-label={T.open(p.title)}
          >
            {T.open('')}
          </a>
        ) : null}
        <a class="button" href={href(`/services/${p.id}`)} aria-label={`${T.details}: ${p.title}`}>
          {T.details}
        </a>
      </div>
    </li>
  );
}

function Attention({
  live,
  checks,
}: {
  live: Live;
  checks: NonNullable<ReturnType<typeof stateOf>['checks']>;
}) {
  const findings = Object.values(checks).flatMap((c) => c.findings);
  const fix = useAction((fixup: string, subject: string | null) =>
    api.call('server.fixup.run', { fixup, subject }),
  );
  void live;
  if (findings.length === 0) return null;
  return (
    <section aria-labelledby="attention-title">
      <h2 id="attention-title">{T.attention}</h2>
      <ErrorNote error={fix.error} />
      {findings.map((f) => (
        <Alert key={`${f.check}:${f.subject}`} kind={f.severity === 'error' ? 'error' : 'warning'}>
          <p>{f.message}</p>
          {f.hint ? <p class="muted">{f.hint}</p> : null}
          {f.fixup ? (
            <Button busy={fix.busy} onClick={() => fix.run(f.fixup!, f.subject)}>
              {T.fix}
            </Button>
          ) : null}
        </Alert>
      ))}
    </section>
  );
}

let early: Promise<ResultOf<'server.metrics.history'>> | undefined;

/** Asks for the vitals' history before the home screen needs it (at sign-in). */
export function preloadHistory(): void {
  early = api.call('server.metrics.history');
  early.catch(() => {});
}

function Vitals({ live }: { live: Live }) {
  const [history] = useLoad(() => {
    const p = early ?? api.call('server.metrics.history');
    early = undefined;
    return p;
  });
  const latest = useLive(live, (l) => stateOf(l).metrics);
  const [samples, setSamples] = useState<MetricsState[]>([]);
  useEffect(() => {
    if (history.state === 'ready') setSamples(history.value.samples);
  }, [history]);
  useEffect(() => {
    if (!latest) return;
    setSamples((s) => (s.at(-1)?.at === latest.at ? s : [...s, latest].slice(-360)));
  }, [latest]);
  const series = (pick: (m: MetricsState) => number | null) =>
    samples.map(pick).filter((v): v is number => v !== null);
  const temps = series((m) => m.temperatureCelsius);
  return (
    <section aria-labelledby="vitals-title">
      <h2 id="vitals-title">{T.vitals}</h2>
      <div class="grid vitals">
        <Chart label={T.cpu} values={series((m) => m.cpuPercent)} max={100} format={pct} />
        <Chart label={T.memory} values={series((m) => m.memoryPercent)} max={100} format={pct} />
        <Chart label={T.disk} values={series((m) => m.diskPercent)} max={100} format={pct} />
        <Chart
          label={T.temperature}
          values={temps}
          format={(v) => (temps.length === 0 ? T.noSensor : `${Math.round(v)} °C`)}
        />
        <Chart
          label={T.network}
          values={series((m) => m.rxBytesPerSecond + m.txBytesPerSecond)}
          format={() => {
            const m = samples.at(-1);
            return m ? `${rate(m.rxBytesPerSecond)} / ${rate(m.txBytesPerSecond)}` : '–';
          }}
        />
      </div>
    </section>
  );
}
