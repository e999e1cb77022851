/*
 * LXC on the host: how Hearth runs a service container, and what it took on a machine
 * without systemd as PID 1 (Debian 12, LXC 5.0.2, kernel 6.18; found by trying).
 *
 * Packages: lxc (lxc-start, lxc-stop, lxc-info, lxc-ls, lxc-attach, lxc-cgroup),
 *   squashfs-tools (mksquashfs, to build images), nftables (NAT), uidmap (see the idmap
 *   note), iproute2, mount, perl-base (Essential, for the idmapped mount). lxc drags in
 *   dnsmasq-base and recommends lxcfs, apparmor, lxc-templates: installed, unused —
 *   addresses are static (no DHCP), our config includes none of Debian's common.conf.d,
 *   and the lxc-net service (lxcbr0) is not ours; the OS image should disable it.
 *
 * One container = one directory <lxcPath>/<name>/ that we write ourselves (config,
 *   seccomp, hearth.json, logs, mount points) and `lxc-start -P <lxcPath> -n <name>`.
 *   Not `lxc-create -t none`: there is no template to run and the rootfs is our overlay,
 *   so it adds nothing, and its partner lxc-destroy would `rm -rf` the "dir" rootfs,
 *   straight through a mounted overlay and the volumes. hearth.json keeps what start()
 *   needs that the LXC config cannot say (the image, the data dir, the init argv).
 *
 * Root filesystem: the image (squashfs, files owned by 0) is loop-mounted read-only,
 *   cloned as an idmapped mount (ids shifted by the container's range) at `lower`, the
 *   plain mount is dropped again, and an overlay with upper/work in the caller's data dir
 *   goes on `rootfs`; the config says `lxc.rootfs.path = dir:<rootfs>`. Mounts are made
 *   by start() and removed by stop()/destroy(), so a stopped container holds no mount and
 *   a reboot leaves nothing stale. Copy-ups land in upper owned by the shifted ids.
 *   What did not work:
 *   - `lxc.rootfs.options = idmap=container` with the overlay: LXC 5.0 refuses ("Idmapped
 *     rootfs currently only supports the dir storage driver") for `overlay:` rootfs, and
 *     an overlay mount cannot itself be idmapped (mount_setattr: EINVAL, kernel 6.18).
 *   - So the idmap goes on the lower layer: squashfs supports idmapped mounts on this
 *     kernel, overlayfs accepts idmapped layers (≥ 5.19). util-linux can make them from
 *     2.39 (`mount -o X-mount.idmap=`); Debian 12 has 2.38, so mounts.ts does the three
 *     system calls from perl. Shifting the image instead (unsquashfs, chown, mksquashfs)
 *     would cost a copy per id range and break the image's signature.
 *
 * Unprivileged: `lxc.idmap = u|g 0 <hostId> 65536`. Each container gets its own range
 *   (idRangeForSlot: 1000000 + slot × 65536, slots chosen by the domain): a process
 *   that escapes one container as its root is a host uid that owns nothing of any other
 *   container — not its volumes, upper dir or processes — which a shared range would not
 *   give. Idmapped lowers make this free: one image, any number of ranges. 1000000 is
 *   above the ranges useradd hands out to the first ~14 users (from 100000 up).
 *   LXC runs newuidmap/newgidmap whenever uidmap is installed, even for root, and those
 *   insist the range is root's in /etc/subuid and /etc/subgid ("uid range [0-65536) ->
 *   [100000-165536) not allowed"): create() adds `root:<hostId>:65536` when missing and
 *   refuses a range listed for someone else. Volumes are plain bind mounts of host dirs
 *   chowned to <hostId> when create() makes them. The host's /dev/null etc. and the
 *   `hearth` binary appear as nobody (65534) inside; readable, so that is fine.
 *   LXC checks the lxcpath and makes the bind mounts as the container's root, inside its
 *   user namespace: a 0700 directory on the way to the lxcpath or to a volume's source
 *   makes lxc-start fail with only "An error occurred in another process", so create()
 *   checks those paths first (PathNotReachable). The data dir may be 0700: the overlay
 *   works with the rights of whoever mounted it (root).
 *
 * cgroups: this machine is hybrid — every controller on a v1 hierarchy, cgroup2 at
 *   /sys/fs/cgroup/unified with no controllers — and PID 1 is not systemd, so nothing
 *   delegates. LXC places containers under the cgroup of PID 1 (lxc.payload.<name>,
 *   monitor in lxc.monitor.<name>) and, as root, needs nothing set up; the limits must
 *   use the keys of the layout actually mounted: v1 `lxc.cgroup.memory.limit_in_bytes`,
 *   `lxc.cgroup.cpu.cfs_quota_us/cfs_period_us`, v2 `lxc.cgroup2.memory.max`,
 *   `lxc.cgroup2.cpu.max` (renderLxcConfig picks by cgroupLayout(mountinfo)). The wrong
 *   family is not an error: LXC logs "Ignoring cgroup2 limits on legacy cgroup system" as
 *   a warning and starts the container unlimited — the integration test reads the limit
 *   back from the cgroup for that reason. A failed start can leave empty
 *   lxc.monitor.<name>[-N] cgroups behind (the monitor cannot remove the one it sits
 *   in); destroy() removes them. Under systemd with pure v2 (the Hearth image)
 *   hearth.service will need Delegate=yes; that path is not tested here.
 *
 * AppArmor: not in this kernel → `lxc.apparmor.profile = unconfined`; where it is
 *   enabled, `generated` (needs apparmor_parser).
 *
 * Console: with lxc.pty.max = 0 LXC mounts no devpts in the container, has no console,
 *   and a daemonized init's stdio is /dev/null — lxc.console.logfile stays empty. With
 *   ptys, init's stdio is the console and the log gets every line (CRLF: it is a tty);
 *   lxc.console.size/rotate keep it to 1 MiB plus one rotated file. The init's argv goes
 *   after `lxc-start --` rather than in lxc.init.cmd, which LXC splits at spaces.
 *
 * Stop: the init is PID 1 and ignores any signal it has no handler for; LXC's default
 *   halt signal is SIGPWR, which nothing handles, so every stop waited the whole timeout.
 *   `lxc.signal.halt = SIGTERM`; lxc-stop -t N sends it, waits N s, then SIGKILL.
 *
 * Network: veth on the bridge with a fixed host-side name (vh + hash) and MAC, so leftovers
 *   are findable and the host's ARP entry survives restarts; static lxc.net.0.ipv4.address
 *   and gateway (the bridge's address). The bridge and NAT are bridge.ts.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Conflict, HearthError, InvalidParams, NotFound } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import {
  assertContainerAddress,
  cgroupLayout,
  cgroupMountPoints,
  type HostFacts,
  LXC_LS_COLUMNS,
  type LxcInfo,
  type LxcListEntry,
  type LxcState,
  parseLxcInfo,
  parseLxcLs,
  parseMountInfo,
  parseSubnet,
  parseSubordinateIds,
  planIdReservation,
  renderLxcConfig,
  SECCOMP_PROFILE,
  tailConsoleLog,
  vethName,
} from './lxc-parse.ts';
import type { IdRange, Mounts } from './mounts.ts';
import { CommandFailed, run } from './run.ts';

export { vethName };

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
}

/** What lxc-info says of a container, and its memory limit from the cgroup. */
export interface ContainerInfo extends Omit<LxcInfo, 'links'> {
  /** null when stopped or unlimited. */
  memoryLimitBytes: number | null;
}

export interface ContainerListEntry extends LxcListEntry {
  /** Not named hearth-*: not ours. */
  foreign: boolean;
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
  /** Kills, unmounts and removes everything create() made except the volumes. Gone is fine. */
  destroy(name: string): Promise<void>;
  info(name: string): Promise<ContainerInfo>;
  list(): Promise<ContainerListEntry[]>;
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

/** The first directory on the way to `dir` (itself included) that others may not search. */
async function closedDirectory(dir: string): Promise<string | undefined> {
  let closed: string | undefined;
  for (let d = dir; ; d = path.dirname(d)) {
    const st = await fs.stat(d).catch(() => undefined); // not made yet
    if (st && (st.mode & 0o001) === 0) closed = d;
    if (d === path.dirname(d)) return closed;
  }
}

/**
 * LXC checks, as the container's root, that it can reach the lxcpath, and makes the bind
 * mounts inside the container's user namespace: their sources' parents must be searchable.
 * The data dir need not be: the overlay works with the rights of whoever mounted it.
 */
async function assertReachable(dir: string, spec: ContainerSpec): Promise<void> {
  for (const [d, what] of [
    [dir, 'its lxcpath'] as const,
    ...spec.volumes.map((v) => [path.dirname(v.source), `the volume ${v.target}`] as const),
    [path.dirname(spec.hearthBinary), 'the hearth binary'] as const,
  ]) {
    const closed = await closedDirectory(d);
    if (closed) throw new PathNotReachable(closed, what);
  }
}

interface Sidecar {
  version: 1;
  image: string;
  dataDir: string;
  idmap: IdRange;
  init: string[];
}

export interface HostLxcOptions {
  /** Where container directories live (config, logs, mount points); traversable by all. */
  lxcPath: string;
  mounts: Mounts;
  log: Logger;
  subuid?: string;
  subgid?: string;
  mountinfo?: string;
  apparmor?: string;
}

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PLAIN_PATH = /^\/[^\s\\,:]*$/;

function validate(spec: ContainerSpec): void {
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
}

export function hostLxc(options: HostLxcOptions): Lxc {
  const { lxcPath, mounts, log } = options;
  const subuid = options.subuid ?? '/etc/subuid';
  const subgid = options.subgid ?? '/etc/subgid';
  const mountinfo = options.mountinfo ?? '/proc/self/mountinfo';
  const apparmor = options.apparmor ?? '/sys/module/apparmor/parameters/enabled';

  const dirOf = (name: string) => path.join(lxcPath, name);
  const files = (name: string) => {
    const dir = dirOf(name);
    return {
      dir,
      config: path.join(dir, 'config'),
      sidecar: path.join(dir, 'hearth.json'),
      seccomp: path.join(dir, 'seccomp'),
      consoleLog: path.join(dir, 'console.log'),
      lxcLog: path.join(dir, 'lxc.log'),
      image: path.join(dir, 'image'),
      lower: path.join(dir, 'lower'),
      rootfs: path.join(dir, 'rootfs'),
    };
  };
  const lxc = (tool: string, name: string, args: string[], timeoutMs?: number) =>
    run([tool, '-P', lxcPath, '-n', name, ...args], {
      log,
      debianPackage: 'lxc',
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });

  let facts: Promise<HostFacts> | undefined;
  const hostFacts = () => {
    facts ??= (async () => ({
      cgroup: cgroupLayout(parseMountInfo(await fs.readFile(mountinfo, 'utf8'))),
      apparmor: (await fs.readFile(apparmor, 'utf8').catch(() => 'N')).trim() === 'Y',
    }))();
    return facts;
  };

  const ours = (name: string) => {
    if (!isHearthContainer(name)) throw new ForeignContainer(name);
  };
  const exists = (name: string) =>
    fs.access(files(name).config).then(
      () => true,
      () => false,
    );
  const mustExist = async (name: string) => {
    ours(name);
    if (!(await exists(name))) throw new NotFound('container', name);
  };
  const readSidecar = async (name: string): Promise<Sidecar | undefined> => {
    const text = await fs.readFile(files(name).sidecar, 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as Sidecar);
  };
  const state = async (name: string) => parseLxcInfo((await lxc('lxc-info', name, ['-H'])).stdout).state;
  /** lxc-info asks the container's monitor, so a running container is found even without its config. */
  const stateIfAny = (name: string) =>
    state(name).catch((e) => {
      if (e instanceof CommandFailed && /doesn't exist/.test(e.stderr)) return undefined;
      throw e;
    });

  const reserveIds = async (file: string, range: IdRange) => {
    const text = await fs.readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return '';
      throw e;
    });
    const plan = planIdReservation(parseSubordinateIds(text), 'root', {
      start: range.hostId,
      count: range.count,
    });
    if (plan.action === 'conflict') throw new IdRangeTaken(file, range, plan.with.owner);
    if (plan.action === 'append') {
      await fs.appendFile(file, `${text === '' || text.endsWith('\n') ? '' : '\n'}${plan.line}\n`);
      log.info('reserved host ids for root', { file, line: plan.line });
    }
  };

  const mountRootfs = async (name: string, s: Sidecar) => {
    const f = files(name);
    const lower = (await mounts.listMounts(f.lower)).some((m) => m.mountPoint === f.lower);
    if (!lower) {
      await mounts.mountSquashfs(s.image, f.image);
      await mounts.mountIdmapped(f.image, f.lower, s.idmap);
      // The idmapped clone keeps the filesystem (and its loop device) alive on its own.
      await mounts.unmount(f.image);
    }
    await mounts.mountOverlay(
      { lower: f.lower, upper: path.join(s.dataDir, 'upper'), work: path.join(s.dataDir, 'work') },
      f.rootfs,
    );
  };

  /**
   * Empty cgroups LXC left behind (lxc.payload.<name>, lxc.monitor.<name>[-N]) on every
   * hierarchy; rmdir only succeeds on cgroups without processes, so a live one survives.
   */
  const removeStaleCgroups = async (name: string) => {
    const pattern = new RegExp(`^lxc\\.(?:payload|monitor)\\.${name.replace(/[.-]/g, '\\$&')}(?:-\\d+)?$`);
    const rmTree = async (dir: string): Promise<void> => {
      const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) if (e.isDirectory()) await rmTree(path.join(dir, e.name));
      await fs.rmdir(dir).catch(() => {});
    };
    const roots = cgroupMountPoints(parseMountInfo(await fs.readFile(mountinfo, 'utf8')));
    for (const root of roots) {
      const entries = await fs.readdir(root).catch(() => [] as string[]);
      for (const e of entries.filter((n) => pattern.test(n))) await rmTree(path.join(root, e));
    }
  };

  const stopped = (s: LxcState) => s === 'STOPPED';

  /**
   * A stopped container has no host-side veth; one with its name is left from a start cut
   * short (the daemon killed meanwhile) and would make every later start fail.
   */
  const removeLeftoverVeth = async (name: string) => {
    const veth = vethName(files(name).dir);
    try {
      await run(['ip', 'link', 'delete', veth], { log, debianPackage: 'iproute2' });
      log.warn('removed a leftover veth', { name, veth });
    } catch (e) {
      if (!(e instanceof CommandFailed && /Cannot find device|does not exist/.test(e.stderr))) throw e;
    }
  };

  const self: Lxc = {
    async create(spec) {
      validate(spec);
      const f = files(spec.name);
      if (await exists(spec.name)) {
        throw new Conflict(`container '${spec.name}' exists already`, { hint: 'destroy it first' });
      }
      for (const [what, file] of [
        ['image', spec.image],
        ['hearth binary', spec.hearthBinary],
      ] as const) {
        await fs.access(file).catch((e) => {
          throw new NotFound(what, file, { cause: e });
        });
      }
      await assertReachable(f.dir, spec);
      const started = performance.now();
      await reserveIds(subuid, spec.idmap);
      await reserveIds(subgid, spec.idmap);
      const host = await hostFacts();
      const subnet = parseSubnet(spec.network.subnet);

      await fs.mkdir(f.dir, { recursive: true, mode: 0o755 });
      await fs.mkdir(spec.dataDir, { recursive: true, mode: 0o700 });
      const upper = path.join(spec.dataDir, 'upper');
      await fs.mkdir(upper, { recursive: true });
      // The overlay's root directory is upper's: owned by the container's root.
      await fs.chown(upper, spec.idmap.hostId, spec.idmap.hostId);
      await fs.mkdir(path.join(spec.dataDir, 'work'), { recursive: true });
      for (const v of spec.volumes) {
        const made = await fs.mkdir(v.source, { recursive: true, mode: 0o755 });
        if (made !== undefined) await fs.chown(v.source, spec.idmap.hostId, spec.idmap.hostId);
      }
      // Again, now that they exist: a umask may have closed what mkdir made.
      await assertReachable(f.dir, spec);

      const sidecar: Sidecar = {
        version: 1,
        image: spec.image,
        dataDir: spec.dataDir,
        idmap: spec.idmap,
        init: spec.init,
      };
      await fs.writeFile(f.seccomp, SECCOMP_PROFILE);
      await fs.writeFile(f.sidecar, `${JSON.stringify(sidecar, null, 2)}\n`);
      // Last: a directory with a config is a container (lxc-ls), so a half-made one is not.
      const config = renderLxcConfig(
        {
          name: spec.name,
          rootfs: f.rootfs,
          idmap: spec.idmap,
          mounts: [
            { source: spec.hearthBinary, target: '/usr/lib/hearth/hearth', readOnly: true, file: true },
            ...spec.volumes.map((v) => ({
              source: v.source,
              target: v.target,
              readOnly: v.readOnly ?? false,
              file: false,
            })),
          ],
          env: spec.env ?? {},
          memoryMiB: spec.memoryMiB,
          ...(spec.haltSignal ? { haltSignal: spec.haltSignal } : {}),
          cpus: spec.cpus,
          network: { bridge: spec.network.bridge, address: spec.network.address, subnet },
          consoleLog: f.consoleLog,
          lxcLog: f.lxcLog,
          seccompProfile: f.seccomp,
        },
        host,
      );
      await fs.writeFile(f.config, config);
      log.info('created', { name: spec.name, ms: Math.round(performance.now() - started) });
    },

    async start(name) {
      await mustExist(name);
      if (!stopped(await state(name))) return;
      const s = await readSidecar(name);
      if (!s)
        throw new NotFound('container', name, { hint: `${files(name).sidecar} is missing; recreate it` });
      const f = files(name);
      const started = performance.now();
      await mountRootfs(name, s);
      await removeLeftoverVeth(name);
      await fs.writeFile(f.lxcLog, '');
      try {
        // The log named on the command line too: LXC 6 under AppArmor left the config's
        // lxc.log.file empty when the container's init could not be run.
        await lxc('lxc-start', name, ['--logfile', f.lxcLog, '--logpriority', 'ERROR', '--', ...s.init]);
      } catch (e) {
        const text = await fs.readFile(f.lxcLog, 'utf8').catch(() => '');
        let errors = text
          .split('\n')
          .filter((l) => / ERROR /.test(l))
          // "lxc-start <name> <time> ERROR <module> - <file>:<function>:<line> - <message>"
          .map((l) => l.replace(/^.*? - \S+:\d+ - /, ''));
        // Failures before the container's log is open are only on lxc-start's stderr.
        if (errors.length === 0 && e instanceof CommandFailed) {
          errors = e.stderr
            .split('\n')
            .filter((l) => l.trim() !== '')
            // "lxc-start: <name>: <file>: <function>: <line> <message>"
            .map((l) => l.replace(/^lxc-start: [^:]+: [^:]+: [^:]+: \d+ /, ''));
        }
        await mounts.unmountAll(f.dir).catch(() => {});
        throw new ContainerStartFailed(name, errors, f.lxcLog, e);
      }
      log.info('started', { name, ms: Math.round(performance.now() - started) });
    },

    async stop(name, o = {}) {
      await mustExist(name);
      const timeoutS = o.timeoutS ?? 10;
      const started = performance.now();
      if (!stopped(await state(name))) {
        try {
          await lxc('lxc-stop', name, timeoutS > 0 ? ['-t', String(Math.ceil(timeoutS))] : ['-k']);
        } catch (e) {
          // 2: it stopped by itself meanwhile.
          if (!(e instanceof CommandFailed && e.exitCode === 2)) throw e;
        }
      }
      await mounts.unmountAll(files(name).dir);
      log.info('stopped', { name, ms: Math.round(performance.now() - started) });
    },

    async destroy(name) {
      ours(name);
      const f = files(name);
      const started = performance.now();
      const now = await stateIfAny(name);
      if (now !== undefined && !stopped(now)) {
        await lxc('lxc-stop', name, ['-k']).catch((e) => {
          if (!(e instanceof CommandFailed && e.exitCode === 2)) throw e;
        });
      }
      const s = await readSidecar(name);
      await mounts.unmountAll(f.dir);
      const left = await mounts.listMounts(f.dir);
      if (left.length > 0) {
        throw new HearthError('container_busy', `${left[0]!.mountPoint} is still mounted`, {
          hint: `unmount it (umount ${left[0]!.mountPoint}) and destroy again`,
        });
      }
      await fs.rm(f.dir, { recursive: true, force: true });
      if (s) {
        await fs.rm(path.join(s.dataDir, 'upper'), { recursive: true, force: true });
        await fs.rm(path.join(s.dataDir, 'work'), { recursive: true, force: true });
        // The caller's directory may hold the volumes too: only removed when empty.
        await fs.rmdir(s.dataDir).catch(() => {});
      }
      await removeStaleCgroups(name);
      log.info('destroyed', { name, ms: Math.round(performance.now() - started) });
    },

    async info(name) {
      await mustExist(name);
      const i = parseLxcInfo((await lxc('lxc-info', name, ['-H'])).stdout);
      let memoryLimitBytes: number | null = null;
      if (i.state === 'RUNNING') {
        const key = (await hostFacts()).cgroup === 'unified' ? 'memory.max' : 'memory.limit_in_bytes';
        const value = (await lxc('lxc-cgroup', name, [key])).stdout.trim();
        memoryLimitBytes = /^\d+$/.test(value) ? Number(value) : null;
      }
      return {
        name: i.name,
        state: i.state,
        pid: i.pid,
        ips: i.ips,
        cpuNs: i.cpuNs,
        memoryBytes: i.memoryBytes,
        memoryLimitBytes,
      };
    },

    async list() {
      if (!(await fs.stat(lxcPath).catch(() => undefined))) return [];
      const { stdout } = await run(['lxc-ls', '-P', lxcPath, '-f', '-F', LXC_LS_COLUMNS], {
        log,
        debianPackage: 'lxc',
      });
      return parseLxcLs(stdout).map((c) => ({ ...c, foreign: !isHearthContainer(c.name) }));
    },

    async exec(name, argv, o = {}) {
      await mustExist(name);
      if ((await state(name)) !== 'RUNNING') throw new ContainerNotRunning(name);
      const env = Object.entries(o.env ?? {}).flatMap(([k, v]) => ['-v', `${k}=${v}`]);
      // --clear-env: by default lxc-attach hands the daemon's own environment to the container.
      const args = ['--clear-env', ...env, '--', ...argv];
      try {
        const { stdout, stderr } = await lxc('lxc-attach', name, args, o.timeoutMs);
        return { exitCode: 0, stdout, stderr };
      } catch (e) {
        if (e instanceof CommandFailed && typeof e.exitCode === 'number') {
          return { exitCode: e.exitCode, stdout: e.stdout, stderr: e.stderr };
        }
        throw e;
      }
    },

    consoleLogFile: (name) => files(name).consoleLog,

    async logs(name, o = {}) {
      await mustExist(name);
      const f = files(name);
      // lxc.console.rotate moves a full log to .1: read both so a rotation loses no tail.
      const read = (p: string) => fs.readFile(p, 'utf8').catch(() => '');
      return tailConsoleLog((await read(`${f.consoleLog}.1`)) + (await read(f.consoleLog)), o.lines ?? 100);
    },
  };
  return self;
}
