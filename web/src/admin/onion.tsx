import { useAction, useLive } from '../lib/hooks.ts';
import type { Live } from '../lib/live.ts';
import { Badge, CopyBox, ErrorNote } from '../ui/kit.tsx';
import { stateOf } from './shell.tsx';

const T = {
  toggle: 'Reachable over Tor',
  address: 'Onion address',
  words: {
    off: 'Tor is off',
    starting: 'Tor is starting',
    bootstrapping: 'Tor is connecting to the Tor network',
    ready: 'Published',
    failed: 'Tor is not running',
  } as Record<string, string>,
  note: 'Anyone with Tor Browser who knows this address reaches this interface; the service’s own login protects it.',
  udp: 'Tor carries TCP only.',
};

/** An interface's onion address: a toggle, the address to copy, and how far tor is. */
export function OnionToggle(props: { live: Live; id: string; iface: { id: string; protocol: string } }) {
  const { live, id, iface } = props;
  const tor = useLive(live, (l) => stateOf(l).tor);
  const onion = tor?.onions[`${id}/${iface.id}`];
  const on = onion?.enabled ?? false;
  const toggle = useAction((enable: boolean) =>
    live.call(enable ? 'interface.tor.enable' : 'interface.tor.disable', {
      package: id,
      interface: iface.id,
    }),
  );
  if (iface.protocol === 'udp') return <div class="muted small">{T.udp}</div>;
  const state = tor?.state ?? 'off';
  return (
    <div class="onion" data-onion={iface.id}>
      <label class="check">
        <input
          type="checkbox"
          checked={on}
          disabled={toggle.busy}
          onChange={(e) => void toggle.run(e.currentTarget.checked)}
        />
        {T.toggle}
      </label>{' '}
      {on ? (
        <Badge tone={state === 'ready' && onion?.active ? 'ok' : state === 'failed' ? 'bad' : 'warn'}>
          {T.words[state]}
          {state === 'bootstrapping' && tor?.bootstrap ? ` (${tor.bootstrap.progress}%)` : ''}
        </Badge>
      ) : null}
      {on && onion ? (
        <>
          <CopyBox label={T.address} value={onion.address} />
          <div class="muted small">{T.note}</div>
          {state === 'failed' && tor?.lastError ? <div class="muted small">{tor.lastError}</div> : null}
        </>
      ) : null}
      <ErrorNote error={toggle.error} />
    </div>
  );
}
