import net from 'node:net';

/**
 * The key a client address is limited by. An IPv6 host picks any address in its /64
 * (one LAN gets a whole /64, and privacy addresses change anyway), so the /64 counts as
 * one client; IPv4 addresses, and `local`, count as themselves.
 */
export function addressKey(address: string): string {
  if (net.isIPv6(address)) {
    const groups = expandIpv6(address);
    if (groups) return `${groups.slice(0, 4).join(':')}::/64`;
  }
  return address;
}

function expandIpv6(address: string): string[] | undefined {
  const [head = '', tail] = address.split('%')[0]!.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) takes two groups.
  const last = right.length ? right : left;
  if (last.length && last[last.length - 1]!.includes('.')) last.splice(-1, 1, '0', '0');
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  return [...left, ...Array(missing).fill('0'), ...right].map((g) => (parseInt(g, 16) || 0).toString(16));
}
