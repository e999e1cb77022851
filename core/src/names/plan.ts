/*
 * Names and reach between packages, pure: from the packages table to what the box's DNS
 * server (dnsmasq on the bridge) and its nftables isolation rules must be, and the steps
 * that make the machine so. No machine access here (host/dnsmasq.ts, host/isolation.ts).
 */
import { createHash } from 'node:crypto';

/** Containers name each other `<id>.internal`: ICANN reserved `.internal` for private use (2024). */
export const INTERNAL_DOMAIN = 'internal';

/** A package as names and isolation see it. */
export interface NamedPackage {
  id: string;
  /** Its fixed IPv4 address on the bridge. */
  address: string;
  /** The host side of its veth (fixed per container, host/lxc-parse.ts vethName). */
  veth: string;
  /** The ids it declares as dependencies: the only packages it may open connections to. */
  dependencies: readonly string[];
}

export interface NamesInput {
  bridge: string;
  /** The bridge's own address: where dnsmasq listens, the containers' nameserver. */
  gateway: string;
  /** The nft tables (families inet and bridge) the rules live in. */
  table: string;
  /** Resolvers for everything outside `.internal`; empty: the host's /etc/resolv.conf. */
  upstream: readonly string[];
  /** Files dnsmasq reads (its own directory under the runtime dir). */
  hostsFile: string;
  packages: readonly NamedPackage[];
}

export interface NamesDesired {
  /** dnsmasq's configuration; with none, no package is installed and dnsmasq does not run. */
  config: string | null;
  hosts: string;
  /** The isolation ruleset (an nft script) and its digest, which the table carries. */
  rules: { script: string; digest: string } | null;
}

export interface NamesObserved {
  config: string | null;
  hosts: string | null;
  running: boolean;
  /** The digest the isolation table carries, null when there is none. */
  rulesDigest: string | null;
}

export type NamesStep =
  | { kind: 'write-dns-files'; config: string; hosts: string }
  | { kind: 'start-dns' }
  | { kind: 'restart-dns' }
  | { kind: 'reload-dns' }
  | { kind: 'stop-dns' }
  | { kind: 'apply-isolation'; script: string }
  | { kind: 'remove-isolation' };

const ID = /^[a-z][a-z0-9-]{1,62}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IFNAME = /^[a-zA-Z][a-zA-Z0-9_-]{0,14}$/;
/** An upstream resolver: an IPv4 or IPv6 address, `#port` optional (dnsmasq's own syntax). */
const UPSTREAM = /^([0-9.]+|[0-9a-fA-F:]+)(#\d{1,5})?$/;

export class UnsafeName extends Error {}

/**
 * Everything that goes into dnsmasq's config or an nft script is checked here, again: ids
 * are validated where they enter, but a line break or a quote in one would become a
 * directive of its own, so the writer refuses rather than trusts.
 */
function check(kind: string, value: string, re: RegExp): string {
  if (!re.test(value)) throw new UnsafeName(`${kind} ${JSON.stringify(value)} cannot be written safely`);
  return value;
}

export function checkedPackages(input: NamesInput): NamedPackage[] {
  return input.packages.map((p) => ({
    id: check('package id', p.id, ID),
    address: check('address', p.address, IPV4),
    veth: check('interface', p.veth, IFNAME),
    dependencies: p.dependencies.map((d) => check('dependency', d, ID)),
  }));
}

/** dnsmasq as the containers' resolver: `.internal` from the hosts file, the rest upstream. */
export function renderDnsmasqConfig(input: NamesInput): string {
  const gateway = check('address', input.gateway, IPV4);
  const bridge = check('interface', input.bridge, IFNAME);
  const upstream = input.upstream.map((u) => check('upstream', u, UPSTREAM));
  return [
    '# Written by Hearth; rewritten whenever it changes.',
    // Only the bridge's address: another resolver on the box (systemd-resolved, a second
    // daemon's bridge) keeps its own port 53. bind-dynamic: the bridge may come later.
    `listen-address=${gateway}`,
    `interface=${bridge}`,
    'except-interface=lo',
    'bind-dynamic',
    // Nothing of the host's own names, no DHCP, no pid file (the daemon is the parent).
    'no-hosts',
    `addn-hosts=${check('path', input.hostsFile, /^\/[^\s\n]*$/)}`,
    `local=/${INTERNAL_DOMAIN}/`,
    'domain-needed',
    'bogus-priv',
    ...(upstream.length > 0
      ? ['no-resolv', ...upstream.map((u) => `server=${u}`)]
      : ['resolv-file=/etc/resolv.conf']),
    'cache-size=1000',
    'dns-forward-max=150',
    'user=nobody',
    'group=nogroup',
    '',
  ].join('\n');
}

/** One line per package: `<address> <id>.internal`. */
export function renderHosts(packages: readonly NamedPackage[]): string {
  return packages.map((p) => `${p.address} ${p.id}.${INTERNAL_DOMAIN}\n`).join('');
}

/**
 * Isolation. Frames between two containers' ports are never bridged (bridge family,
 * forward): a container reaches another only through the host, which answers ARP for
 * every address on the bridge (proxy_arp_pvlan, set by host/bridge.ts) and routes the
 * packet, so conntrack sees it (the bridge family has none on this kernel) and the inet
 * forward chain lets through only what a package's dependencies allow. A container may
 * send only from its own address (its veth is fixed; its address inside it is not). To
 * the host a container may send DNS to the bridge's address and answers to what the host
 * opened (the web UI's proxy, health probes); the box's API it reaches through its
 * effects socket only. The internet stays reachable (forwarded to another interface, NAT).
 */
export function renderIsolation(input: NamesInput): { script: string; digest: string } {
  const packages = checkedPackages(input);
  const table = check('table', input.table, /^[a-z][a-z0-9_]{0,30}$/);
  const br = check('interface', input.bridge, IFNAME);
  const gw = check('address', input.gateway, IPV4);
  const byId = new Map(packages.map((p) => [p.id, p]));
  const allowed = packages.flatMap((p) =>
    p.dependencies.flatMap((d) => {
      const to = byId.get(d);
      return to ? [`${p.address} . ${to.address}`] : [];
    }),
  );
  const ports = packages.map((p) => `"${p.veth}"`);
  const elements = (list: string[]) => (list.length > 0 ? ` elements = { ${list.join(', ')} };` : '');
  const body = [
    `table bridge ${table} {`,
    `  set ports { type ifname;${elements(ports)} }`,
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    '    iifname @ports counter drop',
    '    oifname @ports counter drop',
    '  }',
    '  chain prerouting {',
    '    type filter hook prerouting priority filter; policy accept;',
    ...packages.flatMap((p) => [
      `    iifname "${p.veth}" ether type ip ip saddr != ${p.address} counter drop`,
      `    iifname "${p.veth}" ether type arp arp saddr ip != ${p.address} counter drop`,
      `    iifname "${p.veth}" ether type ip6 counter drop`,
    ]),
    '  }',
    '}',
    `table inet ${table} {`,
    `  set allowed { type ipv4_addr . ipv4_addr;${elements(allowed)} }`,
    '  chain input {',
    '    type filter hook input priority filter; policy accept;',
    `    iifname "${br}" ct state established,related accept`,
    `    iifname "${br}" ip daddr ${gw} udp dport 53 accept`,
    `    iifname "${br}" ip daddr ${gw} tcp dport 53 accept`,
    `    iifname "${br}" counter drop`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    `    iifname "${br}" oifname "${br}" ct state established,related accept`,
    `    iifname "${br}" oifname "${br}" ip saddr . ip daddr @allowed accept`,
    `    iifname "${br}" oifname "${br}" counter drop`,
    '  }',
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    // Routing between ports of one interface makes the kernel send redirects, which would
    // send a container straight to the other's port, where nothing is bridged.
    `    oifname "${br}" icmp type redirect counter drop`,
    '  }',
    '}',
  ];
  const digest = createHash('sha256').update(body.join('\n')).digest('hex').slice(0, 16);
  // The digest rides in the table's comment: what observe() reads back.
  body.splice(1, 0, `  comment "hearth isolation ${digest}"`);
  const script = [
    // Replaced whole in one transaction: never a moment with half the rules.
    `table bridge ${table}`,
    `delete table bridge ${table}`,
    `table inet ${table}`,
    `delete table inet ${table}`,
    ...body,
    '',
  ].join('\n');
  return { script, digest };
}

export function desiredNames(input: NamesInput): NamesDesired {
  const packages = checkedPackages(input);
  if (packages.length === 0) return { config: null, hosts: '', rules: null };
  return {
    config: renderDnsmasqConfig(input),
    hosts: renderHosts(packages),
    rules: renderIsolation(input),
  };
}

/** The steps from what is to what should be. */
export function planNames(desired: NamesDesired, observed: NamesObserved): NamesStep[] {
  const steps: NamesStep[] = [];
  if (desired.config === null) {
    if (observed.running) steps.push({ kind: 'stop-dns' });
  } else {
    const configChanged = observed.config !== desired.config;
    const hostsChanged = observed.hosts !== desired.hosts;
    if (configChanged || hostsChanged) {
      steps.push({ kind: 'write-dns-files', config: desired.config, hosts: desired.hosts });
    }
    if (!observed.running) steps.push({ kind: 'start-dns' });
    // A new config needs a new process; new hosts only a SIGHUP (no moment without DNS).
    else if (configChanged) steps.push({ kind: 'restart-dns' });
    else if (hostsChanged) steps.push({ kind: 'reload-dns' });
  }
  if (desired.rules === null) {
    if (observed.rulesDigest !== null) steps.push({ kind: 'remove-isolation' });
  } else if (observed.rulesDigest !== desired.rules.digest) {
    steps.push({ kind: 'apply-isolation', script: desired.rules.script });
  }
  return steps;
}
