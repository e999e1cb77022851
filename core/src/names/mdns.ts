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
}): MdnsRecords {
  const names = o.packages
    .map((id) => `${o.hostname}-${id}`)
    .filter((label) => label.length <= 63 && /^[a-z0-9][a-z0-9-]*$/.test(label))
    .map((label) => `${label}.local`);
  return {
    names,
    services:
      o.webPort === undefined
        ? []
        : [{ name: o.hostname, type: '_http._tcp', port: o.webPort, txt: ['path=/'] }],
  };
}
