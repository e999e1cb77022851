import { useState } from 'preact/hooks';
import { api, type ResultOf } from '../lib/api.ts';
import { bytes } from '../lib/format.ts';
import { useLoad } from '../lib/hooks.ts';
import { Alert, Badge, Button, Confirm, ErrorNote, Loading } from '../ui/kit.tsx';

type Drive = ResultOf<'disk.list'>['drives'][number];

/** Where the data will live: a drive and what to do with it, or the disk Hearth runs from now. */
export type DriveChoice =
  | { kind: 'here' }
  | { kind: 'drive'; path: string; label: string; mode: 'format' | 'erase' | 'attach' | 'system' };

type Mode = Extract<DriveChoice, { kind: 'drive' }>['mode'];

const T = {
  title: 'Where should the box keep its data?',
  lead: 'Apps, their files and the box’s settings live on the data drive. A separate drive (an SSD or a USB disk) keeps them apart from the system and makes the box easy to move.',
  here: 'On the disk Hearth runs from now',
  hereHint: 'Nothing is formatted.',
  system: 'System drive',
  systemHint: 'Uses the data partition of the disk Hearth was installed on. Nothing is erased.',
  empty: 'Empty: it will be formatted for Hearth.',
  hasData: 'Something is on it. Using it erases everything on it.',
  hearthData: 'Holds data from a Hearth box.',
  attach: 'Use the Hearth data on it',
  eraseInstead: 'Erase it and start fresh',
  inUse: 'In use (mounted): unmount it first.',
  systemOnly: 'The system runs from it.',
  readOnly: 'Read-only: it cannot be used.',
  unreadable: 'Could not be read.',
  none: 'No other drives were found. Plug one in and look again, or keep the data on the disk Hearth runs from.',
  rescan: 'Look again',
  back: 'Back',
  next: 'Next',
  eraseTitle: (name: string) => `Erase ${name}?`,
  eraseBody: 'Everything on this drive will be erased when setup runs. This cannot be undone.',
  eraseConfirm: 'Erase it',
  unknownModel: 'Drive',
};

const nameOf = (d: Drive) => [d.vendor, d.model].filter(Boolean).join(' ').trim() || T.unknownModel;
/** The system drive only by its data partition (a Hearth image's); any other drive only when nothing on it is in use. */
const usable = (d: Drive) =>
  d.system ? d.dataPartition !== null : !d.readOnly && !d.unreadable && d.mountpoints.length === 0;

export function DriveStep(props: {
  initial: DriveChoice | undefined;
  onBack: () => void;
  onNext: (choice: DriveChoice) => void;
}) {
  const [drives, reload] = useLoad(() => api.call('disk.list'));
  const [choice, setChoice] = useState<DriveChoice | undefined>(props.initial);
  const [confirming, setConfirming] = useState(false);

  if (drives.state === 'loading') return <Loading label="Looking for drives…" />;
  if (drives.state === 'failed') {
    return (
      <section>
        <h1>{T.title}</h1>
        <ErrorNote error={drives.error} />
        <div class="buttons">
          <Button onClick={reload}>{T.rescan}</Button>
        </div>
      </section>
    );
  }
  const list = drives.value.drives;
  const hasSystem = list.some((d) => d.system && d.dataPartition !== null);
  const selectedKey = choice?.kind === 'drive' ? choice.path : choice?.kind;
  const choose = (d: Drive, mode: Mode) => setChoice({ kind: 'drive', path: d.path, label: nameOf(d), mode });

  const next = () => {
    if (!choice) return;
    if (choice.kind === 'drive' && choice.mode === 'erase') setConfirming(true);
    else props.onNext(choice);
  };

  return (
    <section aria-labelledby="drive-title">
      <h1 id="drive-title">{T.title}</h1>
      <p>{T.lead}</p>
      <fieldset class="choices">
        <legend class="visually-hidden">{T.title}</legend>
        {hasSystem ? null : (
          <label class="choice">
            <input
              type="radio"
              name="drive"
              checked={selectedKey === 'here'}
              onChange={() => setChoice({ kind: 'here' })}
            />
            <span>
              <strong>{T.here}</strong>
              <span class="muted">{T.hereHint}</span>
            </span>
          </label>
        )}
        {list.map((d) => {
          const ok = usable(d);
          const mode: Mode = d.system ? 'system' : d.hearthData ? 'attach' : d.hasData ? 'erase' : 'format';
          const picked = choice?.kind === 'drive' && choice.path === d.path ? choice : undefined;
          return (
            <div class="choice-group" key={d.path}>
              <label class={`choice ${ok ? '' : 'disabled'}`}>
                <input
                  type="radio"
                  name="drive"
                  disabled={!ok}
                  checked={selectedKey === d.path}
                  onChange={() => choose(d, mode)}
                />
                <span>
                  <strong>
                    {nameOf(d)} · {bytes(d.sizeBytes)}
                  </strong>{' '}
                  {d.system ? <Badge>{T.system}</Badge> : null}
                  {d.transport ? <Badge>{d.transport.toUpperCase()}</Badge> : null}
                  <span class="muted mono">{d.path}</span>
                  <span class="muted">
                    {!ok
                      ? d.system
                        ? T.systemOnly
                        : d.readOnly
                          ? T.readOnly
                          : d.unreadable
                            ? T.unreadable
                            : T.inUse
                      : d.system
                        ? T.systemHint
                        : d.hearthData
                          ? T.hearthData
                          : d.hasData
                            ? T.hasData
                            : T.empty}
                  </span>
                </span>
              </label>
              {picked && d.hearthData ? (
                <div class="sub-choices" role="radiogroup" aria-label={nameOf(d)}>
                  <label class="check">
                    <input
                      type="radio"
                      name="hearth-data"
                      checked={picked.mode === 'attach'}
                      onChange={() => choose(d, 'attach')}
                    />
                    {T.attach}
                  </label>
                  <label class="check">
                    <input
                      type="radio"
                      name="hearth-data"
                      checked={picked.mode === 'erase'}
                      onChange={() => choose(d, 'erase')}
                    />
                    {T.eraseInstead}
                  </label>
                </div>
              ) : null}
            </div>
          );
        })}
      </fieldset>
      {list.length === 0 || list.every((d) => d.system) ? <Alert kind="info">{T.none}</Alert> : null}
      <div class="buttons">
        <Button onClick={props.onBack}>{T.back}</Button>
        <Button onClick={reload}>{T.rescan}</Button>
        <Button variant="primary" disabled={!choice} onClick={next}>
          {T.next}
        </Button>
      </div>
      <Confirm
        open={confirming}
        title={T.eraseTitle(choice?.kind === 'drive' ? choice.label : '')}
        confirmLabel={T.eraseConfirm}
        danger
        typed="erase"
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          if (choice) props.onNext(choice);
        }}
      >
        <p>{T.eraseBody}</p>
      </Confirm>
    </section>
  );
}
