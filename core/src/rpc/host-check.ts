import net from 'node:net';

/** What decides which names the box answers to. */
export interface HostRules {
  /** The box's hostname (`hearth` before setup, then the owner's choice). */
  hostname: string;
  /** Before setup anyone may claim the box: only names no outsider can point at it. */
  setupMode: boolean;
  /** Names the owner added (the allowedHosts setting; custom domains later). */
  extra: readonly string[];
}

// Names for a home network that no one can register on the internet (RFC 6762, RFC 8375,
// ICANN's reservation of .internal).
const PRIVATE_SUFFIXES = ['.local', '.home.arpa', '.internal'];

/**
 * Whether a request naming `host` (its Host header) is for this box. A web page of
 * another site can point a name of its own at the box (DNS rebinding) and then call it
 * as its own origin, cookies and Origin checks notwithstanding; only names an outsider
 * cannot own pass: IP literals, localhost, the box's own names and the owner's.
 * Without a Host header the client is not a browser, which always sends one.
 */
export function hostAllowed(host: string | undefined, rules: HostRules): boolean {
  if (host === undefined) return true;
  const name = hostnameOf(host);
  if (name === undefined) return false;
  if (net.isIP(name) !== 0) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (rules.extra.some((e) => e.toLowerCase() === name)) return true;
  const own = rules.hostname.toLowerCase();
  // avahi renames on a clash (hearth-2.local); a router's DNS may know the bare name.
  if (name === own || name === `${own}.local` || isRenamed(name, own)) return true;
  if (rules.setupMode) return false;
  // Once set up, the box may have been renamed while a bookmark keeps the old name.
  return PRIVATE_SUFFIXES.some((s) => name.endsWith(s) && name.length > s.length);
}

/** The name in a Host header, lower-case, without the port or IPv6 brackets; undefined if malformed. */
export function hostnameOf(host: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?$/.exec(host.trim());
  if (!m) return undefined;
  const name = m[1]!
    .replace(/^\[(.*)\]$/, '$1')
    .toLowerCase()
    .replace(/\.$/, '');
  return name.length > 0 && name.length <= 253 ? name : undefined;
}

/** `hearth-2.local`: avahi's answer to another device on the network taking `hearth.local`. */
function isRenamed(name: string, own: string): boolean {
  if (!name.startsWith(`${own}-`) || !name.endsWith('.local')) return false;
  return /^\d+$/.test(name.slice(own.length + 1, -'.local'.length));
}
