import { useId, useRef, useState } from 'preact/hooks';
import type { UpdateState } from '../../../../core/src/state/shape.ts';
import { api } from '../../lib/api.ts';
import { bytes, dateTime } from '../../lib/format.ts';
import { useAction, useLive } from '../../lib/hooks.ts';
import type { Live, Progress } from '../../lib/live.ts';
import { Alert, Button, Confirm, ErrorNote } from '../../ui/kit.tsx';
import { stateOf } from '../shell.tsx';
import { uploadFile } from '../upload.ts';

/*
 * Updates of Hearth itself: what runs, what the feed offers with its notes, applying (from
 * the feed or a bundle file) with its progress, the restart into the new version, and what
 * came of the last update — blessed, or the box went back by itself, and why.
 */

const T = {
  title: 'Hearth updates',
  running: (v: string, slot: string | null) =>
    `This box runs Hearth ${v}${slot ? ` (system slot ${slot})` : ''}.`,
  unsupported: 'This system cannot update itself in place (it is not installed from a Hearth image).',
  available: (v: string, size: number) => `Hearth ${v} is available (${bytes(size)}).`,
  upToDate: 'No newer version in the update feed.',
  checked: 'Last checked',
  checkError: 'The last check failed:',
  check: 'Check now',
  apply: 'Update now',
  applyThenRestart: 'Update and restart',
  fromFile: 'Update from a bundle file',
  chooseFile: 'Bundle (.raucb)',
  chooseHint: 'A Hearth update bundle for this box. Its signature is checked before anything is written.',
  applyFile: 'Apply this bundle',
  uploading: 'Uploading',
  steps: {
    download: 'Downloading',
    verify: 'Checking the signature and every block',
    write: 'Writing the other system slot',
    'prepare-boot': 'Preparing the restart',
  } as Record<string, string>,
  waiting: (v: string) =>
    `Hearth ${v} is written and will be tried at the next restart. If it does not start properly, the box goes back to this version by itself.`,
  restart: 'Restart now',
  restartTitle: 'Restart into the new version?',
  restartBody:
    'The box and its services are unreachable for a minute or two. If the new version does not start properly, the box restarts into this one again and tells you why.',
  trial: (v: string) => `Trying Hearth ${v}: it is kept once it has started properly.`,
  outcomes: {
    updated: (v: string | null) => `Updated to Hearth ${v ?? ''}.`,
    'fell-back': (v: string | null) => `The update to Hearth ${v ?? ''} failed, and the box went back.`,
    failed: (v: string | null) => `The update${v ? ` to Hearth ${v}` : ''} failed; nothing was changed.`,
  },
  notes: 'What’s new',
};

type Applying =
  | { at: 'idle' }
  | { at: 'upload'; sent: number; total: number }
  | { at: 'apply'; progress?: Progress };

export function Updates({ live }: { live: Live }) {
  const uid = useId();
  const u = useLive(live, (l) => stateOf(l).update) as UpdateState | undefined;
  const check = useAction(() => api.call('server.update.check', {}));
  const [applying, setApplying] = useState<Applying>({ at: 'idle' });
  const [error, setError] = useState<unknown>(undefined);
  const [askRestart, setAskRestart] = useState(false);
  const restart = useAction(() => api.call('server.update.reboot', {}));
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | undefined>(undefined);
  if (!u) return null;

  const apply = async (source: { upload?: string }, reboot: boolean) => {
    setError(undefined);
    try {
      setApplying({ at: 'apply' });
      const onProgress = (progress: Progress) => setApplying({ at: 'apply', progress });
      await live.call('server.update.apply', { ...source, reboot }, { onProgress });
    } catch (e) {
      setError(e);
    } finally {
      setApplying({ at: 'idle' });
    }
  };
  const applyFile = async () => {
    if (!file) return;
    setApplying({ at: 'upload', sent: 0, total: file.size });
    try {
      const upload = await uploadFile(file, (sent, total) => setApplying({ at: 'upload', sent, total }));
      await apply({ upload }, false);
    } catch (e) {
      setError(e);
      setApplying({ at: 'idle' });
    }
  };
  const busy = applying.at !== 'idle' || (u.phase !== 'idle' && u.phase !== 'trial');
  const waiting = u.phase === 'trial' && u.applying;

  return (
    <section class="card" aria-labelledby={`${uid}-title`} data-update-phase={u.phase}>
      <h2 id={`${uid}-title`}>{T.title}</h2>
      <p>{u.supported ? T.running(u.version, u.slot) : T.unsupported}</p>
      {u.last ? (
        <Alert kind={u.last.outcome === 'updated' ? 'success' : 'error'}>
          <strong>{T.outcomes[u.last.outcome](u.last.version)}</strong> {u.last.error ?? ''}{' '}
          <span class="muted small">{dateTime(u.last.at)}</span>
        </Alert>
      ) : null}
      {waiting ? (
        <Alert kind="info">
          {T.waiting(u.applying!)}{' '}
          <Button variant="primary" busy={restart.busy} onClick={() => setAskRestart(true)}>
            {T.restart}
          </Button>
        </Alert>
      ) : null}
      {u.available ? (
        <div>
          <p>
            <strong>{T.available(u.available.version, u.available.size)}</strong>
          </p>
          {u.available.notes ? (
            <details open>
              <summary>{T.notes}</summary>
              <p class="notes">{u.available.notes}</p>
            </details>
          ) : null}
        </div>
      ) : u.checkedAt ? (
        <p class="muted">{T.upToDate}</p>
      ) : null}
      {u.checkedAt ? (
        <p class="muted small">
          {T.checked}: {dateTime(u.checkedAt)}
        </p>
      ) : null}
      {u.checkError ? <Alert kind="warning">{`${T.checkError} ${u.checkError}`}</Alert> : null}
      {applying.at === 'upload' ? (
        <div class="progress-line">
          <label for={`${uid}-upload`}>
            {T.uploading}: {bytes(applying.sent)} / {bytes(applying.total)}
          </label>
          <progress id={`${uid}-upload`} max={applying.total} value={applying.sent} />
        </div>
      ) : null}
      {applying.at === 'apply' ? (
        <div class="progress-line" role="status" aria-live="polite">
          {T.steps[applying.progress?.step ?? 'verify'] ?? applying.progress?.step}
          {applying.progress?.total
            ? ` (${Math.round(((applying.progress.done ?? 0) / applying.progress.total) * 100)}%)`
            : ''}
          …
        </div>
      ) : null}
      <ErrorNote error={error ?? check.error ?? restart.error} />
      {u.supported ? (
        <>
          <div class="buttons">
            <Button busy={check.busy} disabled={busy} onClick={() => check.run()}>
              {T.check}
            </Button>
            {u.available ? (
              <>
                <Button disabled={busy} onClick={() => void apply({}, false)}>
                  {T.apply}
                </Button>
                <Button variant="primary" disabled={busy} onClick={() => void apply({}, true)}>
                  {T.applyThenRestart}
                </Button>
              </>
            ) : null}
          </div>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              void applyFile();
            }}
          >
            <h3>{T.fromFile}</h3>
            <div class="field">
              <label for={`${uid}-bundle`}>{T.chooseFile}</label>
              <input
                ref={input}
                id={`${uid}-bundle`}
                type="file"
                accept=".raucb"
                aria-describedby={`${uid}-hint`}
                disabled={busy}
                onChange={(e) => setFile(e.currentTarget.files?.[0])}
              />
              <span class="hint" id={`${uid}-hint`}>
                {T.chooseHint}
              </span>
            </div>
            <Button type="submit" disabled={!file || busy}>
              {T.applyFile}
            </Button>
          </form>
        </>
      ) : null}
      <Confirm
        open={askRestart}
        title={T.restartTitle}
        confirmLabel={T.restart}
        busy={restart.busy}
        error={restart.error}
        onCancel={() => setAskRestart(false)}
        onConfirm={() => void restart.run().then(() => setAskRestart(false))}
      >
        <p>{T.restartBody}</p>
      </Confirm>
    </section>
  );
}
