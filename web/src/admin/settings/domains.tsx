import { useState } from 'preact/hooks';
import { api, type ResultOf } from '../../lib/api.ts';
import { when } from '../../lib/format.ts';
import { useAction, useLoad } from '../../lib/hooks.ts';
import { Badge, Button, ErrorNote, SelectField, TextField } from '../../ui/kit.tsx';
import { RemovableList } from './listing.tsx';

type Domain = ResultOf<'acme.domain.list'>[number];

const T = {
  add: 'Add a custom domain',
  why: 'A name of your own (cloud.example.com) with a certificate from Let’s Encrypt, renewed by the box 30 days before it ends.',
  name: 'Domain',
  nameHint:
    'Point it at this box first (an A record to your public address, with port 80 forwarded), or use DNS.',
  challenge: 'How the CA checks the domain is yours',
  http: 'HTTP: the CA visits the box on port 80',
  dns: 'DNS: the box writes a record on your DNS server (RFC 2136)',
  server: 'DNS server (IP address)',
  port: 'Port',
  zone: 'Zone',
  zoneHint: 'The zone the domain is in, e.g. example.com.',
  keyName: 'TSIG key name',
  secret: 'TSIG key (hmac-sha256, base64)',
  addButton: 'Add and get a certificate',
  list: 'Custom domains',
  empty: 'No custom domains',
  emptyBody:
    'The box is reachable by its own names. Add a domain to reach it by yours, with a certificate browsers trust.',
  issue: 'Renew now',
  remove: 'Remove',
  removeTitle: (n: string) => `Remove ${n}?`,
  removeBody:
    'The box forgets the domain and its certificate. The certificate is not revoked; it simply stops being used.',
  state: {
    pending: 'Getting a certificate…',
    valid: 'Certificate valid',
    renewing: 'Renewing',
    failing: 'Failing',
    expired: 'Expired',
  } as Record<Domain['state'], string>,
  until: 'valid until',
  next: 'next try',
};

const tone = (s: Domain['state']) =>
  s === 'valid' ? 'ok' : s === 'failing' || s === 'expired' ? 'bad' : 'warn';

export function Domains() {
  const [domains, reload] = useLoad(() => api.call('acme.domain.list'));
  const [name, setName] = useState('');
  const [challenge, setChallenge] = useState<'http-01' | 'dns-01'>('http-01');
  const [dns, setDns] = useState({ server: '', port: '53', zone: '', keyName: '', secret: '' });
  const field = (k: keyof typeof dns) => (v: string) => setDns({ ...dns, [k]: v });
  const add = useAction(async () => {
    await api.call('acme.domain.add', {
      name: name.trim(),
      challenge,
      ...(challenge === 'dns-01' ? { dns: { ...dns, port: Number(dns.port) } } : {}),
    });
    setName('');
    reload();
  });
  const issue = useAction(async (d: Domain) => {
    await api.call('acme.domain.issue', { name: d.name });
    reload();
  });
  return (
    <>
      <section class="card" aria-labelledby="domain-add-title">
        <h2 id="domain-add-title">{T.add}</h2>
        <p class="muted">{T.why}</p>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <TextField
            label={T.name}
            hint={T.nameHint}
            value={name}
            onInput={setName}
            autocomplete="off"
            spellcheck={false}
          />
          <SelectField
            label={T.challenge}
            options={{ 'http-01': T.http, 'dns-01': T.dns }}
            value={challenge}
            onChange={(v) => setChallenge(v === 'dns-01' ? 'dns-01' : 'http-01')}
          />
          {challenge === 'dns-01' ? (
            <>
              <TextField label={T.server} value={dns.server} onInput={field('server')} class="mono" />
              <TextField label={T.port} value={dns.port} onInput={field('port')} inputMode="numeric" />
              <TextField label={T.zone} hint={T.zoneHint} value={dns.zone} onInput={field('zone')} />
              <TextField label={T.keyName} value={dns.keyName} onInput={field('keyName')} class="mono" />
              <TextField
                label={T.secret}
                value={dns.secret}
                onInput={field('secret')}
                type="password"
                autocomplete="off"
                class="mono"
              />
            </>
          ) : null}
          <ErrorNote error={add.error} />
          <div class="buttons">
            <Button type="submit" variant="primary" busy={add.busy} disabled={!name.trim()}>
              {T.addButton}
            </Button>
          </div>
        </form>
      </section>
      <ErrorNote error={issue.error} />
      <RemovableList
        title={T.list}
        load={domains}
        empty={{ title: T.empty, body: T.emptyBody }}
        keyOf={(d) => d.name}
        nameOf={(d) => d.name}
        render={(d) => (
          <>
            <strong>{d.name}</strong> <Badge tone={tone(d.state)}>{T.state[d.state]}</Badge>
            <div class="muted small">
              {d.challenge === 'http-01' ? 'HTTP' : `DNS (${d.dns?.server})`}
              {d.notAfter ? ` · ${T.until} ${when(d.notAfter)}` : ''}
              {d.state !== 'valid' && d.nextAttempt ? ` · ${T.next} ${when(d.nextAttempt)}` : ''}
            </div>
            {d.lastError ? <div class="small">{d.lastError}</div> : null}
          </>
        )}
        buttons={(d) => (
          <Button onClick={() => void issue.run(d)} busy={issue.busy} aria-label={`${T.issue}: ${d.name}`}>
            {T.issue}
          </Button>
        )}
        removeLabel={T.remove}
        confirmTitle={T.removeTitle}
        confirmBody={<p>{T.removeBody}</p>}
        remove={(d) => api.call('acme.domain.remove', { name: d.name })}
        onRemoved={reload}
      />
    </>
  );
}
