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
import { Conflict, HearthError, NotFound } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import {
  ContainerNotRunning,
  ContainerStartFailed,
  ForeignContainer,
  isHearthContainer,
  type Lxc,
  renderResolvConf,
  validateContainerSpec,
} from './containers.ts';
import { assertReachable, removeLeftoverVeth, removeStaleCgroups, reserveIds } from './lxc-host.ts';
import {
  cgroupLayout,
  type HostFacts,
  LXC_LS_COLUMNS,
  type LxcState,
  parseLxcInfo,
  parseLxcLs,
  parseMountInfo,
  parseSubnet,
  renderLxcConfig,
  SECCOMP_PROFILE,
  tailConsoleLog,
  vethName,
} from './lxc-parse.ts';
import type { IdRange, Mounts } from './mounts.ts';
import { CommandFailed, run } from './run.ts';

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
  /** Where other containers on the box live (listed as foreign); default /var/lib/lxc. */
  otherLxcPaths?: string[];
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
      resolvConf: path.join(dir, 'resolv.conf'),
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

  const stopped = (s: LxcState) => s === 'STOPPED';

  const self: Lxc = {
    async create(spec) {
      validateContainerSpec(spec);
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
      await reserveIds(subuid, spec.idmap, log);
      await reserveIds(subgid, spec.idmap, log);
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
      if (spec.dns) await fs.writeFile(f.resolvConf, renderResolvConf(spec.dns), { mode: 0o644 });
      // Last: a directory with a config is a container (lxc-ls), so a half-made one is not.
      const config = renderLxcConfig(
        {
          name: spec.name,
          rootfs: f.rootfs,
          idmap: spec.idmap,
          mounts: [
            { source: spec.hearthBinary, target: '/usr/lib/hearth/hearth', readOnly: true, file: true },
            ...(spec.dns
              ? [{ source: f.resolvConf, target: '/etc/resolv.conf', readOnly: true, file: true }]
              : []),
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
      try {
        await mountRootfs(name, s);
      } catch (e) {
        // An image gone or broken: the same failure to start as any other, and nothing left mounted.
        await mounts.unmountAll(f.dir).catch(() => {});
        const reason = e instanceof CommandFailed ? e.stderr.trim().split('\n')[0] : undefined;
        throw new ContainerStartFailed(
          name,
          [`its root image ${s.image} cannot be mounted: ${reason || (e as Error).message}`],
          f.lxcLog,
          e,
        );
      }
      await removeLeftoverVeth(vethName(f.dir), log);
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

    async freeze(name) {
      await mustExist(name);
      await lxc('lxc-freeze', name, []);
    },
    async thaw(name) {
      await mustExist(name);
      if ((await state(name)) === 'FROZEN') await lxc('lxc-unfreeze', name, []);
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
      await removeStaleCgroups(name, mountinfo);
      log.info('destroyed', { name, ms: Math.round(performance.now() - started) });
    },

    async info(name) {
      await mustExist(name);
      const i = parseLxcInfo((await lxc('lxc-info', name, ['-H'])).stdout);
      let memoryLimitBytes: number | null = null;
      if (i.state === 'RUNNING') {
        const key = (await hostFacts()).cgroup === 'unified' ? 'memory.max' : 'memory.limit_in_bytes';
        // A container that stops meanwhile has no cgroup to read: no limit to tell, not an error.
        const value = await lxc('lxc-cgroup', name, [key]).then(
          (r) => r.stdout.trim(),
          () => '',
        );
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

    async list(o = {}) {
      const listIn = async (dir: string) => {
        if (!(await fs.stat(dir).catch(() => undefined))) return [];
        const { stdout } = await run(['lxc-ls', '-P', dir, '-f', '-F', LXC_LS_COLUMNS], {
          log,
          debianPackage: 'lxc',
        });
        return parseLxcLs(stdout).map((c) => ({
          ...c,
          foreign: dir !== lxcPath || !isHearthContainer(c.name),
          lxcPath: dir,
        }));
      };
      const others = o.elsewhere ? (options.otherLxcPaths ?? ['/var/lib/lxc']) : [];
      return (await Promise.all([lxcPath, ...others].map(listIn))).flat();
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
