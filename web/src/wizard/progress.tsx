import { useEffect, useRef, useState } from 'preact/hooks';
import { api, RpcError } from '../lib/api.ts';
import { codeOf } from '../lib/errors.ts';
import { Live, type Progress } from '../lib/live.ts';
import { Button, ErrorNote } from '../ui/kit.tsx';
import type { DriveChoice } from './drive.tsx';
import type { Identity } from './wizard.tsx';

const T = {
  title: 'Setting up your box',
  lead: 'This takes a minute or two. Keep this page open.',
  steps: {
    start: 'Starting',
    partition: 'Partitioning the data drive',
    format: 'Formatting it',
    check: 'Checking the Hearth data on it',
    mount: 'Mounting it',
    copy: 'Copying the box’s data onto it',
    finish: 'Finishing',
    switch: 'Moving over to the data drive',
    restart: 'Starting again on the new drive',
    signIn: 'Signing you in',
  } as Record<string, string>,
  of: (done: number, total: number) => `${done} of ${total}`,
  failed: 'Setup did not finish. Nothing was changed that cannot be tried again.',
  back: 'Back',
  retry: 'Try again',
  slow: 'The box is taking a while to start again; still waiting…',
};

interface Seen {
  step: string;
  done?: number | undefined;
  total?: number | undefined;
}

/** Asks for the setup, shows the daemon's own steps, then waits for the box to come back. */
export function ProgressStep(props: {
  drive: DriveChoice;
  identity: Identity;
  onBack: () => void;
  onDone: () => void;
}) {
  const [steps, setSteps] = useState<Seen[]>([{ step: 'start' }]);
  const [error, setError] = useState<unknown>(undefined);
  const [slow, setSlow] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const heading = useRef<HTMLHeadingElement>(null);
  const onDone = useRef(props.onDone);
  onDone.current = props.onDone;

  useEffect(() => {
    heading.current?.focus();
    const live = new Live({ subscribeState: false });
    let cancelled = false;
    const saw = (p: Progress) =>
      setSteps((s) => {
        const last = s.at(-1);
        if (last?.step === p.step) return [...s.slice(0, -1), { step: p.step, done: p.done, total: p.total }];
        return [...s, { step: p.step, done: p.done, total: p.total }];
      });
    const run = async () => {
      const d = props.drive;
      const params = {
        hostname: props.identity.hostname,
        password: props.identity.password,
        ...(d.kind === 'drive'
          ? {
              dataDrive: d.path,
              ...(d.mode === 'erase' ? { erase: true } : {}),
              ...(d.mode === 'attach' ? { attach: true } : {}),
            }
          : {}),
      };
      try {
        await live.call('setup.execute', params, { onProgress: saw });
      } catch (e) {
        // The connection may drop as the daemon starts again in place: the setup went on.
        if (codeOf(e) !== 'unreachable') throw e;
      } finally {
        live.close();
      }
      if (d.kind === 'drive') saw({ step: 'restart' });
      await untilSetUp(
        () => cancelled,
        () => setSlow(true),
      );
      saw({ step: 'signIn' });
      await signIn(props.identity.password, () => cancelled);
    };
    run().then(
      () => !cancelled && onDone.current(),
      (e: unknown) => !cancelled && setError(e),
    );
    return () => {
      cancelled = true;
      live.close();
    };
  }, [attempt]);

  const current = steps.at(-1)?.step;
  return (
    <section aria-labelledby="progress-title">
      <h1 id="progress-title" ref={heading} tabIndex={-1}>
        {T.title}
      </h1>
      <p>{T.lead}</p>
      <ol class="progress-steps" aria-live="polite">
        {steps.map((s) => (
          <li key={s.step} class={s.step === current && !error ? 'current' : 'done'}>
            {T.steps[s.step] ?? s.step}
            {s.total ? <span class="muted"> · {T.of(s.done ?? 0, s.total)}</span> : null}
            {s.step === current && s.total ? (
              <progress max={s.total} value={s.done ?? 0} aria-label={T.steps[s.step] ?? s.step} />
            ) : null}
          </li>
        ))}
      </ol>
      {slow && !error ? <p class="muted">{T.slow}</p> : null}
      {error ? (
        <>
          <p>{T.failed}</p>
          <ErrorNote error={error} />
          <div class="buttons">
            <Button onClick={props.onBack}>{T.back}</Button>
            <Button
              variant="primary"
              onClick={() => {
                setError(undefined);
                setSteps([{ step: 'start' }]);
                setAttempt((n) => n + 1);
              }}
            >
              {T.retry}
            </Button>
          </div>
        </>
      ) : null}
    </section>
  );
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Until the box says it is set up (it may be starting again on the data drive meanwhile). */
async function untilSetUp(cancelled: () => boolean, onSlow: () => void): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (cancelled()) return;
    try {
      if ((await api.call('setup.status')).setupComplete) return;
    } catch (e) {
      if (codeOf(e) !== 'unreachable' && codeOf(e) !== 'bad_answer') throw e;
    }
    if (Date.now() - started > 15_000) onSlow();
    await pause(500);
  }
}

/** Signs in with the password just set: the browser gets its session cookie. */
async function signIn(password: string, cancelled: () => boolean): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (cancelled()) return;
    try {
      await api.call('auth.login', { password });
      return;
    } catch (e) {
      // The daemon that moved the state may still answer from the old database for a moment.
      const early =
        e instanceof RpcError && ['unreachable', 'setup_required', 'wrong_password'].includes(e.code);
      if (!early || Date.now() - started > 60_000) throw e;
      await pause(500);
    }
  }
}
