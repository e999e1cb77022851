import { createHash } from 'node:crypto';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { HearthError } from '../errors.ts';
import type { Logger } from '../log/log.ts';
import { elfInterpreter, INIT_LXC_STATIC, parseLdd, type RuntimeDir } from '../runtime/launch.ts';
import { run } from './run.ts';

/*
 * The host side of getting the runtime into containers (runtime/launch.ts says how it
 * runs there): the runtime directory of loader, libraries and init that every container
 * mounts, and each container's socket directory.
 */

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

/**
 * The container's socket dir: root's, 0755, made before the container is created (so
 * lxc create does not hand it to the container's root). The host listens in it.
 */
export async function prepareSocketDir(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  await fs.chmod(dir, 0o755);
}
