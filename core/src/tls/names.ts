import net from 'node:net';

/*
 * Which names the box's CA may vouch for, and which names each certificate carries. Pure:
 * the CA's name constraints, the leaves' names and the addresses a leaf may hold.
 */

/**
 * DNS names no one can own on the internet (RFC 6762 `.local`, ICANN's `.internal`,
 * RFC 8375 `home.arpa`, RFC 6761 `localhost`): the CA may sign these and nothing else, so
 * its key, taken from a stolen box, cannot vouch for the owner's bank.
 */
export const PERMITTED_DNS = ['local', 'internal', 'home.arpa', 'localhost'] as const;

/** The private and local address ranges (RFC 1918, loopback, RFC 4193, link-local, ::1). */
export const PERMITTED_IP: readonly { address: string; prefix: number }[] = [
  { address: '10.0.0.0', prefix: 8 },
  { address: '172.16.0.0', prefix: 12 },
  { address: '192.168.0.0', prefix: 16 },
  { address: '127.0.0.0', prefix: 8 },
  { address: 'fc00::', prefix: 7 },
  { address: 'fe80::', prefix: 10 },
  { address: '::1', prefix: 128 },
];

/** Whether a DNS name lies under one of PERMITTED_DNS (label-wise, as RFC 5280 compares). */
export function isPermittedName(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  return PERMITTED_DNS.some((p) => n === p || n.endsWith(`.${p}`));
}

/** Whether an IP address lies in one of PERMITTED_IP. */
export function isPermittedAddress(address: string): boolean {
  const bytes = ipBytes(address);
  if (!bytes) return false;
  return PERMITTED_IP.some((r) => {
    const base = ipBytes(r.address)!;
    return base.length === bytes.length && inPrefix(bytes, base, r.prefix);
  });
}

/** The box's own certificate: `<hostname>.local`, localhost, and its local addresses. */
export function boxNames(hostname: string, addresses: readonly string[]): { dns: string[]; ips: string[] } {
  const ips = [...new Set(['127.0.0.1', '::1', ...addresses.map(canonicalIp).filter(isPermittedAddress)])];
  return { dns: [`${hostname.toLowerCase()}.local`, 'localhost'], ips: ips.sort() };
}

/**
 * A package's own name: one label under `.local` (nss-mdns resolves only two-label `.local`
 * names by default), so `<hostname>-<package>.local`.
 */
export function packageName(hostname: string, packageId: string): string {
  return `${hostname.toLowerCase()}-${packageId}.local`;
}

/** An address as a certificate holds it: no zone, IPv6 compressed and lower-case, IPv4-mapped as IPv4. */
export function canonicalIp(address: string): string {
  const a = address.replace(/%.*$/, '').toLowerCase();
  if (a.startsWith('::ffff:') && net.isIPv4(a.slice(7))) return a.slice(7);
  const bytes = ipBytes(a);
  if (!bytes || bytes.length === 4) return a;
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  // The longest run of zero groups becomes `::` (RFC 5952).
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { at: i, len: j - i };
    i = j;
  }
  if (best.at < 0) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`;
}

/** An address's bytes (4 or 16), or undefined when it is not one. */
export function ipBytes(address: string): number[] | undefined {
  const a = address.replace(/%.*$/, '');
  if (net.isIPv4(a)) return a.split('.').map(Number);
  if (!net.isIPv6(a)) return undefined;
  let text = a;
  // A trailing dotted quad (::ffff:1.2.3.4) is two groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const [p, q, r, s] = quad[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -quad[1]!.length)}${((p << 8) | q).toString(16)}:${((r << 8) | s).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...zeros, ...right].flatMap((g) => {
    const v = Number.parseInt(g, 16);
    return [v >> 8, v & 0xff];
  });
}

function inPrefix(bytes: number[], base: number[], prefix: number): boolean {
  for (let bit = 0; bit < prefix; bit++) {
    const i = bit >> 3;
    const m = 0x80 >> (bit & 7);
    if ((bytes[i]! & m) !== (base[i]! & m)) return false;
  }
  return true;
}

/**
 * The DER of the CA's NameConstraints extension value (RFC 5280 4.2.1.10): permitted
 * subtrees only, DNS names and address ranges (address then mask). @peculiar/x509 has no
 * class for it; the structure is small enough to write out.
 */
export function nameConstraintsDer(): Uint8Array {
  const subtrees = [
    ...PERMITTED_DNS.map((d) => der(0x30, der(0x82, Buffer.from(d, 'ascii')))),
    ...PERMITTED_IP.map((r) => {
      const base = ipBytes(r.address)!;
      const mask = base.map((_, i) => {
        const bits = Math.max(0, Math.min(8, r.prefix - i * 8));
        return (0xff << (8 - bits)) & 0xff;
      });
      return der(0x30, der(0x87, Buffer.from([...base, ...mask])));
    }),
  ];
  return der(0x30, der(0xa0, Buffer.concat(subtrees)));
}

/** One DER TLV. */
function der(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}
