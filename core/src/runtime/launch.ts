import { createHash } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { HearthError } from '../errors.ts';
import type { Volume } from '../host/lxc.ts';
import { run } from '../host/run.ts';
import type { Logger } from '../log/log.ts';
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
/**
 * Memory the runtime needs on top of the package's own `resources.memoryMiB`: the
 * container's limit covers the runtime too. It holds ~36 MiB anonymous memory, and the
 * binary's page cache may be charged to the first container that touches it; a 32 MiB
 * container kills the runtime before it registers (measured, x86_64).
 */
export const RUNTIME_MEMORY_MIB = 64;
/** From Debian's lxc package: statically linked, so it runs in any image. */
export const INIT_LXC_STATIC = '/usr/sbin/init.lxc.static';

export class RuntimeLibraryMissing extends HearthError {
  constructor(binary: string, library: string) {
    super('runtime_library_missing', `${binary} needs ${library}, which this machine does not have`, {
      hint: 'reinstall hearth: its libraries come with the OS image',
    });
  }
}

export class InitMissing extends HearthError {
  constructor(file: string, cause: unknown) {
    super('runtime_init_missing', `${file} is missing: containers need it as PID 1`, {
      hint: 'apt-get install lxc',
      cause,
    });
  }
}

export class NotAnElf extends HearthError {
  constructor(file: string, why: string) {
    super('not_an_elf', `${file} is not an executable this machine can read: ${why}`);
  }
}

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

export interface PrepareRuntimeOptions {
  /** Where runtime directories live; every directory on the way must be searchable by others. */
  root: string;
  /** The hearth binary the containers will run (normally the running one). */
  hearthBinary: string;
  init?: string;
  log?: Logger;
}

const made = new Map<string, Promise<RuntimeDir>>();

/**
 * The runtime directory for `hearthBinary`: made once (atomically: built aside, renamed
 * into place) and found again afterwards. Memoised per process.
 */
export function prepareRuntimeDir(o: PrepareRuntimeOptions): Promise<RuntimeDir> {
  const key = `${o.root}\0${o.hearthBinary}\0${o.init ?? INIT_LXC_STATIC}`;
  let p = made.get(key);
  if (!p) {
    p = makeRuntimeDir(o);
    made.set(key, p);
    p.catch(() => made.delete(key));
  }
  return p;
}

async function makeRuntimeDir(o: PrepareRuntimeOptions): Promise<RuntimeDir> {
  const started = performance.now();
  const init = o.init ?? INIT_LXC_STATIC;
  const binary = path.resolve(o.hearthBinary);
  let interpreter: string | null;
  const fd = fsSync.openSync(binary, 'r');
  try {
    interpreter = elfInterpreter((offset, length) => {
      const b = Buffer.alloc(length);
      return b.subarray(0, fsSync.readSync(fd, b, 0, length, offset));
    });
  } catch (e) {
    throw new NotAnElf(binary, (e as Error).message);
  } finally {
    fsSync.closeSync(fd);
  }

  // name in lib/ → the file on this machine
  const files = new Map<string, string>();
  if (interpreter) {
    const ldd = await run(['ldd', binary], { ...(o.log ? { log: o.log } : {}), debianPackage: 'libc-bin' });
    const { libraries, missing } = parseLdd(ldd.stdout);
    if (missing.length > 0) throw new RuntimeLibraryMissing(binary, missing.join(', '));
    for (const lib of libraries) {
      if (lib.name.startsWith('/')) continue; // the interpreter: taken from the ELF header below
      files.set(lib.name, lib.path);
    }
    files.set(path.posix.basename(interpreter), interpreter);
  }

  const hash = createHash('sha256').update('hearth-rt-v1\n');
  const contents = new Map<string, Buffer>();
  for (const [name, source] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const data = await fs.readFile(await fs.realpath(source));
    contents.set(name, data);
    hash.update(`lib/${name}\0${createHash('sha256').update(data).digest('hex')}\n`);
  }
  const initData = await fs.readFile(init).catch((e: NodeJS.ErrnoException) => {
    throw new InitMissing(init, e);
  });
  hash.update(`init\0${createHash('sha256').update(initData).digest('hex')}\n`);
  const digest = hash.digest('hex').slice(0, 16);
  const dir = path.join(o.root, digest);
  const result: RuntimeDir = {
    dir,
    digest,
    loader: interpreter ? `lib/${path.posix.basename(interpreter)}` : null,
  };
  if (await exists(dir)) return result;

  await fs.mkdir(o.root, { recursive: true, mode: 0o755 });
  const staging = await fs.mkdtemp(path.join(o.root, '.staging-'));
  try {
    await fs.chmod(staging, 0o755);
    await fs.mkdir(path.join(staging, 'lib'), { mode: 0o755 });
    for (const [name, data] of contents) {
      await fs.writeFile(path.join(staging, 'lib', name), data, { mode: 0o755 });
    }
    await fs.writeFile(path.join(staging, 'init'), initData, { mode: 0o755 });
    await fs.rename(staging, dir).catch(async (e: NodeJS.ErrnoException) => {
      // Made meanwhile by someone else: theirs is the same.
      if (e.code !== 'EEXIST' && e.code !== 'ENOTEMPTY') throw e;
    });
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  o.log?.info('runtime directory made', {
    dir,
    files: contents.size + 1,
    ms: Math.round(performance.now() - started),
  });
  return result;
}

const exists = (p: string) =>
  fs.access(p).then(
    () => true,
    () => false,
  );

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
      // process. Only the runtime sees it: daemons get an environment of their own.
      NODE_OPTIONS: RUNTIME_NODE_OPTIONS,
    },
    extraMemoryMiB: RUNTIME_MEMORY_MIB,
    hostSocket: path.join(o.socketDir, HOST_SOCKET_NAME),
  };
}

/**
 * The container's socket dir: root's, 0755, made before the container is created (so
 * lxc create does not hand it to the container's root). The host listens in it.
 */
export async function prepareSocketDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  await fs.chmod(dir, 0o755);
}
