import path from 'node:path';
import type { Volume } from '../host/containers.ts';
import { CONTAINER_CODE, CONTAINER_SOCKET } from './protocol.ts';

/**
 * How the runtime gets into a container. The image may have no glibc at all (busybox,
 * Alpine), so the `hearth` binary runs through the host's own loader and libraries,
 * copied once into a runtime directory that every container mounts read-only:
 *
 *   /usr/lib/hearth/hearth          the host's binary (ContainerSpec.hearthBinary)
 *   /usr/lib/hearth/rt/init         LXC's static init: PID 1, forwards signals, reaps
 *   /usr/lib/hearth/rt/lib/         the binary's ELF interpreter and the libraries ldd names
 *   /usr/lib/hearth/package/        the package's code/ (index.js), read-only
 *   /run/hearth/host.sock           the host's end of the channel (dir mounted read-only)
 *
 * PID 1 runs `<rt>/lib/<ld.so> --library-path <rt>/lib /usr/lib/hearth/hearth
 * container-runtime`: the loader maps the binary itself, so neither the image's
 * /lib nor its ld.so.cache matters, and the daemons the runtime starts use the image's
 * own libraries as usual (no LD_LIBRARY_PATH is set).
 *
 * The runtime directory is named by a digest of what it holds, so a new binary or a
 * host library update makes a new one beside it and running containers keep theirs.
 */

export const CONTAINER_HEARTH = '/usr/lib/hearth/hearth';
export const CONTAINER_RT = '/usr/lib/hearth/rt';
export const CONTAINER_PACKAGE = path.posix.dirname(CONTAINER_CODE);
export const CONTAINER_SOCKET_DIR = path.posix.dirname(CONTAINER_SOCKET);
export const HOST_SOCKET_NAME = path.posix.basename(CONTAINER_SOCKET);
export const RUNTIME_NODE_OPTIONS = '--max-semi-space-size=1';
export const RUNTIME_MALLOC_ENV = { MALLOC_ARENA_MAX: '1', MALLOC_TRIM_THRESHOLD_: '131072' };
/**
 * Memory the runtime needs on top of the package's own `resources.memoryMiB`: the
 * container's limit covers the runtime too. It holds ~11 MiB anonymous memory (~14 once a
 * call has loaded the package's code), and the binary's page cache may be charged to the
 * first container that touches it. At ~36 MiB a 32 MiB container killed the runtime before
 * it registered; at ~23 it runs there (both measured, x86_64), but the margin stays for
 * that page cache and for the package's code.
 */
export const RUNTIME_MEMORY_MIB = 64;
/** From Debian's lxc package: statically linked, so it runs in any image. */
export const INIT_LXC_STATIC = '/usr/sbin/init.lxc.static';

// --- pure parsers -----------------------------------------------------------------------

const PT_INTERP = 3;

/** Reads `length` bytes at `offset` of a file (fewer at its end). */
export type ReadAt = (offset: number, length: number) => Buffer;

/**
 * The ELF program interpreter (PT_INTERP) of an executable, e.g.
 * `/lib64/ld-linux-x86-64.so.2` or `/lib/ld-linux-aarch64.so.1`; null for a static
 * binary. 32- and 64-bit, either byte order. The program headers are read where the
 * header says: in a single-executable binary postject has moved them to the end.
 */
export function elfInterpreter(read: ReadAt): string | null {
  const head = read(0, 64);
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) throw new Error('no ELF magic');
  const is64 = head[4] === 2;
  const le = head[5] === 1;
  if (is64 && head.length < 64) throw new Error('truncated ELF header');
  const u16 = (b: Buffer, o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const word = (b: Buffer, o: number) =>
    is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o);
  const phoff = word(head, is64 ? 0x20 : 0x1c);
  const phentsize = u16(head, is64 ? 0x36 : 0x2a);
  const phnum = u16(head, is64 ? 0x38 : 0x2c);
  if (phnum === 0) return null;
  if (phentsize < (is64 ? 56 : 32)) throw new Error(`program header size ${phentsize} is too small`);
  const table = read(phoff, phnum * phentsize);
  if (table.length < phnum * phentsize) throw new Error('the program headers are cut short');
  for (let i = 0; i < phnum; i++) {
    const ph = i * phentsize;
    if (u32(table, ph) !== PT_INTERP) continue;
    const offset = word(table, ph + (is64 ? 8 : 4));
    const size = word(table, ph + (is64 ? 32 : 16));
    if (size > 4096) throw new Error('the interpreter name is implausibly long');
    const name = read(offset, size);
    if (name.length < size) throw new Error('the interpreter name is cut short');
    return name.toString('latin1').replace(/\0+$/, '');
  }
  return null;
}

export interface LddEntry {
  /** The name the binary asks for (`libc.so.6`), or the interpreter's path. */
  name: string;
  /** Where this machine has it. */
  path: string;
}

/**
 * What `ldd` prints: `name => /path (0x…)` per library; the interpreter as `/path
 * (0x…)` (or `/path => /path (0x…)` under qemu); the vDSO and the main program without a
 * path. A library `=> not found` is an error; a static binary has none.
 */
export function parseLdd(text: string): { libraries: LddEntry[]; missing: string[] } {
  const libraries: LddEntry[] = [];
  const missing: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m = /^(\S+) => not found$/.exec(line);
    if (m) {
      missing.push(m[1]!);
      continue;
    }
    m = /^(\S+) => (\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m) {
      libraries.push({ name: m[1]!, path: m[2]! });
      continue;
    }
    m = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(line);
    if (m) libraries.push({ name: m[1]!, path: m[1]! });
  }
  return { libraries, missing };
}

// --- the runtime directory --------------------------------------------------------------

export interface RuntimeDir {
  /** <root>/<digest>: mounted read-only at /usr/lib/hearth/rt. */
  dir: string;
  digest: string;
  /** The loader inside the container, or null when the binary is static. */
  loader: string | null;
}

// --- what a ContainerSpec needs -----------------------------------------------------------

export interface RuntimeLaunch {
  /** ContainerSpec.hearthBinary */
  hearthBinary: string;
  /** Added to ContainerSpec.volumes: runtime dir, package code and socket dir, all read-only. */
  volumes: Volume[];
  /** ContainerSpec.init */
  init: string[];
  /** Added to ContainerSpec.env */
  env: Record<string, string>;
  /** Added to the package's memoryMiB for ContainerSpec.memoryMiB. */
  extraMemoryMiB: number;
  /** Where the host listens for this container's runtime (inside the socket dir). */
  hostSocket: string;
}

/**
 * The pieces of a ContainerSpec that run the runtime. `codeDir` is the unpacked
 * package's code/ (holding index.js); `socketDir` a directory of this container alone.
 *
 * The socket dir is mounted read-only: connecting to a unix socket needs write permission
 * on the socket, not a writable mount, and so nothing in the container can remove or
 * replace the host's socket. Access is the socket's own: the host makes it owned by the
 * container's mapped root, mode 0600 (packages/effects-host.ts), so only that container's
 * root connects — not its other users, not another container (another id range).
 */
export function runtimeLaunch(o: {
  runtime: RuntimeDir;
  hearthBinary: string;
  codeDir: string;
  socketDir: string;
  containerName: string;
}): RuntimeLaunch {
  const loader = o.runtime.loader
    ? [`${CONTAINER_RT}/${o.runtime.loader}`, '--library-path', `${CONTAINER_RT}/lib`]
    : [];
  return {
    hearthBinary: o.hearthBinary,
    volumes: [
      { source: o.runtime.dir, target: CONTAINER_RT, readOnly: true },
      { source: o.codeDir, target: CONTAINER_PACKAGE, readOnly: true },
      { source: o.socketDir, target: CONTAINER_SOCKET_DIR, readOnly: true },
    ],
    // init.lxc wants a name (for its log); the command follows `--`.
    init: [
      `${CONTAINER_RT}/init`,
      '-n',
      o.containerName,
      '--',
      ...loader,
      CONTAINER_HEARTH,
      'container-runtime',
    ],
    env: {
      HEARTH_SOCKET: CONTAINER_SOCKET,
      HEARTH_CODE: CONTAINER_CODE,
      // A 1 MiB young generation instead of 16: ~6 MiB less resident for a mostly idle
      // process. Only the runtime sees these: daemons get an environment of their own.
      NODE_OPTIONS: RUNTIME_NODE_OPTIONS,
      // glibc's malloc: one arena, not one per thread that allocates (V8's and libuv's
      // workers), and freed memory given back from 128 KiB on, not kept up to its dynamic
      // threshold: 2.8 MiB less resident (measured in a container, ARCHITECTURE.md "Memory").
      ...RUNTIME_MALLOC_ENV,
    },
    extraMemoryMiB: RUNTIME_MEMORY_MIB,
    hostSocket: path.join(o.socketDir, HOST_SOCKET_NAME),
  };
}
