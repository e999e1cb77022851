import fs from 'node:fs';
import path from 'node:path';
import { fsyncPath } from './durable-file.ts';

/*
 * Files on the boot partition (FAT, mounted at /efi, readable from any computer): where
 * someone with the box in hand leaves it a request, and finds its answer.
 */

/**
 * Takes a file: read (at most `maxBytes`), then deleted before anything is done with it,
 * so that it is carried out once (a factory reset at every boot would be a disaster). A
 * file that cannot be deleted is not used. Undefined when there is none.
 */
export function takeBootFile(
  dir: string,
  name: string,
  maxBytes: number,
): { text: string } | { error: string } | undefined {
  const file = path.join(dir, name);
  let text: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const st = fs.fstatSync(fd);
      if (!st.isFile()) return { error: `${name} is not a file` };
      if (st.size > maxBytes) return { error: `${name} is larger than ${maxBytes} bytes` };
      const buf = Buffer.alloc(st.size);
      fs.readSync(fd, buf, 0, st.size, 0);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { error: `could not read ${name}: ${(e as Error).message}` };
  }
  try {
    fs.rmSync(file);
    try {
      fsyncPath(dir);
    } catch {
      // FAT may not sync a directory; the unlink itself has happened.
    }
  } catch (e) {
    return { error: `could not delete ${name} (${(e as Error).message}), so it was not carried out` };
  }
  return { text };
}

export function writeBootFile(dir: string, name: string, text: string): void {
  fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
}
