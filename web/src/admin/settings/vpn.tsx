import { useState } from 'preact/hooks';
import { api, type ResultOf } from '../../lib/api.ts';
import { bytes, when } from '../../lib/format.ts';
import { type Load, useAction, useLoad } from '../../lib/hooks.ts';
import { Alert, Badge, Button, ErrorNote, SelectField, TextField } from '../../ui/kit.tsx';
import { RemovableList } from './listing.tsx';

const T = {
  add: 'Add a device to the VPN',
  why: 'A WireGuard VPN into the box: from anywhere, your phone or laptop reaches the box as if at home. Install the WireGuard app, then scan the code or import the file.',
  endpoint: (e: string) =>
    `Devices dial ${e}. From outside your home, your router must forward that UDP port to the box, and the name must lead to your home.`,
  name: 'Device name',
  nameHint: 'e.g. Anna’s phone: up to 32 letters, digits, spaces, dots or dashes.',
  access: 'It reaches',
  accessBox: 'the box only',
  accessLan: 'the box and the home network',
  addButton: 'Add device',
  config: (n: string) => `Set up ${n}`,
  configWhy:
    'Scan this code in the WireGuard app, or download the file. It holds the device’s key: keep it to yourself.',
  qr: 'QR code of the WireGuard config',
  download: 'Download the config',
  close: 'Done',
  list: 'Devices',
  empty: 'No devices',
  emptyBody: 'The VPN is off. Add a device to turn it on.',
  on: 'VPN on',
  off: 'VPN off',
  never: 'never connected',
  lastSeen: 'last handshake',
  traffic: (rx: string, tx: string) => `${rx} in, ${tx} out`,
  show: 'Show config',
  remove: 'Revoke',
  removeTitle: (n: string) => `Revoke ${n}?`,
  removeBody: 'Its key stops working at once. With the last device gone, the VPN turns off.',
};

type Peer = ResultOf<'vpn.peer.list'>['peers'][number];
type Config = ResultOf<'vpn.peer.config'>;
type Access = 'box' | 'lan';

export function Vpn() {
  const [status, reload] = useLoad(() => api.call('vpn.peer.list'));
  const [name, setName] = useState('');
  const [access, setAccess] = useState<Access>('box');
  const [shown, setShown] = useState<Config | undefined>(undefined);
  const add = useAction(async () => {
    setShown(await api.call('vpn.peer.add', { name: name.trim(), access }));
    setName('');
    reload();
  });
  const show = useAction(async (p: Peer) => setShown(await api.call('vpn.peer.config', { name: p.name })));
  const peers: Load<Peer[]> =
    status.state === 'ready' ? { state: 'ready', value: status.value.peers } : status;
  const s = status.state === 'ready' ? status.value : undefined;
  return (
    <>
      <section class="card" aria-labelledby="vpn-add-title">
        <h2 id="vpn-add-title">
          {T.add} {s ? <Badge tone={s.running ? 'ok' : 'warn'}>{s.running ? T.on : T.off}</Badge> : null}
        </h2>
        <p class="muted">{T.why}</p>
        {s ? <p class="muted small">{T.endpoint(s.endpoint)}</p> : null}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void add.run();
          }}
        >
          <TextField label={T.name} hint={T.nameHint} value={name} onInput={setName} autocomplete="off" />
          <SelectField
            label={T.access}
            options={{ box: T.accessBox, lan: T.accessLan }}
            value={access}
            onChange={(v) => setAccess(v === 'lan' ? 'lan' : 'box')}
          />
          <ErrorNote error={add.error} />
          {s?.lastError ? <ErrorNote error={new Error(s.lastError)} /> : null}
          <div class="buttons">
            <Button type="submit" variant="primary" busy={add.busy} disabled={!name.trim()}>
              {T.addButton}
            </Button>
          </div>
        </form>
      </section>
      {shown ? <PeerConfig config={shown} onClose={() => setShown(undefined)} /> : null}
      <ErrorNote error={show.error} />
      <RemovableList
        title={T.list}
        load={peers}
        empty={{ title: T.empty, body: T.emptyBody }}
        keyOf={(p) => p.name}
        nameOf={(p) => p.name}
        render={(p) => (
          <>
            <strong>{p.name}</strong> <Badge>{p.access === 'lan' ? T.accessLan : T.accessBox}</Badge>
            <div class="muted small">
              <span class="mono">{p.address}</span> ·{' '}
              {p.lastHandshake ? `${T.lastSeen} ${when(p.lastHandshake)}` : T.never} ·{' '}
              {T.traffic(bytes(p.rxBytes), bytes(p.txBytes))}
            </div>
          </>
        )}
        buttons={(p) => (
          <Button onClick={() => void show.run(p)} aria-label={`${T.show}: ${p.name}`}>
            {T.show}
          </Button>
        )}
        removeLabel={T.remove}
        confirmTitle={T.removeTitle}
        confirmBody={<p>{T.removeBody}</p>}
        remove={(p) => api.call('vpn.peer.remove', { name: p.name })}
        onRemoved={reload}
      />
    </>
  );
}

function PeerConfig(props: { config: Config; onClose: () => void }) {
  const { config } = props;
  const file = `data:text/plain;charset=utf-8,${encodeURIComponent(config.config)}`;
  const fileName = `${config.name.replace(/[^A-Za-z0-9._-]+/g, '-')}.conf`;
  return (
    <section class="card" aria-labelledby="vpn-config-title">
      <h2 id="vpn-config-title">{T.config(config.name)}</h2>
      <Alert kind="warning">{T.configWhy}</Alert>
      <img
        class="qr"
        alt={T.qr}
        src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(config.qrSvg)}`}
      />
      <div class="buttons">
        <a class="button" href={file} download={fileName}>
          {T.download}
        </a>
        <Button variant="primary" onClick={props.onClose}>
          {T.close}
        </Button>
      </div>
    </section>
  );
}
