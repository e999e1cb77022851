import { useState } from 'preact/hooks';
import { api, type ResultOf } from '../../lib/api.ts';
import { dateTime, duration } from '../../lib/format.ts';
import { useAction, useLive, useLoad } from '../../lib/hooks.ts';
import type { Live } from '../../lib/live.ts';
import { Alert, Button, Confirm, ErrorNote, Loading, TextField } from '../../ui/kit.tsx';
import { stateOf } from '../shell.tsx';

const T = {
  about: 'About this box',
  version: 'Hearth version',
  arch: 'Architecture',
  uptime: 'Up for',
  time: 'Clock',
  name: 'Name',
  nameLabel: 'Box name',
  nameHint: (n: string) => `It answers at ${n || '…'}.local on your network.`,
  rename: 'Rename',
  renamed: (n: string) => `Renamed. Open the box at http://${n}.local from now on.`,
  power: 'Restart and shut down',
  restart: 'Restart…',
  restartTitle: 'Restart the box?',
  restartBody:
    'Your services stop for a minute or two while the box starts again. This page reconnects by itself.',
  restartConfirm: 'Restart',
  shutdown: 'Shut down…',
  shutdownTitle: 'Shut the box down?',
  shutdownBody: 'Everything on the box stops. To start it again, someone has to press its power button.',
  shutdownConfirm: 'Shut down',
  reset: 'Factory reset',
  resetButton: 'Erase everything…',
  resetTitle: 'Erase everything on this box?',
  resetErases: 'Erased:',
  resetKeeps: 'Kept:',
  resetConfirm: 'Erase everything',
  resetDone: 'The box is starting again in setup mode.',
  resetWord: 'erase',
};

export function BoxSettings({ live }: { live: Live }) {
  const [info] = useLoad(() => Promise.all([api.call('server.info'), api.call('server.time')]));
  const hostname = useLive(live, (l) => stateOf(l).server?.hostname ?? '');
  return (
    <>
      <section class="card" aria-labelledby="about-title">
        <h2 id="about-title">{T.about}</h2>
        {info.state === 'loading' ? <Loading /> : null}
        {info.state === 'failed' ? <ErrorNote error={info.error} /> : null}
        {info.state === 'ready' ? (
          <dl class="facts">
            <dt>{T.version}</dt>
            <dd class="mono">
              {info.value[0].version} ({info.value[0].commit})
            </dd>
            <dt>{T.arch}</dt>
            <dd>{info.value[0].arch}</dd>
            <dt>{T.uptime}</dt>
            <dd>{duration(info.value[0].uptimeSeconds)}</dd>
            <dt>{T.time}</dt>
            <dd>
              {dateTime(info.value[1].epochMs)} ({info.value[1].timeZone})
            </dd>
          </dl>
        ) : null}
      </section>
      <Rename current={hostname} />
      <Power />
      <Reset />
    </>
  );
}

function Rename({ current }: { current: string }) {
  const [name, setName] = useState(current);
  const [done, setDone] = useState<string | undefined>(undefined);
  const rename = useAction(async () =>
    setDone((await api.call('server.hostname.set', { hostname: name })).hostname),
  );
  return (
    <section class="card" aria-labelledby="name-title">
      <h2 id="name-title">{T.name}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void rename.run();
        }}
      >
        <TextField
          label={T.nameLabel}
          hint={T.nameHint(name.trim().toLowerCase())}
          value={name}
          onInput={setName}
          autocomplete="off"
        />
        <ErrorNote error={rename.error} />
        {done ? <Alert kind="success">{T.renamed(done)}</Alert> : null}
        <div class="buttons">
          <Button
            type="submit"
            busy={rename.busy}
            disabled={name.trim() === '' || name.trim().toLowerCase() === current}
          >
            {T.rename}
          </Button>
        </div>
      </form>
    </section>
  );
}

function Power() {
  const [asking, setAsking] = useState<'restart' | 'shutdown' | undefined>(undefined);
  const power = useAction((what: 'restart' | 'shutdown') =>
    what === 'restart' ? api.call('server.restart') : api.call('server.shutdown'),
  );
  return (
    <section class="card" aria-labelledby="power-title">
      <h2 id="power-title">{T.power}</h2>
      <ErrorNote error={power.error} />
      <div class="buttons">
        <Button onClick={() => setAsking('restart')}>{T.restart}</Button>
        <Button variant="danger" onClick={() => setAsking('shutdown')}>
          {T.shutdown}
        </Button>
      </div>
      <Confirm
        open={asking !== undefined}
        title={asking === 'shutdown' ? T.shutdownTitle : T.restartTitle}
        confirmLabel={asking === 'shutdown' ? T.shutdownConfirm : T.restartConfirm}
        danger={asking === 'shutdown'}
        busy={power.busy}
        error={power.error}
        onCancel={() => {
          setAsking(undefined);
          power.clear();
        }}
        onConfirm={async () => {
          if (asking && (await power.run(asking))) setAsking(undefined);
        }}
      >
        <p>{asking === 'shutdown' ? T.shutdownBody : T.restartBody}</p>
      </Confirm>
    </section>
  );
}

function Reset() {
  const [plan, setPlan] = useState<ResultOf<'server.reset'> | undefined>(undefined);
  const [done, setDone] = useState(false);
  const look = useAction(async () => setPlan(await api.call('server.reset', { dryRun: true })));
  const erase = useAction(async () => {
    await api.call('server.reset', { dryRun: false });
    setDone(true);
    setPlan(undefined);
    setTimeout(() => location.assign('/'), 3000);
  });
  return (
    <section class="card danger-zone" aria-labelledby="reset-title">
      <h2 id="reset-title">{T.reset}</h2>
      <ErrorNote error={look.error} />
      {done ? <Alert kind="info">{T.resetDone}</Alert> : null}
      <Button variant="danger" busy={look.busy} onClick={() => look.run()}>
        {T.resetButton}
      </Button>
      <Confirm
        open={plan !== undefined}
        title={T.resetTitle}
        confirmLabel={T.resetConfirm}
        danger
        typed={T.resetWord}
        busy={erase.busy}
        error={erase.error}
        onCancel={() => setPlan(undefined)}
        onConfirm={() => void erase.run()}
      >
        <p>{T.resetErases}</p>
        <ul>
          {plan?.erases.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
        <p>{T.resetKeeps}</p>
        <ul>
          {plan?.keeps.map((k) => (
            <li key={k}>{k}</li>
          ))}
        </ul>
      </Confirm>
    </section>
  );
}
