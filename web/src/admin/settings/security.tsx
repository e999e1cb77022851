import { useState } from 'preact/hooks';
import { renderSVG } from 'uqr';
import { api } from '../../lib/api.ts';
import { dateTime, when } from '../../lib/format.ts';
import { useAction, useLoad } from '../../lib/hooks.ts';
import { Alert, Badge, Button, Confirm, CopyBox, ErrorNote, Loading, TextField } from '../../ui/kit.tsx';

const T = {
  password: 'Password',
  current: 'Current password',
  newPassword: 'New password',
  newHint: 'At least 12 characters.',
  again: 'New password again',
  mismatch: 'The two new passwords are not the same.',
  change: 'Change the password',
  changed: 'The password is changed. Other sessions were signed out.',
  twoStep: 'Second sign-in step',
  on: 'On',
  off: 'Off',
  twoStepWhy:
    'With it on, signing in also needs the code your authenticator app shows: a stolen password alone cannot open the box.',
  begin: 'Turn it on…',
  scan: 'Scan this code with your authenticator app (or type the key below), then enter the code it shows.',
  qr: 'QR code to add this box to an authenticator app',
  key: 'Key',
  code: 'Code from the app',
  confirm: 'Turn on',
  recoveryTitle: 'Your recovery codes',
  recoveryBody:
    'Each code opens the box once if you lose your phone. Keep them somewhere safe: they are not shown again.',
  recoveryLeft: (n: number) => `${n} recovery code${n === 1 ? '' : 's'} left.`,
  disable: 'Turn off…',
  disableTitle: 'Turn the second step off?',
  newCodes: 'New recovery codes…',
  newCodesTitle: 'Make new recovery codes?',
  newCodesBody: 'The old codes stop working.',
  passwordToConfirm: 'Your password',
  sessions: 'Where you are signed in',
  thisOne: 'This browser',
  started: 'Signed in',
  lastSeen: 'Last seen',
  from: 'From',
  kill: 'Sign out',
  none: 'No sessions.',
};

export function Security({ onSignOut }: { onSignOut: () => void }) {
  return (
    <>
      <ChangePassword />
      <SecondFactor />
      <Sessions onSignOut={onSignOut} />
    </>
  );
}

function ChangePassword() {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [done, setDone] = useState(false);
  const change = useAction(async () => {
    await api.call('auth.password.change', { current, new: next });
    setDone(true);
    setCurrent('');
    setNext('');
    setAgain('');
  });
  const mismatch = again !== '' && again !== next ? T.mismatch : undefined;
  return (
    <section class="card" aria-labelledby="password-title">
      <h2 id="password-title">{T.password}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setDone(false);
          if (!mismatch) void change.run();
        }}
      >
        <TextField
          label={T.current}
          type="password"
          autocomplete="current-password"
          value={current}
          onInput={setCurrent}
        />
        <TextField
          label={T.newPassword}
          hint={T.newHint}
          type="password"
          autocomplete="new-password"
          value={next}
          onInput={setNext}
        />
        <TextField
          label={T.again}
          error={mismatch}
          type="password"
          autocomplete="new-password"
          value={again}
          onInput={setAgain}
        />
        <ErrorNote error={change.error} />
        {done ? <Alert kind="success">{T.changed}</Alert> : null}
        <div class="buttons">
          <Button type="submit" busy={change.busy} disabled={!current || next.length < 12 || next !== again}>
            {T.change}
          </Button>
        </div>
      </form>
    </section>
  );
}

function SecondFactor() {
  const [status, reload] = useLoad(() => api.call('auth.totp.status'));
  const [enrol, setEnrol] = useState<{ secret: string; uri: string } | undefined>(undefined);
  const [code, setCode] = useState('');
  const [codes, setCodes] = useState<string[] | undefined>(undefined);
  const [asking, setAsking] = useState<'disable' | 'codes' | undefined>(undefined);
  const [password, setPassword] = useState('');
  const begin = useAction(async () => setEnrol(await api.call('auth.totp.begin')));
  const confirm = useAction(async () => {
    setCodes((await api.call('auth.totp.confirm', { code })).recoveryCodes);
    setEnrol(undefined);
    setCode('');
    reload();
  });
  const withPassword = useAction(async () => {
    if (asking === 'disable') await api.call('auth.totp.disable', { password });
    else setCodes((await api.call('auth.totp.recovery', { password })).recoveryCodes);
    setAsking(undefined);
    setPassword('');
    reload();
  });
  const s = status.state === 'ready' ? status.value : undefined;
  return (
    <section class="card" aria-labelledby="totp-title">
      <h2 id="totp-title">
        {T.twoStep} {s ? <Badge tone={s.enabled ? 'ok' : 'warn'}>{s.enabled ? T.on : T.off}</Badge> : null}
      </h2>
      <p class="muted">{T.twoStepWhy}</p>
      {status.state === 'loading' ? <Loading /> : null}
      {status.state === 'failed' ? <ErrorNote error={status.error} /> : null}
      {codes ? (
        <Alert kind="success">
          <h3>{T.recoveryTitle}</h3>
          <p>{T.recoveryBody}</p>
          <ul class="mono codes">
            {codes.map((c) => (
              <li key={c}>{c}</li>
            ))}
          </ul>
        </Alert>
      ) : null}
      {s && !s.enabled && !enrol ? (
        <>
          <ErrorNote error={begin.error} />
          <Button variant="primary" busy={begin.busy} onClick={() => begin.run()}>
            {T.begin}
          </Button>
        </>
      ) : null}
      {enrol ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void confirm.run();
          }}
        >
          <p>{T.scan}</p>
          <img
            class="qr"
            alt={T.qr}
            src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(renderSVG(enrol.uri, { border: 2 }))}`}
          />
          <CopyBox label={T.key} value={enrol.secret} />
          <TextField
            label={T.code}
            value={code}
            onInput={setCode}
            autocomplete="one-time-code"
            inputMode="numeric"
          />
          <ErrorNote error={confirm.error} />
          <div class="buttons">
            <Button type="submit" variant="primary" busy={confirm.busy} disabled={code.trim() === ''}>
              {T.confirm}
            </Button>
          </div>
        </form>
      ) : null}
      {s?.enabled ? (
        <>
          <p>{T.recoveryLeft(s.recoveryCodesLeft)}</p>
          <div class="buttons">
            <Button onClick={() => setAsking('codes')}>{T.newCodes}</Button>
            <Button variant="danger" onClick={() => setAsking('disable')}>
              {T.disable}
            </Button>
          </div>
        </>
      ) : null}
      <Confirm
        open={asking !== undefined}
        title={asking === 'disable' ? T.disableTitle : T.newCodesTitle}
        confirmLabel={asking === 'disable' ? T.disable.replace('…', '') : T.newCodes.replace('…', '')}
        danger={asking === 'disable'}
        busy={withPassword.busy}
        error={withPassword.error}
        onCancel={() => {
          setAsking(undefined);
          withPassword.clear();
        }}
        onConfirm={() => void withPassword.run()}
      >
        {asking === 'codes' ? <p>{T.newCodesBody}</p> : null}
        <TextField
          label={T.passwordToConfirm}
          type="password"
          autocomplete="current-password"
          value={password}
          onInput={setPassword}
        />
      </Confirm>
    </section>
  );
}

function Sessions({ onSignOut }: { onSignOut: () => void }) {
  const [sessions, reload] = useLoad(() => api.call('auth.session.list'));
  const kill = useAction(async (id: string, current: boolean) => {
    await api.call('auth.session.kill', { id });
    if (current) onSignOut();
    else reload();
  });
  return (
    <section class="card" aria-labelledby="sessions-title">
      <h2 id="sessions-title">{T.sessions}</h2>
      <ErrorNote error={kill.error} />
      {sessions.state === 'loading' ? <Loading /> : null}
      {sessions.state === 'failed' ? <ErrorNote error={sessions.error} /> : null}
      {sessions.state === 'ready' ? (
        sessions.value.length === 0 ? (
          <p class="muted">{T.none}</p>
        ) : (
          <ul class="sessions">
            {sessions.value.map((s) => (
              <li key={s.id} data-session={s.id} data-current={s.current ? 'true' : undefined}>
                <div>
                  <strong>{s.userAgent || '–'}</strong>{' '}
                  {s.current ? <Badge tone="ok">{T.thisOne}</Badge> : null}
                </div>
                <div class="muted small">
                  {T.from} {s.address} · {T.started}{' '}
                  <span title={dateTime(s.createdAt)}>{when(s.createdAt)}</span> · {T.lastSeen}{' '}
                  {when(s.lastSeenAt)}
                </div>
                <Button
                  busy={kill.busy}
                  onClick={() => kill.run(s.id, s.current)}
                  aria-label={`${T.kill}: ${s.userAgent} ${s.address}`}
                >
                  {T.kill}
                </Button>
              </li>
            ))}
          </ul>
        )
      ) : null}
    </section>
  );
}
