import { useEffect, useState } from 'preact/hooks';
import { renderSVG } from 'uqr';
import { api } from '../lib/api.ts';
import { useLoad } from '../lib/hooks.ts';
import { Badge, Button, CopyBox, ErrorNote, Loading } from '../ui/kit.tsx';

const T = {
  kinds: {
    mdns: 'By name on your network',
    lan: 'By address on your network',
    onion: 'Over Tor',
    domain: 'Your domain',
  } as Record<string, string>,
  answers: 'Answers',
  silent: 'Not answering',
  unchecked: 'Not checked',
  qr: 'QR code',
  hideQr: 'Hide QR code',
  qrLabel: (a: string) => `QR code of ${a}`,
  udp: 'Not reachable from your network: the box does not carry UDP interfaces yet.',
  waiting: 'The box is opening a port for it…',
  own: 'These addresses do not use this box’s login: the service asks for its own. Devices reach them once they trust this box (Settings → Trust this box).',
};

type Entry = Awaited<ReturnType<typeof loadInterfaces>>[number];
const loadInterfaces = (id: string) => api.call('interface.list', { package: id });

/** Every package interface's addresses: per address a copy box, a QR code and whether it answers. */
export function useInterfaceAddresses(id: string, status: string | undefined) {
  const load = useLoad(() => loadInterfaces(id), [id, status]);
  // Whether each address answers is found by trying it: asked again now and then.
  const reload = load[1];
  useEffect(() => {
    const t = setInterval(reload, 10_000);
    return () => clearInterval(t);
  }, [reload]);
  return load;
}

export function InterfaceAddresses(props: { entry: Entry | undefined }) {
  const { entry } = props;
  if (!entry) return null;
  if (entry.addresses.length === 0)
    return <div class="muted small">{entry.protocol === 'udp' ? T.udp : T.waiting}</div>;
  return (
    <div class="addresses" data-addresses={entry.interface}>
      {entry.addresses.map((a) => (
        <Address key={a.address} kind={a.kind} address={a.address} answers={a.answers} note={a.note} />
      ))}
      <div class="muted small">{T.own}</div>
    </div>
  );
}

function Address(p: { kind: string; address: string; answers: boolean | null; note: string | null }) {
  const [qr, setQr] = useState(false);
  const tone = p.answers === true ? 'ok' : p.answers === false ? 'bad' : undefined;
  const word = p.answers === true ? T.answers : p.answers === false ? T.silent : T.unchecked;
  return (
    <div class="address" data-kind={p.kind}>
      <CopyBox label={T.kinds[p.kind] ?? p.kind} value={p.address} />
      <Badge {...(tone ? { tone } : {})}>{word}</Badge>{' '}
      <Button onClick={() => setQr(!qr)}>{qr ? T.hideQr : T.qr}</Button>
      {p.note && p.answers !== true ? <div class="muted small">{p.note}</div> : null}
      {qr ? <QrCode text={p.address} /> : null}
    </div>
  );
}

function QrCode({ text }: { text: string }) {
  return (
    <img
      class="qr"
      alt={T.qrLabel(text)}
      src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(renderSVG(text, { border: 2 }))}`}
    />
  );
}

/** Loading and failure of the whole list, shown once above the interfaces. */
export function AddressesState(props: { load: ReturnType<typeof useInterfaceAddresses>[0] }) {
  if (props.load.state === 'loading') return <Loading />;
  if (props.load.state === 'failed') return <ErrorNote error={props.load.error} />;
  return null;
}
