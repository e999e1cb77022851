/**
 * The container host's texts, in and out, as pure functions: what lxc-info, lxc-ls, `ip -j`
 * and /proc print, /etc/subuid, the LXC config and the nft table we write. The adapters
 * (lxc.ts, mounts.ts, bridge.ts) only run tools and move these strings around; every
 * parser here is tested against output captured on a real host (`__fixtures__/`).
 */

import { createHash } from 'node:crypto';
import path from 'node:path';
import { InvalidParams } from '../errors.ts';

// --- lxc-info ------------------------------------------------------------------------

export type LxcState =
  | 'STOPPED'
  | 'STARTING'
  | 'RUNNING'
  | 'STOPPING'
  | 'ABORTING'
  | 'FREEZING'
  | 'FROZEN'
  | 'THAWED';

export interface LxcInfo {
  name: string;
  state: LxcState;
  /** The container's init as the host sees it; null when stopped. */
  pid: number | null;
  ips: string[];
  /** Cumulative CPU time of the container's cgroup, nanoseconds. */
  cpuNs: number | null;
  /** Current memory use of the container's cgroup, bytes. */
  memoryBytes: number | null;
  /** Host-side interface names (the veths). */
  links: string[];
}

const STATES: readonly LxcState[] = [
  'STOPPED',
  'STARTING',
  'RUNNING',
  'STOPPING',
  'ABORTING',
  'FREEZING',
  'FROZEN',
  'THAWED',
];

/** `lxc-info -H` (raw numbers: bytes and nanoseconds, not "2.45 MiB"). */
export function parseLxcInfo(text: string): LxcInfo {
  const info: LxcInfo = {
    name: '',
    state: 'STOPPED',
    pid: null,
    ips: [],
    cpuNs: null,
    memoryBytes: null,
    links: [],
  };
  let sawState = false;
  for (const line of text.split('\n')) {
    const m = /^\s*([^:]+?):\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const [, key, value] = m as unknown as [string, string, string];
    switch (key) {
      case 'Name':
        info.name = value;
        break;
      case 'State':
        if (!(STATES as readonly string[]).includes(value))
          throw new Error(`lxc-info: unknown state '${value}'`);
        info.state = value as LxcState;
        sawState = true;
        break;
      case 'PID':
        info.pid = toInt(value);
        break;
      case 'IP':
        info.ips.push(value);
        break;
      case 'CPU use':
        info.cpuNs = toInt(value);
        break;
      case 'Memory use':
        info.memoryBytes = toInt(value);
        break;
      case 'Link':
        info.links.push(value);
        break;
    }
  }
  if (!sawState) throw new Error('lxc-info printed no State line');
  return info;
}

const toInt = (s: string): number | null => (/^\d+$/.test(s) ? Number(s) : null);

// --- lxc-ls --------------------------------------------------------------------------

export interface LxcListEntry {
  name: string;
  state: LxcState;
  pid: number | null;
  ipv4: string[];
  unprivileged: boolean;
}

export const LXC_LS_COLUMNS = 'NAME,STATE,PID,IPV4,UNPRIVILEGED';

/**
 * `lxc-ls -f -F NAME,STATE,PID,IPV4,UNPRIVILEGED`: a table aligned on the header, "-"
 * for nothing; IPV4 may hold "a, b", so columns are cut at the header's positions,
 * not at spaces.
 */
export function parseLxcLs(text: string): LxcListEntry[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift();
  if (header === undefined) return [];
  const starts = [...header.matchAll(/\S+/g)].map((m) => ({ name: m[0], at: m.index }));
  const col = (line: string, name: string) => {
    const i = starts.findIndex((s) => s.name === name);
    if (i < 0) throw new Error(`lxc-ls: no ${name} column in '${header.trim()}'`);
    const value = line.slice(starts[i]!.at, starts[i + 1]?.at ?? line.length).trim();
    return value === '-' ? '' : value;
  };
  return lines.map((line) => {
    const state = col(line, 'STATE');
    if (!(STATES as readonly string[]).includes(state)) throw new Error(`lxc-ls: unknown state '${state}'`);
    const ipv4 = col(line, 'IPV4');
    return {
      name: col(line, 'NAME'),
      state: state as LxcState,
      pid: toInt(col(line, 'PID')),
      ipv4: ipv4 ? ipv4.split(/,\s*/) : [],
      unprivileged: col(line, 'UNPRIVILEGED') === 'true',
    };
  });
}

// --- /proc/self/mountinfo ------------------------------------------------------------

export interface MountInfo {
  id: number;
  parentId: number;
  /** The filesystem's device as `major:minor` (what lsblk calls MAJ:MIN). */
  device: string;
  /** The path inside the filesystem that is mounted (not "/" for bind mounts). */
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** The kernel escapes space, tab, newline and backslash in paths as octal (\040). */
const unescapeOctal = (s: string) =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** proc(5): `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`. */
export function parseMountInfo(text: string): MountInfo[] {
  const mounts: MountInfo[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    if (dash < 0 || fields.length < dash + 3) throw new Error(`mountinfo: cannot read '${line}'`);
    mounts.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      device: fields[2]!,
      root: unescapeOctal(fields[3]!),
      mountPoint: unescapeOctal(fields[4]!),
      options: fields[5]!.split(','),
      fsType: fields[dash + 1]!,
      source: unescapeOctal(fields[dash + 2]!),
      superOptions: (fields[dash + 3] ?? '').split(',').filter(Boolean),
    });
  }
  return mounts;
}

/** Mounts at `dir` or below it, deepest (latest) first: the order to unmount them in. */
export function mountsUnder(mounts: MountInfo[], dir: string): MountInfo[] {
  const base = dir.replace(/\/+$/, '') || '/';
  const inside = (p: string) => p === base || p.startsWith(base === '/' ? '/' : `${base}/`);
  return mounts.filter((m) => inside(m.mountPoint)).reverse();
}

export type CgroupLayout = 'unified' | 'legacy';

/**
 * Pure cgroup v2 ("unified") when /sys/fs/cgroup itself is cgroup2; otherwise the
 * controllers are on v1 hierarchies (legacy, or hybrid with an empty v2 at .../unified)
 * and LXC's limits must use the v1 keys.
 */
export function cgroupLayout(mounts: MountInfo[]): CgroupLayout {
  const top = mounts.filter((m) => m.mountPoint === '/sys/fs/cgroup').at(-1);
  return top?.fsType === 'cgroup2' ? 'unified' : 'legacy';
}

/** Where each v1 controller (or the v2 tree, as "") is mounted. */
export function cgroupMountPoints(mounts: MountInfo[]): string[] {
  return mounts.filter((m) => m.fsType === 'cgroup' || m.fsType === 'cgroup2').map((m) => m.mountPoint);
}

// --- /etc/subuid, /etc/subgid ---------------------------------------------------------

export interface SubordinateRange {
  owner: string;
  start: number;
  count: number;
}

export function parseSubordinateIds(text: string): SubordinateRange[] {
  const ranges: SubordinateRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    if (!owner || !/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) continue;
    ranges.push({ owner, start: Number(start), count: Number(count) });
  }
  return ranges;
}

export type IdReservation =
  | { action: 'none' }
  | { action: 'append'; line: string }
  | { action: 'conflict'; with: SubordinateRange };

/**
 * newuidmap only maps ranges listed for the caller, and LXC uses newuidmap whenever it
 * is installed, even for root. A range already given to someone else is a conflict:
 * two owners of the same host ids would see each other's files.
 */
export function planIdReservation(
  existing: SubordinateRange[],
  owner: string,
  range: { start: number; count: number },
): IdReservation {
  const end = range.start + range.count;
  const covered = existing.some(
    (r) => r.owner === owner && r.start <= range.start && r.start + r.count >= end,
  );
  if (covered) return { action: 'none' };
  const clash = existing.find((r) => r.owner !== owner && r.start < end && range.start < r.start + r.count);
  if (clash) return { action: 'conflict', with: clash };
  return { action: 'append', line: `${owner}:${range.start}:${range.count}` };
}

// --- networking ----------------------------------------------------------------------

export interface Subnet {
  /** "10.73.0.0/24" */
  cidr: string;
  network: string;
  prefix: number;
  /** The host's address on the bridge: the first one. */
  gateway: string;
  broadcast: string;
}

const ipToInt = (ip: string): number => {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new InvalidParams(`'${ip}' is not an IPv4 address`);
  }
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
};
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** A private IPv4 subnet for the containers, from /16 (65k addresses) to /29. */
export function parseSubnet(cidr: string): Subnet {
  const m = /^([\d.]+)\/(\d+)$/.exec(cidr);
  const prefix = Number(m?.[2]);
  if (!m || prefix < 16 || prefix > 29) {
    throw new InvalidParams(`'${cidr}' is not an IPv4 subnet between /16 and /29`, {
      hint: 'give the container network as e.g. 10.73.0.0/24',
    });
  }
  const size = 2 ** (32 - prefix);
  const base = ipToInt(m[1]!);
  if (base % size !== 0) {
    throw new InvalidParams(`'${cidr}' has host bits set`, {
      hint: `use ${intToIp(base - (base % size))}/${prefix}`,
    });
  }
  return {
    cidr,
    network: intToIp(base),
    prefix,
    gateway: intToIp(base + 1),
    broadcast: intToIp(base + size - 1),
  };
}

/** Checks that `address` is a usable container address in `subnet` (not network, gateway or broadcast). */
export function assertContainerAddress(subnet: Subnet, address: string): void {
  const a = ipToInt(address);
  const base = ipToInt(subnet.network);
  const size = 2 ** (32 - subnet.prefix);
  if (a < base || a >= base + size) throw new InvalidParams(`${address} is not in ${subnet.cidr}`);
  if (address === subnet.network || address === subnet.gateway || address === subnet.broadcast) {
    throw new InvalidParams(`${address} is reserved in ${subnet.cidr} (network, bridge or broadcast)`);
  }
}

export interface IpLink {
  name: string;
  kind: string | null;
  up: boolean;
  master: string | null;
  ipv4: { address: string; prefix: number }[];
}

/** `ip -j -d addr show [dev X]`. */
export function parseIpAddrShow(json: string): IpLink[] {
  const links = JSON.parse(json) as {
    ifname: string;
    flags?: string[];
    master?: string;
    linkinfo?: { info_kind?: string };
    addr_info?: { family: string; local: string; prefixlen: number }[];
  }[];
  return links.map((l) => ({
    name: l.ifname,
    kind: l.linkinfo?.info_kind ?? null,
    up: l.flags?.includes('UP') ?? false,
    master: l.master ?? null,
    ipv4: (l.addr_info ?? [])
      .filter((a) => a.family === 'inet')
      .map((a) => ({ address: a.local, prefix: a.prefixlen })),
  }));
}

/**
 * The whole NAT table as one nft script. "add, delete, define" in one transaction
 * replaces the table atomically, so running it again converges instead of stacking rules.
 */
export function renderNatTable(table: string, subnet: Subnet, bridge: string): string {
  return [
    `table ip ${table}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${subnet.cidr} oifname != "${bridge}" masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

// --- the LXC config ---------------------------------------------------------------------

export interface HostFacts {
  cgroup: CgroupLayout;
  apparmor: boolean;
}

/** Everything renderLxcConfig needs, with paths already decided by the adapter. */
export interface LxcConfigInput {
  name: string;
  rootfs: string;
  idmap: { hostId: number; count: number };
  mounts: { source: string; target: string; readOnly: boolean; file: boolean }[];
  env: Record<string, string>;
  memoryMiB: number;
  cpus: number;
  /** What lxc-stop sends the init first (SIGTERM unless said otherwise). */
  haltSignal?: 'SIGTERM' | 'SIGINT';
  network: { bridge: string; address: string; subnet: Subnet };
  consoleLog: string;
  lxcLog: string;
  seccompProfile: string;
}

export const CPU_PERIOD_US = 100_000;

/** Devices an ordinary service needs; mknod is allowed but the nodes are not usable. */
const DEVICES = ['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 1:5 rwm', 'c 1:7 rwm', 'c 1:8 rwm', 'c 1:9 rwm'];
const DEVICES_TTY = ['c 5:0 rwm', 'c 5:1 rwm', 'c 5:2 rwm', 'c 136:* rwm', 'c 10:229 rwm'];

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The host-side veth name: fixed per container (≤ 15 characters) so a leftover is
 * findable, and taken from the container's directory (its lxcpath and name), so two
 * daemons with containers of the same name in different lxcpaths never collide.
 */
export const vethName = (containerDir: string) => `vh${digest(containerDir).slice(0, 10)}`;

/** A stable, locally administered MAC, so the host's ARP entry stays right across restarts. */
export function macAddress(name: string): string {
  const h = digest(`mac:${name}`);
  return ['0a', h.slice(0, 2), h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10)].join(':');
}

const digest = (s: string) => createHash('sha256').update(s).digest('hex');

export function renderLxcConfig(c: LxcConfigInput, host: HostFacts): string {
  const lines: string[] = [
    '# Written by Hearth; rewritten on every create. Started by Hearth only: the rootfs',
    '# overlay is mounted by the host adapter before lxc-start.',
    `lxc.uts.name = ${c.name}`,
    `lxc.rootfs.path = dir:${c.rootfs}`,
    `lxc.idmap = u 0 ${c.idmap.hostId} ${c.idmap.count}`,
    `lxc.idmap = g 0 ${c.idmap.hostId} ${c.idmap.count}`,
    // The init is PID 1: without a handler it ignores LXC's default SIGPWR, so ask with SIGTERM.
    `lxc.signal.halt = ${c.haltSignal ?? 'SIGTERM'}`,
    'lxc.autodev = 1',
    'lxc.mount.auto = proc:mixed sys:mixed cgroup:mixed',
    // A devpts instance is what gives init a console; with none, its stdio is /dev/null.
    'lxc.pty.max = 16',
    'lxc.tty.max = 0',
    'lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio',
    `lxc.seccomp.profile = ${c.seccompProfile}`,
    `lxc.apparmor.profile = ${host.apparmor ? 'generated' : 'unconfined'}`,
    `lxc.console.logfile = ${c.consoleLog}`,
    'lxc.console.size = 1MB',
    'lxc.console.rotate = 1',
    `lxc.log.file = ${c.lxcLog}`,
    'lxc.log.level = ERROR',
  ];

  const cg = host.cgroup === 'unified' ? 'lxc.cgroup2' : 'lxc.cgroup';
  lines.push(
    `${cg}.devices.deny = a`,
    ...[...DEVICES, ...DEVICES_TTY].map((d) => `${cg}.devices.allow = ${d}`),
  );
  const memory = c.memoryMiB * 1024 * 1024;
  const quota = Math.round(c.cpus * CPU_PERIOD_US);
  if (host.cgroup === 'unified') {
    lines.push(`lxc.cgroup2.memory.max = ${memory}`, `lxc.cgroup2.cpu.max = ${quota} ${CPU_PERIOD_US}`);
  } else {
    lines.push(
      `lxc.cgroup.memory.limit_in_bytes = ${memory}`,
      `lxc.cgroup.cpu.cfs_period_us = ${CPU_PERIOD_US}`,
      `lxc.cgroup.cpu.cfs_quota_us = ${quota}`,
    );
  }

  lines.push(
    'lxc.net.0.type = veth',
    `lxc.net.0.link = ${c.network.bridge}`,
    `lxc.net.0.veth.pair = ${vethName(path.dirname(c.rootfs))}`,
    `lxc.net.0.hwaddr = ${macAddress(c.name)}`,
    'lxc.net.0.name = eth0',
    'lxc.net.0.flags = up',
    `lxc.net.0.ipv4.address = ${c.network.address}/${c.network.subnet.prefix}`,
    `lxc.net.0.ipv4.gateway = ${c.network.subnet.gateway}`,
  );

  for (const m of c.mounts) {
    const opts = ['bind', m.file ? 'create=file' : 'create=dir', ...(m.readOnly ? ['ro'] : [])].join(',');
    lines.push(`lxc.mount.entry = ${m.source} ${m.target.replace(/^\/+/, '')} none ${opts} 0 0`);
  }

  const env = { PATH: DEFAULT_PATH, ...c.env };
  for (const [k, v] of Object.entries(env)) lines.push(`lxc.environment = ${k}=${v}`);
  return `${lines.join('\n')}\n`;
}

/** LXC's own deny list (Debian's /usr/share/lxc/config/common.seccomp), kept with the container. */
export const SECCOMP_PROFILE = `2
denylist
reject_force_umount
[all]
kexec_load errno 1
open_by_handle_at errno 1
init_module errno 1
finit_module errno 1
delete_module errno 1
`;

// --- the console log --------------------------------------------------------------------

/** The console is a terminal: lines end in CRLF. Gives the last `count` lines. */
export function tailConsoleLog(text: string, count: number): string[] {
  const lines = text.replace(/\r/g, '').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return count > 0 ? lines.slice(-count) : [];
}
