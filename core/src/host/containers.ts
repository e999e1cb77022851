/*
 * Hearth's containers as the domain sees them: their names, their host id ranges, what
 * one is made of (ContainerSpec), and the Lxc interface that host/lxc.ts implements on the
 * real LXC and host/fake-lxc.ts in memory. No machine access here.
 */
import { HearthError, InvalidParams } from '../errors.ts';
import { assertContainerAddress, type LxcInfo, type LxcListEntry, parseSubnet } from './lxc-parse.ts';
import type { IdRange } from './mounts.ts';

export const CONTAINER_PREFIX = 'hearth-';
const NAME = /^hearth-[a-z0-9](?:[a-z0-9-]{0,54}[a-z0-9])?$/;

export const containerName = (packageId: string) => `${CONTAINER_PREFIX}${packageId}`;
/** Containers not named hearth-<id> are someone else's: listed as foreign, never touched. */
export const isHearthContainer = (name: string) => NAME.test(name);

export const IDS_PER_CONTAINER = 65536;
const FIRST_HOST_ID = 1_000_000;
/** Host uids stay below 2^31: some tools still take them as signed. */
export const MAX_SLOT = Math.floor((2 ** 31 - 1 - FIRST_HOST_ID) / IDS_PER_CONTAINER) - 1;

/** The host id range of the container in `slot` (the domain gives each package one). */
export function idRangeForSlot(slot: number): IdRange {
  if (!Number.isInteger(slot) || slot < 0 || slot > MAX_SLOT) {
    throw new InvalidParams(`id slot ${slot} is outside 0..${MAX_SLOT}`);
  }
  return { hostId: FIRST_HOST_ID + slot * IDS_PER_CONTAINER, count: IDS_PER_CONTAINER };
}

export interface Volume {
  /** A host directory; created and chowned to the container's root if missing. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly?: boolean;
}

export interface ContainerSpec {
  /** hearth-<packageId> */
  name: string;
  /** The read-only root image (squashfs, files owned by 0). */
  image: string;
  /** The container's own directory for its writable layer (upper/, work/). */
  dataDir: string;
  idmap: IdRange;
  volumes: Volume[];
  /** Bind-mounted read-only at /usr/lib/hearth/hearth. */
  hearthBinary: string;
  /** The init, run as PID 1; in production `/usr/lib/hearth/hearth container-runtime`. */
  init: string[];
  env?: Record<string, string>;
  memoryMiB: number;
  /** CPUs the container may use, fractions allowed (1.5 = one and a half cores). */
  cpus: number;
  /**
   * What lxc-stop sends the init first; SIGTERM by default. Service containers run LXC's
   * init, which hands SIGINT to its child (the runtime, which stops the daemons in order)
   * but answers SIGTERM by signalling every process at once.
   */
  haltSignal?: 'SIGTERM' | 'SIGINT';
  network: { bridge: string; subnet: string; address: string };
  /**
   * The container's /etc/resolv.conf (bind-mounted read-only over the image's): the box's
   * DNS server on the bridge, and the search domain that makes `<id>` mean `<id>.internal`.
   */
  dns?: { nameserver: string; search: string };
}

/** What lxc-info says of a container, and its memory limit from the cgroup. */
export interface ContainerInfo extends Omit<LxcInfo, 'links'> {
  /** null when stopped or unlimited. */
  memoryLimitBytes: number | null;
}

export interface ContainerListEntry extends LxcListEntry {
  /** Not ours: named otherwise than hearth-*, or in another lxcpath. Never touched. */
  foreign: boolean;
  /** The lxcpath it lives in. */
  lxcPath: string;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Lxc {
  create(spec: ContainerSpec): Promise<void>;
  /** Mounts the rootfs and starts the init in the background; running already is fine. */
  start(name: string): Promise<void>;
  /** SIGTERM to the init, SIGKILL after `timeoutS`; then unmounts. Stopped already is fine. */
  stop(name: string, options?: { timeoutS?: number }): Promise<void>;
  /**
   * Freezes every process of a running container (its cgroup), so its files hold still
   * while a backup reads them; thaw lets it go on. Thawing one not frozen is fine.
   */
  freeze(name: string): Promise<void>;
  thaw(name: string): Promise<void>;
  /** Kills, unmounts and removes everything create() made except the volumes. Gone is fine. */
  destroy(name: string): Promise<void>;
  info(name: string): Promise<ContainerInfo>;
  /**
   * The containers in Hearth's lxcpath; with `elsewhere`, also those in the box's other
   * lxcpaths (/var/lib/lxc: someone's own), all foreign.
   */
  list(options?: { elsewhere?: boolean }): Promise<ContainerListEntry[]>;
  exec(
    name: string,
    argv: string[],
    options?: { env?: Record<string, string>; timeoutMs?: number },
  ): Promise<ExecResult>;
  /** The last `lines` lines the init wrote to its console. */
  logs(name: string, options?: { lines?: number }): Promise<string[]>;
  /** The file the init's console is written to (for following it). */
  consoleLogFile(name: string): string;
}

export class ForeignContainer extends HearthError {
  constructor(name: string) {
    super('foreign_container', `'${name}' is not a Hearth container (those are named hearth-<package>)`, {
      hint: 'Hearth leaves containers it did not create alone; manage this one with the lxc-* tools',
    });
  }
}

export class ContainerNotRunning extends HearthError {
  constructor(name: string) {
    super('container_not_running', `container '${name}' is not running`, { hint: 'start it first' });
  }
}

export class ContainerStartFailed extends HearthError {
  constructor(name: string, errors: string[], logFile: string, cause: unknown) {
    // LXC logs the cause first and then how each caller gave up.
    const first = errors.slice(0, 3).join(' | ');
    super('container_start_failed', `container '${name}' did not start${first ? `: ${first}` : ''}`, {
      hint: `LXC's log is ${logFile}; the bridge must exist (hearth0 is made by the daemon)`,
      cause,
      data: { name },
    });
  }
}

export class IdRangeTaken extends HearthError {
  constructor(file: string, range: IdRange, owner: string) {
    super(
      'id_range_taken',
      `host ids ${range.hostId}-${range.hostId + range.count - 1} are already given to '${owner}' in ${file}`,
      { hint: `give the container another id slot, or remove ${owner}'s line from ${file}` },
    );
  }
}

export class PathNotReachable extends HearthError {
  constructor(dir: string, what: string) {
    super(
      'path_not_reachable',
      `${dir} is closed to the container's root, which must reach ${what} through it`,
      {
        hint: `chmod o+x ${dir} (LXC looks up the lxcpath and the mount sources as the container's unprivileged root)`,
        data: { path: dir },
      },
    );
  }
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLAIN_PATH = /^\/[^\s\\,:]*$/;

/** Refuses a spec LXC's config could not say safely (one value per line, no separators in paths). */
export function validateContainerSpec(spec: ContainerSpec): void {
  if (!isHearthContainer(spec.name)) throw new ForeignContainer(spec.name);
  for (const [what, p] of [
    ['image', spec.image],
    ['dataDir', spec.dataDir],
    ['hearthBinary', spec.hearthBinary],
    ...spec.volumes.flatMap((v) => [
      ['volume source', v.source],
      ['volume target', v.target],
    ]),
  ] as const) {
    if (!PLAIN_PATH.test(p) || p.split('/').includes('..')) {
      throw new InvalidParams(
        `${what} '${p}' must be an absolute path without spaces, commas, colons or '..'`,
      );
    }
  }
  if (spec.init.length === 0 || spec.init.some((a) => a.includes('\0'))) {
    throw new InvalidParams('init must be a non-empty argv without NUL bytes');
  }
  for (const [k, v] of Object.entries(spec.env ?? {})) {
    if (!ENV_KEY.test(k)) throw new InvalidParams(`environment variable name '${k}' is not valid`);
    // One LXC config line each; LXC trims the ends of values.
    if (/[\n\0]/.test(v) || v.trim() !== v) {
      throw new InvalidParams(`environment variable ${k} has a newline or leading/trailing whitespace`);
    }
  }
  if (!(spec.memoryMiB >= 16) || !Number.isInteger(spec.memoryMiB)) {
    throw new InvalidParams('memoryMiB must be a whole number, at least 16');
  }
  if (!(spec.cpus >= 0.01 && spec.cpus <= 1024))
    throw new InvalidParams('cpus must be between 0.01 and 1024');
  const r = spec.idmap;
  if (!Number.isInteger(r.hostId) || r.hostId < 100_000 || !Number.isInteger(r.count) || r.count < 65536) {
    throw new InvalidParams('idmap must map at least 65536 ids to host ids from 100000 up');
  }
  assertContainerAddress(parseSubnet(spec.network.subnet), spec.network.address);
  if (spec.dns) {
    // One resolv.conf line each: nothing that could start a line of its own.
    if (
      !/^\d{1,3}(\.\d{1,3}){3}$/.test(spec.dns.nameserver) ||
      !/^[a-z0-9.-]{1,253}$/.test(spec.dns.search)
    ) {
      throw new InvalidParams('dns must be an IPv4 nameserver and a domain of letters, digits, - and .');
    }
  }
}

/** The resolv.conf a container with `dns` gets. */
export const renderResolvConf = (dns: { nameserver: string; search: string }) =>
  `# Written by Hearth: the box's DNS server answers <package>.${dns.search} and forwards the rest.\nnameserver ${dns.nameserver}\nsearch ${dns.search}\n`;
