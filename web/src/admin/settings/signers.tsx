import { useState } from 'preact/hooks';
import { api } from '../../lib/api.ts';
import { when } from '../../lib/format.ts';
import { useAction, useLoad } from '../../lib/hooks.ts';
import { Button, ErrorNote, TextField } from '../../ui/kit.tsx';
import { RemovableList } from './listing.tsx';

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
  const add = useAction(async () => {
    await api.call('package.signer.add', { name, publicKey: key.trim() });
    setName('');
    setKey('');
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
      <RemovableList
        title={T.list}
        load={signers}
        empty={{ title: T.empty, body: T.emptyBody }}
        keyOf={(s) => s.publicKey}
        nameOf={(s) => s.name}
        render={(s) => (
          <>
            <strong>{s.name}</strong>
            <div class="muted small">
              {T.fingerprint} <span class="mono">{s.fingerprint}</span> · {T.added} {when(s.addedAt)}
            </div>
          </>
        )}
        removeLabel={T.remove}
        confirmTitle={T.removeTitle}
        confirmBody={<p>{T.removeBody}</p>}
        remove={(s) => api.call('package.signer.remove', { key: s.publicKey })}
        onRemoved={reload}
      />
    </>
  );
}
