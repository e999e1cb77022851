import fs from 'node:fs/promises';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import { type MountInfo, mountsUnder, parseMountInfo } from './lxc-parse.ts';
import { CommandFailed, run } from './run.ts';

/** Host ids as a container sees them: container id 0 is host id `hostId`, for `count` ids. */
export interface IdRange {
  hostId: number;
  count: number;
}

export interface OverlayLayers {
  lower: string;
  upper: string;
  work: string;
}

/**
 * Mounts on the host, each idempotent: asking for what is already mounted there is fine,
 * something else mounted there is a MountConflict.
 */
export interface Mounts {
  /** A squashfs image file, read-only, through a loop device that goes away with the mount. */
  mountSquashfs(image: string, target: string): Promise<void>;
  /** A bind mount of `source` whose files owned by id N appear owned by N + range.hostId. */
  mountIdmapped(source: string, target: string, range: IdRange): Promise<void>;
  mountOverlay(layers: OverlayLayers, target: string): Promise<void>;
  bind(source: string, target: string, options?: { readOnly?: boolean }): Promise<void>;
  /** Not mounted is fine. */
  unmount(target: string): Promise<void>;
  /** Everything at or under `dir`, deepest first. */
  unmountAll(dir: string): Promise<void>;
  listMounts(under: string): Promise<MountInfo[]>;
}

export class MountConflict extends HearthError {
  constructor(target: string, found: string, wanted: string) {
    super('mount_conflict', `${target} already has a ${found} mount where a ${wanted} mount was asked for`, {
      hint: `unmount it (umount ${target}) or choose another path`,
      data: { target },
    });
  }
}

export class IdmappedMountsUnsupported extends HearthError {
  constructor(source: string, cause: unknown) {
    super('idmapped_mounts_unsupported', `the kernel cannot make an idmapped mount of ${source}`, {
      hint: 'unprivileged containers need Linux ≥ 5.19 with idmapped mounts for squashfs (6.x); see `uname -r`',
      cause,
    });
  }
}

/** Paths go into comma-separated mount options: these characters would split or end them. */
const assertMountablePath = (p: string) => {
  if (!p.startsWith('/') || /[,:\s\\]/.test(p)) {
    throw new HearthError('invalid_mount_path', `'${p}' cannot be used as a mount path`, {
      hint: 'use an absolute path without commas, colons, spaces or backslashes',
    });
  }
};

/*
 * The idmapped bind mount, done with the new mount API: open_tree(OPEN_TREE_CLONE) the
 * source, mount_setattr(MOUNT_ATTR_IDMAP) with a user namespace that carries the mapping,
 * move_mount onto the target. util-linux can do it from 2.39 (`mount -o X-mount.idmap=`),
 * but Debian 12 ships 2.38, so the three system calls are made from perl, which every
 * Debian has (perl-base is Essential). The numbers of open_tree (428), move_mount (429)
 * and mount_setattr (442) are the same on every architecture; unshare's is not, so it is
 * passed in. The user namespace belongs to a child that only waits to be killed; root
 * writes its maps directly, without newuidmap.
 */
const IDMAP_SCRIPT = String.raw`
use strict; use warnings; use POSIX ();
my ($nr_unshare, $src, $dst, $map) = @ARGV;
my ($empty, $s, $d) = ('', "$src", "$dst");
pipe(my $r, my $w) or die "pipe: $!\n";
my $pid = fork() // die "fork: $!\n";
if ($pid == 0) {
  close $r;
  syscall($nr_unshare, 0x10000000) == 0 or POSIX::_exit(1);
  syswrite($w, 'u'); close $w;
  sleep 60; POSIX::_exit(0);
}
close $w;
sub fail { my ($m) = @_; kill 'KILL', $pid; waitpid($pid, 0); die "$m\n"; }
sysread($r, my $b, 1) or fail("unshare(CLONE_NEWUSER) failed");
for my $f ('uid_map', 'gid_map') {
  open(my $fh, '>', "/proc/$pid/$f") or fail("open $f: $!");
  syswrite($fh, "$map\n") or fail("write $f ($map): $!");
  close $fh;
}
open(my $ns, '<', "/proc/$pid/ns/user") or fail("open user namespace: $!");
my $tree = syscall(428, -100, $s, 1 | 0x80000);
$tree >= 0 or fail("open_tree $src: $!");
my $attr = pack('Q4', 0x100000, 0, 0, fileno($ns));
syscall(442, $tree, $empty, 0x1000, $attr, length $attr) == 0 or fail("mount_setattr(MOUNT_ATTR_IDMAP) $src: $!");
syscall(429, $tree, $empty, -100, $d, 4) == 0 or fail("move_mount $dst: $!");
kill 'KILL', $pid; waitpid($pid, 0);
`;

const UNSHARE_SYSCALL: Partial<Record<NodeJS.Architecture, number>> = { x64: 272, arm64: 97 };

export function hostMounts(log: Logger, mountinfo = '/proc/self/mountinfo'): Mounts {
  const read = async () => parseMountInfo(await fs.readFile(mountinfo, 'utf8'));
  const at = async (target: string) => (await read()).filter((m) => m.mountPoint === target).at(-1);
  const mount = (argv: string[]) => run(['mount', ...argv], { log, debianPackage: 'mount' });

  /** undefined: nothing there yet; true: the wanted mount is there; else a MountConflict. */
  const already = async (target: string, wanted: string, matches: (m: MountInfo) => boolean) => {
    const m = await at(target);
    if (!m) return false;
    if (matches(m)) return true;
    throw new MountConflict(target, m.fsType, wanted);
  };

  const self: Mounts = {
    async mountSquashfs(image, target) {
      assertMountablePath(target);
      if (
        await already(target, 'squashfs', (m) => m.fsType === 'squashfs' && !m.options.includes('idmapped'))
      ) {
        return;
      }
      await fs.mkdir(target, { recursive: true });
      await mount(['-t', 'squashfs', '-o', 'ro,loop,nodev', image, target]);
    },

    async mountIdmapped(source, target, range) {
      assertMountablePath(target);
      if (await already(target, 'idmapped', (m) => m.options.includes('idmapped'))) return;
      const nr = UNSHARE_SYSCALL[process.arch];
      if (nr === undefined)
        throw new HearthError('unsupported_architecture', `no idmapped mounts on ${process.arch}`);
      await fs.mkdir(target, { recursive: true });
      const map = `0 ${range.hostId} ${range.count}`;
      try {
        await run(['perl', '-e', IDMAP_SCRIPT, String(nr), source, target, map], {
          log,
          debianPackage: 'perl-base',
        });
      } catch (e) {
        if (e instanceof CommandFailed && /mount_setattr/.test(e.stderr))
          throw new IdmappedMountsUnsupported(source, e);
        throw e;
      }
    },

    async mountOverlay(layers, target) {
      for (const p of [layers.lower, layers.upper, layers.work, target]) assertMountablePath(p);
      if (await already(target, 'overlay', (m) => m.fsType === 'overlay')) return;
      await fs.mkdir(target, { recursive: true });
      const options = `lowerdir=${layers.lower},upperdir=${layers.upper},workdir=${layers.work}`;
      await mount(['-t', 'overlay', '-o', options, 'overlay', target]);
    },

    async bind(source, target, options = {}) {
      if (await already(target, 'bind', (m) => m.options.includes(options.readOnly ? 'ro' : 'rw'))) return;
      const isDir = (await fs.stat(source)).isDirectory();
      if (isDir) await fs.mkdir(target, { recursive: true });
      else await fs.writeFile(target, '', { flag: 'a' });
      await mount(['--bind', source, target]);
      // A bind mount takes the flags of the mount it copies; read-only needs a second step.
      if (options.readOnly) await mount(['-o', 'remount,bind,ro', target]);
    },

    async unmount(target) {
      while (await at(target)) {
        try {
          await run(['umount', target], { log, debianPackage: 'mount' });
        } catch (e) {
          // Lost a race with another unmount: only an error if it is still mounted.
          if (await at(target)) throw e;
        }
      }
    },

    async unmountAll(dir) {
      for (const m of mountsUnder(await read(), dir)) await self.unmount(m.mountPoint);
    },

    listMounts: async (under) => mountsUnder(await read(), under),
  };
  return self;
}
