import fs from 'node:fs/promises';
import path from 'node:path';
import { idRangeForSlot } from './containers.ts';

/** Where a package lives on the data drive. */
export interface PackageDirs {
  /** The unpacked package of one version (read-only content). */
  version: string;
  /** The container's writable layer (upper/work). */
  container: string;
  /** Its volumes, one directory each. */
  volumes: string;
}

/**
 * The files of the packages on the data drive, `<packages>/<id>/`: `versions/<v>/` (each
 * unpacked version), `container/` (the writable layer), `volumes/` (the package's data)
 * and, during an update, `snapshot/` (the volumes as they were). Every move is ordered so
 * that a crash between two leaves something the next start can finish or undo.
 */
export interface PackageFiles {
  dirs(id: string, version: string): PackageDirs;
  /** The directory of all packages, made searchable (not listable) for containers' roots. */
  ensureRoot(): Promise<void>;
  /** Makes `versions/` for an unpack into `versions/<v>`; an old one of that version goes first. */
  prepareVersion(id: string, version: string): Promise<void>;
  /** Copies the volumes aside; the copy counts only once it is complete (renamed). */
  snapshotVolumes(id: string, version: string): Promise<void>;
  /** The volumes back from the snapshot, if the update got that far (before, they were untouched). */
  restoreSnapshot(id: string): Promise<void>;
  /** The writable layer belongs to the version that wrote it. */
  dropWritableLayer(id: string): Promise<void>;
  removeVersion(id: string, version: string): Promise<void>;
  /** The package's files, all of them or all but its volumes. */
  remove(id: string, options: { keepData: boolean }): Promise<void>;
  /** What a finished update leaves behind: the snapshot and every version but `keep`. */
  sweep(id: string, keep: string): Promise<void>;
  /** The id slot whose range owns a package's kept volumes, if any were kept. */
  slotOfKeptData(id: string): Promise<number | undefined>;
  /** Bytes used by the package's files, or by one version's volumes. */
  diskUsage(id: string, what?: 'all' | 'volumes'): Promise<number>;
  /** A top-level member of an unpacked version (its icon), at most `maxBytes`; undefined when missing or larger. */
  readMember(id: string, version: string, name: string, maxBytes: number): Promise<Buffer | undefined>;
}

export function hostPackageFiles(o: {
  packagesDir: string;
  /** Copies a directory tree (reflinks where possible). */
  copyTree: (src: string, dest: string) => Promise<void>;
}): PackageFiles {
  const base = (id: string) => path.join(o.packagesDir, id);
  const dirs = (id: string, version: string): PackageDirs => ({
    version: path.join(base(id), 'versions', version),
    container: path.join(base(id), 'container'),
    volumes: path.join(base(id), 'volumes'),
  });
  const rm = (p: string) => fs.rm(p, { recursive: true, force: true });
  return {
    dirs,
    ensureRoot: async () => {
      await fs.mkdir(o.packagesDir, { recursive: true, mode: 0o711 });
    },
    prepareVersion: async (id, version) => {
      await fs.mkdir(path.join(base(id), 'versions'), { recursive: true, mode: 0o711 });
      await rm(dirs(id, version).version);
    },
    snapshotVolumes: async (id, version) => {
      const partial = path.join(base(id), 'snapshot.partial');
      await rm(partial);
      await rm(path.join(base(id), 'snapshot'));
      await fs.mkdir(path.join(base(id), 'volumes'), { recursive: true, mode: 0o711 });
      await o.copyTree(path.join(base(id), 'volumes'), partial);
      await fs.writeFile(path.join(partial, '.version'), version);
      await fs.rename(partial, path.join(base(id), 'snapshot'));
    },
    restoreSnapshot: async (id) => {
      const snapshot = path.join(base(id), 'snapshot');
      if (await exists(snapshot)) {
        await rm(path.join(base(id), 'volumes'));
        await fs.rm(path.join(snapshot, '.version'), { force: true });
        await fs.rename(snapshot, path.join(base(id), 'volumes'));
      }
      await rm(path.join(base(id), 'snapshot.partial'));
    },
    dropWritableLayer: (id) => rm(path.join(base(id), 'container')),
    removeVersion: (id, version) => rm(dirs(id, version).version),
    remove: async (id, { keepData }) => {
      if (!keepData) return rm(base(id));
      for (const entry of await fs.readdir(base(id)).catch(() => [])) {
        if (entry !== 'volumes') await rm(path.join(base(id), entry));
      }
    },
    sweep: async (id, keep) => {
      await rm(path.join(base(id), 'snapshot'));
      await rm(path.join(base(id), 'snapshot.partial'));
      for (const v of await fs.readdir(path.join(base(id), 'versions')).catch(() => [])) {
        if (v !== keep) await rm(path.join(base(id), 'versions', v));
      }
    },
    slotOfKeptData: async (id) => {
      // The container's create made each volume owned by its mapped root.
      const dir = path.join(base(id), 'volumes');
      const first = idRangeForSlot(0);
      for (const entry of await fs.readdir(dir).catch(() => [])) {
        const st = await fs.stat(path.join(dir, entry)).catch(() => undefined);
        if (st && st.uid >= first.hostId) return Math.floor((st.uid - first.hostId) / first.count);
      }
      return undefined;
    },
    diskUsage: (id, what = 'all') => du(what === 'all' ? base(id) : path.join(base(id), 'volumes')),
    readMember: async (id, version, name, maxBytes) => {
      if (name.includes('/') || name.startsWith('.')) return undefined;
      const file = path.join(dirs(id, version).version, name);
      try {
        const stat = await fs.lstat(file);
        if (!stat.isFile() || stat.size > maxBytes) return undefined;
        return await fs.readFile(file);
      } catch {
        return undefined;
      }
    },
  };
}

/** Bytes used by the files under `dir` (allocated blocks, like du). */
async function du(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else total += ((await fs.lstat(p).catch(() => undefined))?.blocks ?? 0) * 512;
    }
  };
  await walk(dir);
  return total;
}

const exists = (p: string): Promise<boolean> =>
  fs.stat(p).then(
    () => true,
    () => false,
  );
