import fs from 'node:fs/promises';
import path from 'node:path';
import { copyTree } from './copy.ts';
import { writeDurably } from './durable-file.ts';

/**
 * The files of backups on the data drive: the key (0600), restic's cache, the staging of a
 * run (a package's settings, the database's copy, a snapshot restored before the swap), and
 * the swap itself — a package's volumes set aside whole, the restored ones put in place, and
 * back again. Each move is a rename inside one package's directory, so a crash leaves
 * either the old volumes or both, never neither.
 */
export interface BackupFiles {
  /** The backup key, made once (random, base64url) and kept in a 0600 file. */
  key(make: () => string): Promise<{ file: string; created: boolean }>;
  readKey(): Promise<string | undefined>;
  cacheDir: string;
  /** A fresh, empty staging directory for `name` (a package id or `box`). */
  stage(name: string): Promise<string>;
  writeStaged(name: string, file: string, content: string): Promise<string>;
  dropStaging(): Promise<void>;
  /** The package's volumes moved aside (`volumes.before-restore`); set aside already is fine. */
  setAside(volumesDir: string): Promise<void>;
  asideExists(volumesDir: string): Promise<boolean>;
  /**
   * A new volumes directory (owner and mode of the one set aside) holding, for each volume
   * the set-aside one had, the restored directory where there is one, else a copy of the old.
   */
  putInPlace(volumesDir: string, restored: Map<string, string>): Promise<void>;
  /** What was restored goes; the set-aside volumes come back. Nothing set aside: nothing to do. */
  putBack(volumesDir: string): Promise<void>;
  dropAside(volumesDir: string): Promise<void>;
  /** Whether `p` is a directory (a restored volume, found under the staging). */
  isDirectory(p: string): Promise<boolean>;
}

const ASIDE = '.before-restore';

export function hostBackupFiles(dir: string): BackupFiles {
  const stagingDir = path.join(dir, 'staging');
  const keyFile = path.join(dir, 'key');
  const rm = (p: string) => fs.rm(p, { recursive: true, force: true });
  const exists = (p: string) =>
    fs.lstat(p).then(
      () => true,
      () => false,
    );
  return {
    cacheDir: path.join(dir, 'cache'),
    async key(make) {
      await fs.mkdir(dir, { recursive: true, mode: 0o700 });
      if (await exists(keyFile)) return { file: keyFile, created: false };
      writeDurably(keyFile, make());
      await fs.chmod(keyFile, 0o600);
      return { file: keyFile, created: true };
    },
    readKey: () => fs.readFile(keyFile, 'utf8').catch(() => undefined),
    async stage(name) {
      const d = path.join(stagingDir, name);
      await rm(d);
      await fs.mkdir(d, { recursive: true, mode: 0o700 });
      return d;
    },
    async writeStaged(name, file, content) {
      const p = path.join(stagingDir, name, file);
      await fs.writeFile(p, content, { mode: 0o600 });
      return p;
    },
    dropStaging: () => rm(stagingDir),
    async setAside(volumesDir) {
      const aside = volumesDir + ASIDE;
      if (await exists(aside)) return;
      await fs.mkdir(volumesDir, { recursive: true, mode: 0o711 });
      await fs.rename(volumesDir, aside);
    },
    asideExists: (volumesDir) => exists(volumesDir + ASIDE),
    async putInPlace(volumesDir, restored) {
      const aside = volumesDir + ASIDE;
      const st = await fs.stat(aside);
      const partial = `${volumesDir}.partial`;
      await rm(partial);
      await fs.mkdir(partial, { mode: st.mode & 0o7777 });
      await fs.chown(partial, st.uid, st.gid);
      for (const name of await fs.readdir(aside)) {
        const from = restored.get(name);
        if (from) await fs.rename(from, path.join(partial, name));
        else await copyTree(path.join(aside, name), path.join(partial, name));
      }
      await rm(volumesDir);
      await fs.rename(partial, volumesDir);
    },
    async putBack(volumesDir) {
      const aside = volumesDir + ASIDE;
      if (!(await exists(aside))) return;
      await rm(`${volumesDir}.partial`);
      await rm(volumesDir);
      await fs.rename(aside, volumesDir);
    },
    dropAside: (volumesDir) => rm(volumesDir + ASIDE),
    isDirectory: (p) =>
      fs.lstat(p).then(
        (s) => s.isDirectory(),
        () => false,
      ),
  };
}
