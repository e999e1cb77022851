import { useState } from 'preact/hooks';
import { api, type ResultOf } from '../lib/api.ts';
import { bytes, when } from '../lib/format.ts';
import { useAction, useLive, useLoad } from '../lib/hooks.ts';
import type { Live, Progress } from '../lib/live.ts';
import {
  Alert,
  Badge,
  Button,
  Confirm,
  CopyBox,
  ErrorNote,
  PageHead,
  SelectField,
  TextField,
} from '../ui/kit.tsx';
import { RemovableList } from './settings/listing.tsx';
import { stateOf } from './shell.tsx';

type Target = ResultOf<'backup.target.list'>[number];
type Snapshot = ResultOf<'backup.snapshot.list'>[number];
type Kit = ResultOf<'backup.kit'>;

const T = {
  title: 'Backups',
  targets: 'Where backups go',
  empty: 'No backup targets',
  emptyBody: 'Nothing is backed up yet. Add a USB disk (or a directory on another drive) below.',
  add: 'Add a target',
  addWhy: 'Backups are encrypted with the box’s backup key: keep the emergency kit somewhere safe.',
  name: 'Name',
  kind: 'Kind',
  kinds: { usb: 'USB disk (ext4)', local: 'Directory on another drive' },
  path: 'Directory',
  uuid: 'Filesystem UUID',
  uuidHint: 'blkid on the box, or the drives list, shows it. The disk is mounted only while it is used.',
  addButton: 'Add and prepare',
  test: 'Test',
  ok: (free: number) => `Works — ${bytes(free)} free`,
  remove: 'Remove',
  removeTitle: (n: string) => `Forget ${n}?`,
  removeBody: 'The box stops using it. The backups on it stay; the emergency kit opens them.',
  last: 'last backup',
  never: 'never backed up',
  run: 'Back up now',
  runTarget: 'Target',
  box: 'The box itself (accounts, settings, keys)',
  runButton: 'Back up',
  running: (step: string) => `Under way: ${step}`,
  done: (n: number) => `Done: ${n} snapshot${n === 1 ? '' : 's'} made.`,
  failed: 'Some of it failed:',
  snapshots: 'Snapshots',
  show: 'Show snapshots',
  none: 'No snapshots on this target yet.',
  restore: 'Restore',
  restoreTitle: (s: Snapshot) => `Restore ${s.package} as it was on ${new Date(s.time).toLocaleString()}?`,
  restoreBody:
    'It stops, gets the data of that snapshot, and starts again. Its current data is kept aside until it is healthy; if it does not turn healthy, the current data comes back.',
  restored: 'Restored.',
  kit: 'Emergency kit',
  kitWhy:
    'The key that opens every backup, the targets, and how to restore with plain restic if the box is gone. Without it nobody can read the backups; with it, anyone holding the disk can. There is no TPM to keep it in: the box keeps it in a file only root can read.',
  showKit: 'Show the emergency kit',
  key: 'Backup key',
  download: 'Download the kit',
};

function kitText(k: Kit): string {
  const targets = k.targets.map((t) => `  - ${t.name}: ${t.repository}`).join('\n');
  return `${k.instructions}\nKey:\n  ${k.key}\n\nTargets:\n${targets || '  (none yet)'}\n`;
}

export function Backups({ live }: { live: Live }) {
  const [targets, reload] = useLoad(() => api.call('backup.target.list'));
  const running = useLive(live, (l) => stateOf(l).backup?.running ?? null);
  const installed = useLive(live, (l) => Object.keys(stateOf(l).packages ?? {}).sort());
  const list = targets.state === 'ready' ? targets.value : [];
  const [name, setName] = useState('');
  const [kind, setKind] = useState<'usb' | 'local'>('usb');
  const [where, setWhere] = useState('');
  const [tested, setTested] = useState<Record<string, string>>({});
  const [target, setTarget] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [box, setBox] = useState(true);
  const [progress, setProgress] = useState<Progress | undefined>(undefined);
  const [outcome, setOutcome] = useState<ResultOf<'backup.run'> | undefined>(undefined);
  const [snapshots, setSnapshots] = useState<Snapshot[] | undefined>(undefined);
  const [restoring, setRestoring] = useState<Snapshot | undefined>(undefined);
  const [kit, setKit] = useState<Kit | undefined>(undefined);
  const chosenTarget = target || list[0]?.id || '';

  const add = useAction(async () => {
    await api.call('backup.target.add', {
      name: name.trim(),
      ...(kind === 'local' ? { path: where.trim() } : { usb: { uuid: where.trim() } }),
    });
    setName('');
    setWhere('');
    reload();
  });
  const test = useAction(async (t: Target) => {
    const r = await api.call('backup.target.test', { id: t.id });
    setTested({
      ...tested,
      [t.id]: r.ok ? T.ok(r.freeBytes) : `${r.message}${r.hint ? ` — ${r.hint}` : ''}`,
    });
  });
  const run = useAction(async () => {
    setOutcome(undefined);
    const r = await live.call(
      'backup.run',
      { target: chosenTarget, packages: chosen, box },
      { onProgress: (p) => setProgress(p) },
    );
    setProgress(undefined);
    setOutcome(r);
    reload();
  });
  const show = useAction(async () => {
    setSnapshots(await api.call('backup.snapshot.list', { target: chosenTarget }));
  });
  const restore = useAction(async (s: Snapshot) => {
    await live.call('backup.restore', { target: chosenTarget, package: s.package ?? '', snapshot: s.id });
    setRestoring(undefined);
  });
  const openKit = useAction(async () => setKit(await api.call('backup.kit')));

  return (
    <>
      <PageHead title={T.title} />
      <RemovableList
        title={T.targets}
        load={targets}
        empty={{ title: T.empty, body: T.emptyBody }}
        keyOf={(t) => t.id}
        nameOf={(t) => t.name}
        render={(t) => (
          <>
            <strong>{t.name}</strong>{' '}
            <Badge tone={t.lastError ? 'bad' : 'ok'}>{t.kind === 'usb' ? 'USB' : 'Directory'}</Badge>
            <div class="muted small">
              {t.kind === 'usb' ? `UUID ${t.uuid}, ${t.subdir}` : t.path} ·{' '}
              {t.lastBackupAt ? `${T.last} ${when(t.lastBackupAt)}` : T.never}
            </div>
            {t.lastError ? <div class="small">{t.lastError}</div> : null}
            {tested[t.id] ? (
              <div class="small" role="status">
                {tested[t.id]}
              </div>
            ) : null}
          </>
        )}
        buttons={(t) => (
          <Button onClick={() => void test.run(t)} busy={test.busy} aria-label={`${T.test}: ${t.name}`}>
            {T.test}
          </Button>
        )}
        removeLabel={T.remove}
        confirmTitle={T.removeTitle}
        confirmBody={<p>{T.removeBody}</p>}
        remove={(t) => api.call('backup.target.remove', { id: t.id })}
        onRemoved={reload}
      />
      <ErrorNote error={test.error} />

      <section class="card" aria-labelledby="backup-add-title">
        <h2 id="backup-add-title">{T.add}</h2>
        <p class="muted">{T.addWhy}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <TextField label={T.name} value={name} onInput={setName} autocomplete="off" />
          <SelectField
            label={T.kind}
            options={T.kinds}
            value={kind}
            onChange={(v) => setKind(v === 'local' ? 'local' : 'usb')}
          />
          {kind === 'usb' ? (
            <TextField
              label={T.uuid}
              hint={T.uuidHint}
              value={where}
              onInput={setWhere}
              class="mono"
              spellcheck={false}
            />
          ) : (
            <TextField label={T.path} value={where} onInput={setWhere} class="mono" spellcheck={false} />
          )}
          <ErrorNote error={add.error} />
          <div class="buttons">
            <Button type="submit" variant="primary" busy={add.busy} disabled={!name.trim() || !where.trim()}>
              {T.addButton}
            </Button>
          </div>
        </form>
      </section>

      {list.length > 0 ? (
        <section class="card" aria-labelledby="backup-run-title">
          <h2 id="backup-run-title">{T.run}</h2>
          <SelectField
            label={T.runTarget}
            options={Object.fromEntries(list.map((t) => [t.id, t.name]))}
            value={chosenTarget}
            onChange={(v) => setTarget(v)}
          />
          <fieldset>
            {installed.map((id) => (
              <label key={id}>
                <input
                  type="checkbox"
                  checked={chosen.includes(id)}
                  onChange={(e) =>
                    setChosen(e.currentTarget.checked ? [...chosen, id] : chosen.filter((c) => c !== id))
                  }
                />{' '}
                {id}
              </label>
            ))}
            <label>
              <input type="checkbox" checked={box} onChange={(e) => setBox(e.currentTarget.checked)} />{' '}
              {T.box}
            </label>
          </fieldset>
          {running ? (
            <p role="status">
              {T.running(progress?.step ?? running.step)}
              {running.total ? ` — ${bytes(running.done)} of ${bytes(running.total)}` : ''}
            </p>
          ) : null}
          {outcome ? (
            <Alert kind={outcome.phase === 'done' ? 'info' : 'warning'}>
              {T.done(outcome.snapshots.length)}
              {outcome.failures.length > 0
                ? ` ${T.failed} ${outcome.failures.map((f) => `${f.of}: ${f.error}`).join('; ')}`
                : ''}
            </Alert>
          ) : null}
          <ErrorNote error={run.error} />
          <div class="buttons">
            <Button
              variant="primary"
              onClick={() => void run.run()}
              busy={run.busy || running !== null}
              disabled={chosen.length === 0 && !box}
            >
              {T.runButton}
            </Button>
          </div>
        </section>
      ) : null}

      {list.length > 0 ? (
        <section aria-labelledby="backup-snapshots-title">
          <h2 id="backup-snapshots-title">{T.snapshots}</h2>
          <Button onClick={() => void show.run()} busy={show.busy}>
            {T.show}
          </Button>
          <ErrorNote error={show.error} />
          {snapshots && snapshots.length === 0 ? <p class="muted">{T.none}</p> : null}
          {snapshots && snapshots.length > 0 ? (
            <ul class="card list">
              {snapshots.map((s) => (
                <li key={s.id}>
                  <strong>{s.package ?? (s.box ? T.box : s.shortId)}</strong>{' '}
                  <span class="muted small">
                    {new Date(s.time).toLocaleString()} · {s.shortId}
                    {s.version ? ` · ${s.version}` : ''}
                  </span>
                  {s.package && installed.includes(s.package) ? (
                    <div class="buttons">
                      <Button
                        onClick={() => setRestoring(s)}
                        aria-label={`${T.restore}: ${s.package} ${s.shortId}`}
                      >
                        {T.restore}
                      </Button>
                    </div>
                  ) : null}
                </li>
              ))}
            </ul>
          ) : null}
          <Confirm
            open={restoring !== undefined}
            title={restoring ? T.restoreTitle(restoring) : ''}
            confirmLabel={T.restore}
            danger
            busy={restore.busy}
            error={restore.error}
            onConfirm={() => restoring && void restore.run(restoring)}
            onCancel={() => setRestoring(undefined)}
          >
            <p>{T.restoreBody}</p>
          </Confirm>
        </section>
      ) : null}

      <section class="card" aria-labelledby="backup-kit-title">
        <h2 id="backup-kit-title">{T.kit}</h2>
        <p class="muted">{T.kitWhy}</p>
        <ErrorNote error={openKit.error} />
        {kit ? (
          <>
            <CopyBox label={T.key} value={kit.key} />
            <div class="buttons">
              <a
                class="button"
                download="hearth-emergency-kit.txt"
                href={`data:text/plain;charset=utf-8,${encodeURIComponent(kitText(kit))}`}
              >
                {T.download}
              </a>
            </div>
          </>
        ) : (
          <Button onClick={() => void openKit.run()} busy={openKit.busy}>
            {T.showKit}
          </Button>
        )}
      </section>
    </>
  );
}
