import { useId, useRef, useState } from 'preact/hooks';
import { codeOf } from '../lib/errors.ts';
import { bytes } from '../lib/format.ts';
import { useLive } from '../lib/hooks.ts';
import type { Live, Progress } from '../lib/live.ts';
import { href, navigate } from '../lib/router.ts';
import { Badge, Button, Confirm, Empty, ErrorNote, PageHead, TableBox } from '../ui/kit.tsx';
import { HEALTH_WORDS, healthTone, overall, STATUS_WORDS, statusTone } from './health.ts';
import { stateOf } from './shell.tsx';
import { uploadFile } from './upload.ts';

const T = {
  title: 'Services',
  install: 'Install from a file',
  chooseFile: 'Package file (.hpk)',
  chooseHint: 'A service package from its publisher, ending in .hpk.',
  installButton: 'Install',
  update: 'Update from a file',
  updateButton: 'Update',
  uploading: 'Sending the file to the box',
  steps: {
    verify: 'Checking the signature and contents',
    unpack: 'Unpacking',
    start: 'Starting',
    snapshot: 'Keeping a copy of its data in case the update fails',
    download: 'Downloading',
  } as Record<string, string>,
  untrustedTitle: 'Install a package from an unknown publisher?',
  untrustedBody:
    'The box does not know who signed this package, so it cannot tell whether it comes from who it says. Install it only if you trust where you got the file.',
  untrustedConfirm: 'Install anyway',
  empty: 'Nothing installed yet',
  emptyBody: 'Choose a package file above to install your first service.',
  name: 'Service',
  version: 'Version',
  status: 'Status',
  health: 'Health',
};

export function Services({ live }: { live: Live }) {
  const packages = useLive(live, (l) => Object.values(stateOf(l).packages ?? {}));
  return (
    <>
      <PageHead title={T.title} />
      <Install live={live} />
      {packages.length === 0 ? (
        <Empty title={T.empty}>
          <p>{T.emptyBody}</p>
        </Empty>
      ) : (
        <TableBox label={T.title}>
          <table>
            <thead>
              <tr>
                <th scope="col">{T.name}</th>
                <th scope="col">{T.version}</th>
                <th scope="col">{T.status}</th>
                <th scope="col">{T.health}</th>
              </tr>
            </thead>
            <tbody>
              {packages
                .sort((a, b) => a.title.localeCompare(b.title))
                .map((p) => {
                  const h = overall(p);
                  return (
                    <tr key={p.id} data-package={p.id}>
                      <td>
                        <a href={href(`/services/${p.id}`)}>{p.title}</a>
                      </td>
                      <td class="mono">{p.version}</td>
                      <td>
                        <Badge tone={statusTone(p.status)}>{STATUS_WORDS[p.status] ?? p.status}</Badge>
                      </td>
                      <td>{h === 'none' ? '–' : <Badge tone={healthTone(h)}>{HEALTH_WORDS[h]}</Badge>}</td>
                    </tr>
                  );
                })}
            </tbody>
          </table>
        </TableBox>
      )}
    </>
  );
}

type Installing =
  | { at: 'idle' }
  | { at: 'upload'; sent: number; total: number }
  | { at: 'install'; progress: Progress | undefined };

/** Installs a package from a file, or (`update`) updates an installed one from a newer file. */
export function Install({ live, update = false }: { live: Live; update?: boolean }) {
  const uid = useId();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | undefined>(undefined);
  const [state, setState] = useState<Installing>({ at: 'idle' });
  const [error, setError] = useState<unknown>(undefined);
  const [askUntrusted, setAskUntrusted] = useState(false);

  const install = async (allowUntrusted: boolean) => {
    if (!file) return;
    setError(undefined);
    setAskUntrusted(false);
    try {
      setState({ at: 'upload', sent: 0, total: file.size });
      const upload = await uploadFile(file, (sent, total) => setState({ at: 'upload', sent, total }));
      setState({ at: 'install', progress: undefined });
      const params = { upload, ...(allowUntrusted ? { allowUntrusted: true } : {}) };
      const onProgress = (progress: Progress) => setState({ at: 'install', progress });
      const p = update
        ? await live.call('package.update', params, { onProgress })
        : await live.call('package.install', params, { onProgress });
      setState({ at: 'idle' });
      setFile(undefined);
      if (input.current) input.current.value = '';
      navigate(`/services/${p.id}`);
    } catch (e) {
      setState({ at: 'idle' });
      if (codeOf(e) === 'hpk_unknown_signer') setAskUntrusted(true);
      else setError(e);
    }
  };

  const busy = state.at !== 'idle';
  return (
    <section class="card" aria-labelledby={`${uid}-title`}>
      <h2 id={`${uid}-title`}>{update ? T.update : T.install}</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void install(false);
        }}
      >
        <div class="field">
          <label for={`${uid}-hpk`}>{T.chooseFile}</label>
          <input
            ref={input}
            id={`${uid}-hpk`}
            type="file"
            accept=".hpk"
            aria-describedby={`${uid}-hint`}
            disabled={busy}
            onChange={(e) => {
              setFile(e.currentTarget.files?.[0]);
              setError(undefined);
            }}
          />
          <span class="hint" id={`${uid}-hint`}>
            {T.chooseHint}
          </span>
        </div>
        {state.at === 'upload' ? (
          <div class="progress-line">
            <label for="upload-progress">
              {T.uploading}: {bytes(state.sent)} / {bytes(state.total)}
            </label>
            <progress id="upload-progress" max={state.total} value={state.sent} />
          </div>
        ) : null}
        {state.at === 'install' ? (
          <div class="progress-line" role="status" aria-live="polite">
            {state.progress ? (T.steps[state.progress.step] ?? state.progress.step) : T.steps['verify']}…
          </div>
        ) : null}
        <ErrorNote error={error} />
        <div class="buttons">
          <Button type="submit" variant="primary" busy={busy} disabled={!file}>
            {update ? T.updateButton : T.installButton}
          </Button>
        </div>
      </form>
      <Confirm
        open={askUntrusted}
        title={T.untrustedTitle}
        confirmLabel={T.untrustedConfirm}
        danger
        onCancel={() => setAskUntrusted(false)}
        onConfirm={() => void install(true)}
      >
        <p>{T.untrustedBody}</p>
      </Confirm>
    </section>
  );
}
