import { boxNames, packageName } from '../tls/names.ts';
import type { ListenerMode } from './plan.ts';

/*
 * Pure: every address of a package interface, as a person types it or a client is given
 * it — the LAN port by the box's addresses, by its mDNS names, the onion, custom domains.
 */

export type AddressKind = 'lan' | 'mdns' | 'onion' | 'domain';

export interface InterfaceAddress {
  kind: AddressKind;
  /** A full URL for web interfaces (`https://…`), `host:port` for the rest. */
  address: string;
  /** Whether it answers now, as far as the box can tell from itself; null: not checked. */
  answers: boolean | null;
  /** What to do when it does not answer, in plain words. */
  note: string | null;
}

export interface AddressInputs {
  hostname: string;
  /** The box's addresses (those its certificate can hold are listed). */
  boxAddresses: readonly string[];
  package: string;
  protocol: 'http' | 'https' | 'tcp' | 'udp';
  lan: { port: number; mode: ListenerMode; open: boolean; problem: string | null } | undefined;
  /** Whether the container accepts connections on the interface's port. */
  serviceAnswers: boolean;
  onion: { address: string; port: number | null; active: boolean; torReady: boolean } | undefined;
  domains: readonly { name: string; hasCertificate: boolean }[];
}

const hostPart = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** `https://host:port/` for web interfaces, `host:port` for others. */
export function formatAddress(protocol: AddressInputs['protocol'], host: string, port: number): string {
  const web = protocol === 'http' || protocol === 'https';
  if (!web) return `${hostPart(host)}:${port}`;
  return `https://${hostPart(host)}${port === 443 ? '' : `:${port}`}/`;
}

export function interfaceAddresses(i: AddressInputs): InterfaceAddress[] {
  const out: InterfaceAddress[] = [];
  if (i.lan) {
    const { port } = i.lan;
    let answers = i.lan.open && i.serviceAnswers;
    let note: string | null = null;
    if (!i.lan.open) note = i.lan.problem ?? 'the box has not opened this port yet';
    else if (!i.serviceAnswers) note = `${i.package} does not answer on its interface: is it running?`;
    if (!i.lan.open) answers = false;
    const names = [`${i.hostname.toLowerCase()}.local`, packageName(i.hostname, i.package)];
    for (const n of names)
      out.push({ kind: 'mdns', address: formatAddress(i.protocol, n, port), answers, note });
    const ips = boxNames(i.hostname, i.boxAddresses).ips.filter((a) => a !== '127.0.0.1' && a !== '::1');
    for (const a of ips)
      out.push({ kind: 'lan', address: formatAddress(i.protocol, a, port), answers, note });
    for (const d of i.domains) {
      out.push({
        kind: 'domain',
        address: formatAddress(i.protocol, d.name, port),
        answers: null,
        note: d.hasCertificate
          ? `the domain's DNS must point at this box and port ${port} be forwarded to it`
          : 'no certificate yet (acme.domain.list says why)',
      });
    }
  }
  if (i.onion) {
    const o = i.onion;
    const port = o.port ?? 80;
    const address = i.protocol === 'http' ? `http://${o.address}/` : `${o.address}:${port}`;
    const answers = o.active && o.torReady;
    const note = answers ? null : o.active ? 'tor is not bootstrapped yet' : 'tor does not carry it yet';
    out.push({ kind: 'onion', address, answers, note });
  }
  return out;
}
