import type { MdnsRecords } from '../host/avahi.ts';

/**
 * What the box publishes by mDNS, pure: a single-label name per package,
 * `<hostname>-<id>.local` (nss-mdns resolves only two-label `.local` names by default),
 * and the web UI as a DNS-SD `_http._tcp` service. A name over 63 characters cannot be a
 * label and is left out.
 */
export function mdnsRecords(o: {
  hostname: string;
  packages: readonly string[];
  webPort?: number;
  /** Package interfaces at their LAN ports: web ones are announced as `_https._tcp` at the package's name. */
  interfaces?: readonly { package: string; name: string; protocol: string; port: number }[];
}): MdnsRecords {
  const label = (id: string) => `${o.hostname}-${id}`;
  const valid = (l: string) => l.length <= 63 && /^[a-z0-9][a-z0-9-]*$/.test(l);
  const names = o.packages
    .map(label)
    .filter(valid)
    .map((l) => `${l}.local`);
  const web =
    o.webPort === undefined
      ? []
      : [{ name: o.hostname, type: '_http._tcp', port: o.webPort, txt: ['path=/'] }];
  const interfaces = (o.interfaces ?? [])
    .filter((i) => (i.protocol === 'http' || i.protocol === 'https') && valid(label(i.package)))
    .map((i) => ({
      // A DNS-SD instance name is one label of at most 63 bytes, unique on the network.
      name: truncateUtf8(`${i.name} (${i.package} on ${o.hostname})`, 63),
      type: '_https._tcp',
      port: i.port,
      txt: ['path=/'],
      host: `${label(i.package)}.local`,
    }));
  return { names, services: [...web, ...interfaces] };
}

function truncateUtf8(text: string, bytes: number): string {
  let out = '';
  for (const ch of text) {
    if (Buffer.byteLength(out + ch) > bytes) break;
    out += ch;
  }
  return out;
}
