import fs from 'node:fs';
import path from 'node:path';

/** Writes a file so that after a crash it holds either the old content or all of the new. */
export function writeDurably(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fsyncPath(tmp);
  fs.renameSync(tmp, file);
  fsyncPath(path.dirname(file));
}

/** Removes a file so that a crash after this returns cannot bring it back. */
export function removeDurably(file: string): void {
  fs.rmSync(file, { force: true });
  fsyncPath(path.dirname(file));
}

/** Renames a file so that a crash after this returns leaves it under its new name. */
export function renameDurably(from: string, to: string): void {
  fs.renameSync(from, to);
  fsyncPath(path.dirname(to));
}

/** Flushes a file or a directory (its entries) to the disk. */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Erases a directory's entries but those named in `keep`. */
export function eraseDirectory(dir: string, keep: ReadonlySet<string>): void {
  for (const name of fs.readdirSync(dir)) {
    if (!keep.has(name)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

/**
 * A new SQLite database in place of `database`, in one rename: made aside by `make`, and
 * the old one's journal removed first, or SQLite would replay the old one into the new.
 */
export function replaceDatabase(database: string, make: (file: string) => void): void {
  const fresh = `${database}.new`;
  fs.rmSync(fresh, { force: true });
  make(fresh);
  fsyncPath(fresh);
  for (const journal of [`${database}-wal`, `${database}-shm`]) fs.rmSync(journal, { force: true });
  fs.renameSync(fresh, database);
  fsyncPath(path.dirname(database));
}
