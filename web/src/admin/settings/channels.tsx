import { useState } from 'preact/hooks';
import { api, type ParamsOf } from '../../lib/api.ts';
import { when } from '../../lib/format.ts';
import { useAction, useLoad } from '../../lib/hooks.ts';
import { Alert, Button, ErrorNote, SelectField, TextField } from '../../ui/kit.tsx';
import { RemovableList } from './listing.tsx';

type Level = NonNullable<ParamsOf<'notification.channel.add'>['minLevel']>;
type Security = NonNullable<ParamsOf<'notification.channel.add'>['security']>;

const LEVELS: Record<Level, string> = {
  info: 'Everything',
  success: 'Completed work and above',
  warning: 'Warnings and problems',
  error: 'Problems only',
};

const SECURITY: Record<Security, string> = {
  starttls: 'STARTTLS (port 587)',
  tls: 'TLS (port 465)',
  plain: 'None (port 25, only inside your network)',
};

const T = {
  add: 'Send notifications off the box',
  why: 'By email or to a webhook (ntfy and services like it), so you hear about problems without opening this page.',
  kind: 'How',
  email: 'Email',
  webhook: 'Webhook',
  name: 'Name (optional)',
  minLevel: 'What to send',
  server: 'Mail server',
  port: 'Port (optional)',
  security: 'Encryption',
  username: 'User name (optional)',
  password: 'Password',
  from: 'Sender address',
  to: 'Send to',
  toHint: 'One address, or several separated by commas.',
  url: 'Webhook address',
  urlHint: 'For ntfy: https://ntfy.sh/your-topic or your own server’s.',
  accessToken: 'Access token (optional)',
  addButton: 'Add',
  list: 'Where notifications go',
  empty: 'Notifications stay on the box',
  emptyBody: 'Add an email address or a webhook above to hear from it elsewhere.',
  test: 'Send a test',
  tested: (ok: boolean, detail: string) => (ok ? `Sent: ${detail}` : `Not delivered: ${detail}`),
  lastDelivered: 'Last delivered',
  never: 'never',
  lastError: 'Last failure',
  remove: 'Remove',
  removeTitle: (n: string) => `Stop sending to ${n}?`,
};

/** The form's fields as typed, before they become params. */
const BLANK = {
  name: '',
  server: '',
  port: '',
  username: '',
  password: '',
  from: '',
  to: '',
  url: '',
  accessToken: '',
};

export function Channels() {
  const [channels, reload] = useLoad(() => api.call('notification.channel.list'));
  const [kind, setKind] = useState<'email' | 'webhook'>('webhook');
  const [f, setF] = useState(BLANK);
  const [minLevel, setMinLevel] = useState<Level>('warning');
  const [security, setSecurity] = useState<Security>('starttls');
  const [tested, setTested] = useState<Record<number, { delivered: boolean; detail: string }>>({});
  const set = (k: keyof typeof f) => (v: string) => setF((x) => ({ ...x, [k]: v }));
  const opt = (v: string) => (v.trim() === '' ? undefined : v.trim());

  const add = useAction(async () => {
    const common = { kind, minLevel, ...(opt(f.name) ? { name: opt(f.name) } : {}) };
    const params: ParamsOf<'notification.channel.add'> =
      kind === 'email'
        ? {
            ...common,
            server: f.server.trim(),
            security,
            from: f.from.trim(),
            to: f.to
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
            ...(opt(f.port) ? { port: Number(f.port) } : {}),
            ...(opt(f.username) ? { username: f.username.trim(), password: f.password } : {}),
          }
        : { ...common, url: f.url.trim(), ...(opt(f.accessToken) ? { accessToken: f.accessToken } : {}) };
    await api.call('notification.channel.add', params);
    setF(BLANK);
    reload();
  });
  const test = useAction(async (id: number) => {
    const r = await api.call('notification.channel.test', { id });
    setTested((t) => ({ ...t, [id]: r }));
    reload();
  });

  return (
    <>
      <section class="card" aria-labelledby="channel-add-title">
        <h2 id="channel-add-title">{T.add}</h2>
        <p class="muted">{T.why}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <fieldset class="inline">
            <legend>{T.kind}</legend>
            <label class="check">
              <input
                type="radio"
                name="kind"
                checked={kind === 'webhook'}
                onChange={() => setKind('webhook')}
              />
              {T.webhook}
            </label>
            <label class="check">
              <input type="radio" name="kind" checked={kind === 'email'} onChange={() => setKind('email')} />
              {T.email}
            </label>
          </fieldset>
          {kind === 'webhook' ? (
            <>
              <TextField
                label={T.url}
                hint={T.urlHint}
                type="url"
                value={f.url}
                onInput={set('url')}
                autocomplete="off"
              />
              <TextField
                label={T.accessToken}
                type="password"
                value={f.accessToken}
                onInput={set('accessToken')}
                autocomplete="off"
              />
            </>
          ) : (
            <>
              <TextField label={T.server} value={f.server} onInput={set('server')} autocomplete="off" />
              <SelectField
                label={T.security}
                options={SECURITY}
                value={security}
                onChange={(v) => v && setSecurity(v)}
              />
              <TextField
                label={T.port}
                inputMode="numeric"
                value={f.port}
                onInput={set('port')}
                autocomplete="off"
              />
              <TextField label={T.username} value={f.username} onInput={set('username')} autocomplete="off" />
              {f.username.trim() ? (
                <TextField
                  label={T.password}
                  type="password"
                  value={f.password}
                  onInput={set('password')}
                  autocomplete="new-password"
                />
              ) : null}
              <TextField
                label={T.from}
                type="email"
                value={f.from}
                onInput={set('from')}
                autocomplete="off"
              />
              <TextField label={T.to} hint={T.toHint} value={f.to} onInput={set('to')} autocomplete="off" />
            </>
          )}
          <SelectField
            label={T.minLevel}
            options={LEVELS}
            value={minLevel}
            onChange={(v) => v && setMinLevel(v)}
          />
          <TextField label={T.name} value={f.name} onInput={set('name')} autocomplete="off" />
          <ErrorNote error={add.error} />
          <div class="buttons">
            <Button type="submit" variant="primary" busy={add.busy}>
              {T.addButton}
            </Button>
          </div>
        </form>
      </section>
      <ErrorNote error={test.error} />
      <RemovableList
        title={T.list}
        load={channels}
        empty={{ title: T.empty, body: T.emptyBody }}
        keyOf={(c) => String(c.id)}
        nameOf={(c) => c.name}
        render={(c) => (
          <>
            <div>
              <strong>{c.name}</strong> <span class="badge">{c.kind === 'email' ? T.email : T.webhook}</span>
            </div>
            <div class="muted small">
              {T.lastDelivered} {c.lastDeliveredAt ? when(c.lastDeliveredAt) : T.never}
              {c.lastError ? ` · ${T.lastError}: ${c.lastError.message}` : ''}
            </div>
            {tested[c.id] ? (
              <Alert kind={tested[c.id]!.delivered ? 'success' : 'error'}>
                {T.tested(tested[c.id]!.delivered, tested[c.id]!.detail)}
              </Alert>
            ) : null}
          </>
        )}
        buttons={(c) => (
          <Button busy={test.busy} onClick={() => test.run(c.id)} aria-label={`${T.test}: ${c.name}`}>
            {T.test}
          </Button>
        )}
        removeLabel={T.remove}
        confirmTitle={T.removeTitle}
        remove={(c) => api.call('notification.channel.remove', { id: c.id })}
        onRemoved={reload}
      />
    </>
  );
}
