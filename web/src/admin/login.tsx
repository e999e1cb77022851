import { useEffect, useRef, useState } from 'preact/hooks';
import { api, retryAfterOf } from '../lib/api.ts';
import { codeOf } from '../lib/errors.ts';
import { Alert, Button, ErrorNote, Logo, TextField } from '../ui/kit.tsx';

const T = {
  title: 'Sign in',
  password: 'Password',
  code: 'Code from your authenticator app',
  codeHint: 'Six digits, or one of your recovery codes.',
  secondFactor: 'This box asks for a second step: the code your authenticator app shows now.',
  signIn: 'Sign in',
  wait: (s: number) => `Too many tries. You can try again in ${s} second${s === 1 ? '' : 's'}.`,
  ended: 'Your session has ended. Sign in again.',
  forgot: 'Forgot the password? At the box itself, as root: hearth auth password reset.',
};

/**
 * Where to go after signing in: back to the app the person was opening (`?next=/app/…`),
 * only ever a path on this box.
 */
export function nextAfterSignIn(search: string): string | undefined {
  const next = new URLSearchParams(search).get('next');
  return next && /^\/app\/[a-z0-9][a-z0-9-]*(\/[^\\]*)?$/.test(next) && !next.startsWith('//')
    ? next
    : undefined;
}

export function Login(props: { ended?: boolean; onSignedIn: () => void }) {
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [needsCode, setNeedsCode] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [waitUntil, setWaitUntil] = useState(0);
  const [now, setNow] = useState(Date.now());
  const codeRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    document.title = `${T.title} · Hearth`;
  }, []);
  useEffect(() => {
    if (waitUntil <= now) return;
    const t = setTimeout(() => setNow(Date.now()), 250);
    return () => clearTimeout(t);
  }, [waitUntil, now]);
  useEffect(() => {
    if (needsCode) codeRef.current?.querySelector('input')?.focus();
  }, [needsCode]);

  const waiting = Math.ceil((waitUntil - now) / 1000);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy || waiting > 0) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.call('auth.login', needsCode ? { password, code } : { password });
      const next = nextAfterSignIn(location.search);
      if (next) location.assign(next);
      else props.onSignedIn();
    } catch (err) {
      const c = codeOf(err);
      if (c === 'second_factor_required') {
        setNeedsCode(true);
      } else {
        const retry = retryAfterOf(err);
        if (retry) {
          setWaitUntil(Date.now() + retry * 1000);
          setNow(Date.now());
        }
        setError(c === 'rate_limited' ? undefined : err);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="centered">
      <header class="brand">
        <Logo />
        <span>Hearth</span>
      </header>
      <main class="card">
        <form onSubmit={submit} aria-labelledby="login-title">
          <h1 id="login-title">{T.title}</h1>
          {props.ended ? <Alert kind="info">{T.ended}</Alert> : null}
          <TextField
            label={T.password}
            type="password"
            autocomplete="current-password"
            value={password}
            onInput={setPassword}
            autofocus
            required
          />
          {needsCode ? (
            <div ref={codeRef}>
              <Alert kind="info">{T.secondFactor}</Alert>
              <TextField
                label={T.code}
                hint={T.codeHint}
                value={code}
                onInput={setCode}
                autocomplete="one-time-code"
                inputMode="numeric"
                required
              />
            </div>
          ) : null}
          {waiting > 0 ? (
            <div class="alert warning" role="status" aria-live="polite">
              {T.wait(waiting)}
            </div>
          ) : null}
          <ErrorNote error={error} />
          <div class="buttons">
            <Button type="submit" variant="primary" busy={busy} disabled={waiting > 0 || password === ''}>
              {T.signIn}
            </Button>
          </div>
          <p class="muted small">{T.forgot}</p>
        </form>
      </main>
    </div>
  );
}
