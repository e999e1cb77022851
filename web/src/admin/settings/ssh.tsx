import { useState } from 'preact/hooks';
import { api, type ResultOf } from '../../lib/api.ts';
import { when } from '../../lib/format.ts';
import { type Load, useAction, useLoad } from '../../lib/hooks.ts';
import { Badge, Button, ErrorNote, Field, TableBox } from '../../ui/kit.tsx';
import { RemovableList } from './listing.tsx';

const T = {
  add: 'Add an SSH key',
  why: (user: string) =>
    `A key added here logs in as ${user} (who may use sudo): ssh ${user}@<this box>.local. Passwords are never accepted, and SSH is off while no key is added.`,
  key: 'Public key',
  keyHint: 'One line of your .pub file, e.g. ~/.ssh/id_ed25519.pub (make one with ssh-keygen -t ed25519).',
  name: 'Name (optional)',
  nameHint: 'Which device this key is on; the key’s own comment otherwise.',
  addButton: 'Add key',
  list: 'Keys that may log in',
  empty: 'No SSH keys',
  emptyBody: 'SSH is off. Add a key to turn it on.',
  added: 'Added',
  remove: 'Remove',
  removeTitle: (n: string) => `Remove the key ${n}?`,
  removeBody: 'It stops logging in at once. With the last key gone, SSH turns off.',
  running: 'SSH is on',
  off: 'SSH is off',
  host: 'The box’s host keys',
  hostWhy:
    'At your first login, ssh shows one of these fingerprints: it must be the same, or you are not talking to your box.',
  type: 'Type',
  fingerprint: 'Fingerprint',
  noHost: 'sshd has made no host keys yet.',
};

type Status = ResultOf<'ssh.key.list'>;
type Key = Status['keys'][number];

export function Ssh() {
  const [status, reload] = useLoad(() => api.call('ssh.key.list'));
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const add = useAction(async () => {
    await api.call('ssh.key.add', { key: key.trim(), ...(name.trim() ? { name: name.trim() } : {}) });
    setKey('');
    setName('');
    reload();
  });
  const keys: Load<Key[]> = status.state === 'ready' ? { state: 'ready', value: status.value.keys } : status;
  const s = status.state === 'ready' ? status.value : undefined;
  return (
    <>
      <section class="card" aria-labelledby="ssh-add-title">
        <h2 id="ssh-add-title">
          {T.add}{' '}
          {s ? (
            <Badge tone={s.running === false ? 'warn' : 'ok'}>
              {s.running === false ? T.off : T.running}
            </Badge>
          ) : null}
        </h2>
        <p class="muted">{T.why(s?.user ?? 'hearth')}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <Field label={T.key} hint={T.keyHint}>
            {(id, describedBy) => (
              <textarea
                id={id}
                class="mono"
                rows={3}
                value={key}
                aria-describedby={describedBy}
                spellcheck={false}
                autocomplete="off"
                onInput={(e) => setKey(e.currentTarget.value)}
              />
            )}
          </Field>
          <Field label={T.name} hint={T.nameHint}>
            {(id, describedBy) => (
              <input
                id={id}
                value={name}
                aria-describedby={describedBy}
                autocomplete="off"
                onInput={(e) => setName(e.currentTarget.value)}
              />
            )}
          </Field>
          <ErrorNote error={add.error} />
          {s?.lastError ? <ErrorNote error={new Error(s.lastError)} /> : null}
          <div class="buttons">
            <Button type="submit" variant="primary" busy={add.busy} disabled={!key.trim()}>
              {T.addButton}
            </Button>
          </div>
        </form>
      </section>
      <RemovableList
        title={T.list}
        load={keys}
        empty={{ title: T.empty, body: T.emptyBody }}
        keyOf={(k) => k.fingerprint}
        nameOf={(k) => k.name || k.fingerprint}
        render={(k) => (
          <>
            <strong>{k.name || k.type}</strong>
            <div class="muted small">
              {k.type} · <span class="mono">{k.fingerprint}</span> · {T.added} {when(k.createdAt)}
            </div>
          </>
        )}
        removeLabel={T.remove}
        confirmTitle={T.removeTitle}
        confirmBody={<p>{T.removeBody}</p>}
        remove={(k) => api.call('ssh.key.remove', { fingerprint: k.fingerprint })}
        onRemoved={reload}
      />
      <section aria-labelledby="ssh-host-title">
        <h2 id="ssh-host-title">{T.host}</h2>
        <p class="muted">{T.hostWhy}</p>
        {s && s.hostKeys.length === 0 ? <p class="muted">{T.noHost}</p> : null}
        {s && s.hostKeys.length > 0 ? (
          <TableBox label={T.host}>
            <table>
              <thead>
                <tr>
                  <th scope="col">{T.type}</th>
                  <th scope="col">{T.fingerprint}</th>
                </tr>
              </thead>
              <tbody>
                {s.hostKeys.map((h) => (
                  <tr key={h.fingerprint}>
                    <td>{h.type}</td>
                    <td class="mono">{h.fingerprint}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableBox>
        ) : null}
      </section>
    </>
  );
}
