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

/** Flushes a file or a directory (its entries) to the disk. */
export function fsyncPath(p: string): void {
  const fd = fs.openSync(p, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
