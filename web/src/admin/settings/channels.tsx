import { useState } from 'preact/hooks';
import { api, type ParamsOf } from '../../lib/api.ts';
import { when } from '../../lib/format.ts';
import { useAction, useLoad } from '../../lib/hooks.ts';
import { Alert, Button, Confirm, Empty, ErrorNote, Loading, TextField } from '../../ui/kit.tsx';

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

export function Channels() {
  const [channels, reload] = useLoad(() => api.call('notification.channel.list'));
  const [kind, setKind] = useState<'email' | 'webhook'>('webhook');
  const [f, setF] = useState({
    name: '',
    server: '',
    port: '',
    username: '',
    password: '',
    from: '',
    to: '',
    url: '',
    accessToken: '',
  });
  const [minLevel, setMinLevel] = useState<Level>('warning');
  const [security, setSecurity] = useState<Security>('starttls');
  const [tested, setTested] = useState<Record<number, { delivered: boolean; detail: string }>>({});
  const [removing, setRemoving] = useState<{ id: number; name: string } | undefined>(undefined);
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
    setF({
      name: '',
      server: '',
      port: '',
      username: '',
      password: '',
      from: '',
      to: '',
      url: '',
      accessToken: '',
    });
    reload();
  });
  const test = useAction(async (id: number) => {
    const r = await api.call('notification.channel.test', { id });
    setTested((t) => ({ ...t, [id]: r }));
    reload();
  });
  const remove = useAction(async (id: number) => {
    await api.call('notification.channel.remove', { id });
    setRemoving(undefined);
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
              <div class="field">
                <label for="security">{T.security}</label>
                <select
                  id="security"
                  value={security}
                  onChange={(e) => setSecurity(e.currentTarget.value as Security)}
                >
                  {(Object.keys(SECURITY) as Security[]).map((s) => (
                    <option key={s} value={s}>
                      {SECURITY[s]}
                    </option>
                  ))}
                </select>
              </div>
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
          <div class="field">
            <label for="min-level">{T.minLevel}</label>
            <select
              id="min-level"
              value={minLevel}
              onChange={(e) => setMinLevel(e.currentTarget.value as Level)}
            >
              {(Object.keys(LEVELS) as Level[]).map((l) => (
                <option key={l} value={l}>
                  {LEVELS[l]}
                </option>
              ))}
            </select>
          </div>
          <TextField label={T.name} value={f.name} onInput={set('name')} autocomplete="off" />
          <ErrorNote error={add.error} />
          <div class="buttons">
            <Button type="submit" variant="primary" busy={add.busy}>
              {T.addButton}
            </Button>
          </div>
        </form>
      </section>
      <section aria-labelledby="channels-title">
        <h2 id="channels-title">{T.list}</h2>
        <ErrorNote error={test.error} />
        {channels.state === 'loading' ? <Loading /> : null}
        {channels.state === 'failed' ? <ErrorNote error={channels.error} /> : null}
        {channels.state === 'ready' && channels.value.length === 0 ? (
          <Empty title={T.empty}>
            <p>{T.emptyBody}</p>
          </Empty>
        ) : null}
        {channels.state === 'ready' && channels.value.length > 0 ? (
          <ul class="card list">
            {channels.value.map((c) => (
              <li key={c.id}>
                <strong>{c.name}</strong>{' '}
                <span class="badge">{c.kind === 'email' ? T.email : T.webhook}</span>
                <div class="muted small">
                  {T.lastDelivered} {c.lastDeliveredAt ? when(c.lastDeliveredAt) : T.never}
                  {c.lastError ? ` · ${T.lastError}: ${c.lastError.message}` : ''}
                </div>
                {tested[c.id] ? (
                  <Alert kind={tested[c.id]!.delivered ? 'success' : 'error'}>
                    {T.tested(tested[c.id]!.delivered, tested[c.id]!.detail)}
                  </Alert>
                ) : null}
                <div class="buttons">
                  <Button busy={test.busy} onClick={() => test.run(c.id)} aria-label={`${T.test}: ${c.name}`}>
                    {T.test}
                  </Button>
                  <Button
                    onClick={() => setRemoving({ id: c.id, name: c.name })}
                    aria-label={`${T.remove}: ${c.name}`}
                  >
                    {T.remove}
                  </Button>
                </div>
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
        onConfirm={() => removing && void remove.run(removing.id)}
      >
        {null}
      </Confirm>
    </>
  );
}
