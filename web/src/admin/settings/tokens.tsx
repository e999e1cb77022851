import { useState } from 'preact/hooks';
import type { Scope } from '../../../../core/src/calls.ts';
import { api, type ResultOf } from '../../lib/api.ts';
import { when } from '../../lib/format.ts';
import { useAction, useLoad } from '../../lib/hooks.ts';
import { Alert, Button, CopyBox, ErrorNote, TextField } from '../../ui/kit.tsx';
import { RemovableList } from './listing.tsx';

/** Every scope, with what it lets a token do: a new scope in the core fails to compile here. */
const SCOPES: Record<Scope, { name: string; what: string }> = {
  read: { name: 'Read', what: 'See the box’s state, services, logs and figures; change nothing.' },
  operate: { name: 'Operate', what: 'Also start, stop and restart services and run their actions.' },
  admin: { name: 'Admin', what: 'Everything the owner can do, except changing the password.' },
};

const T = {
  create: 'New API token',
  why: 'A token lets a program (a script, Home Assistant, an AI agent) use the box’s API without your password.',
  name: 'What it is for',
  nameHint: 'For example “home assistant”.',
  scope: 'What it may do',
  createButton: 'Create the token',
  secret: 'The token',
  shownOnce: 'Copy it now: it is not shown again. Anyone who has it can do what its scope allows.',
  tokens: 'Tokens',
  empty: 'No API tokens',
  emptyBody: 'Create one above when a program needs to talk to the box.',
  created: 'Created',
  used: 'Last used',
  never: 'never',
  revoke: 'Revoke',
  revokeTitle: (n: string) => `Revoke “${n}”?`,
  revokeBody: 'Programs using it lose access at once.',
};

export function Tokens() {
  const [tokens, reload] = useLoad(() => api.call('auth.token.list'));
  const [name, setName] = useState('');
  const [scope, setScope] = useState<Scope>('read');
  const [made, setMade] = useState<ResultOf<'auth.token.create'> | undefined>(undefined);
  const create = useAction(async () => {
    setMade(await api.call('auth.token.create', { name, scope }));
    setName('');
    reload();
  });
  return (
    <>
      <section class="card" aria-labelledby="token-new-title">
        <h2 id="token-new-title">{T.create}</h2>
        <p class="muted">{T.why}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setMade(undefined);
            void create.run();
          }}
        >
          <TextField label={T.name} hint={T.nameHint} value={name} onInput={setName} autocomplete="off" />
          <fieldset class="choices">
            <legend>{T.scope}</legend>
            {(Object.keys(SCOPES) as Scope[]).map((s) => (
              <label class="choice" key={s}>
                <input
                  type="radio"
                  name="scope"
                  value={s}
                  checked={scope === s}
                  onChange={() => setScope(s)}
                />
                <span>
                  <strong>{SCOPES[s].name}</strong>
                  <span class="muted">{SCOPES[s].what}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <ErrorNote error={create.error} />
          <div class="buttons">
            <Button type="submit" variant="primary" busy={create.busy} disabled={name.trim() === ''}>
              {T.createButton}
            </Button>
          </div>
        </form>
        {made ? (
          <Alert kind="success">
            <p>{T.shownOnce}</p>
            <CopyBox label={`${T.secret}: ${made.name}`} value={made.token} />
          </Alert>
        ) : null}
      </section>
      <RemovableList
        title={T.tokens}
        load={tokens}
        empty={{ title: T.empty, body: T.emptyBody }}
        keyOf={(t) => t.id}
        nameOf={(t) => t.name}
        render={(t) => (
          <>
            <div>
              <strong>{t.name}</strong> <span class="badge">{SCOPES[t.scope].name}</span>
            </div>
            <div class="muted small">
              {T.created} {when(t.createdAt)} · {T.used} {t.lastUsedAt ? when(t.lastUsedAt) : T.never}
            </div>
          </>
        )}
        removeLabel={T.revoke}
        confirmTitle={T.revokeTitle}
        confirmBody={<p>{T.revokeBody}</p>}
        remove={(t) => api.call('auth.token.revoke', { id: t.id })}
        onRemoved={reload}
      />
    </>
  );
}
