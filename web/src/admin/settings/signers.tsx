import { useState } from 'preact/hooks';
import { api } from '../../lib/api.ts';
import { when } from '../../lib/format.ts';
import { useAction, useLoad } from '../../lib/hooks.ts';
import { Button, Confirm, Empty, ErrorNote, Loading, TextField } from '../../ui/kit.tsx';

const T = {
  add: 'Trust a publisher',
  why: 'Packages signed by a trusted publisher install without a warning. Add a publisher’s public key only when you got it from them.',
  name: 'Publisher’s name',
  key: 'Public key',
  keyHint: 'The key the publisher gives out (base64, about 44 characters).',
  addButton: 'Trust',
  list: 'Trusted publishers',
  empty: 'No trusted publishers',
  emptyBody: 'Packages from anyone will ask before installing.',
  fingerprint: 'Fingerprint',
  added: 'Added',
  remove: 'Stop trusting',
  removeTitle: (n: string) => `Stop trusting ${n}?`,
  removeBody: 'Its installed packages keep running; new ones from it will ask before installing.',
};

export function Signers() {
  const [signers, reload] = useLoad(() => api.call('package.signer.list'));
  const [name, setName] = useState('');
  const [key, setKey] = useState('');
  const [removing, setRemoving] = useState<{ key: string; name: string } | undefined>(undefined);
  const add = useAction(async () => {
    await api.call('package.signer.add', { name, publicKey: key.trim() });
    setName('');
    setKey('');
    reload();
  });
  const remove = useAction(async (k: string) => {
    await api.call('package.signer.remove', { key: k });
    setRemoving(undefined);
    reload();
  });
  return (
    <>
      <section class="card" aria-labelledby="signer-add-title">
        <h2 id="signer-add-title">{T.add}</h2>
        <p class="muted">{T.why}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <TextField label={T.name} value={name} onInput={setName} autocomplete="off" />
          <TextField
            label={T.key}
            hint={T.keyHint}
            value={key}
            onInput={setKey}
            class="mono"
            autocomplete="off"
            spellcheck={false}
          />
          <ErrorNote error={add.error} />
          <div class="buttons">
            <Button type="submit" variant="primary" busy={add.busy} disabled={!name.trim() || !key.trim()}>
              {T.addButton}
            </Button>
          </div>
        </form>
      </section>
      <section aria-labelledby="signers-title">
        <h2 id="signers-title">{T.list}</h2>
        {signers.state === 'loading' ? <Loading /> : null}
        {signers.state === 'failed' ? <ErrorNote error={signers.error} /> : null}
        {signers.state === 'ready' && signers.value.length === 0 ? (
          <Empty title={T.empty}>
            <p>{T.emptyBody}</p>
          </Empty>
        ) : null}
        {signers.state === 'ready' && signers.value.length > 0 ? (
          <ul class="card list">
            {signers.value.map((s) => (
              <li key={s.publicKey}>
                <strong>{s.name}</strong>
                <div class="muted small">
                  {T.fingerprint} <span class="mono">{s.fingerprint}</span> · {T.added} {when(s.addedAt)}
                </div>
                <Button
                  onClick={() => setRemoving({ key: s.publicKey, name: s.name })}
                  aria-label={`${T.remove}: ${s.name}`}
                >
                  {T.remove}
                </Button>
              </li>
            ))}
          </ul>
        ) : null}
      </section>
      <Confirm
        open={removing !== undefined}
        title={T.removeTitle(removing?.name ?? '')}
        confirmLabel={T.remove}
        danger
        busy={remove.busy}
        error={remove.error}
        onCancel={() => setRemoving(undefined)}
        onConfirm={() => removing && void remove.run(removing.key)}
      >
        <p>{T.removeBody}</p>
      </Confirm>
    </>
  );
}
