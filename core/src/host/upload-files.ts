import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** What kind of thing a path on the box is. */
export type PathKind = 'file' | 'directory' | 'pipe' | 'socket' | 'device' | 'missing' | 'unreadable';

/**
 * The files handed to the box (uploads/), on the data drive: each is written as
 * `<name>.part` and renamed once whole, taken for one use by renaming it `<name>.used`;
 * and downloads from a URL, which arrive the same way.
 */
export interface UploadFiles {
  ensureDir(): Promise<void>;
  /**
   * Streams `body` into `<name>` (through `<name>.part`) with a digest; past `limit`
   * bytes it stops with `tooLarge()`. `onBytes` hears how much has arrived.
   */
  write(
    name: string,
    body: Readable,
    o: {
      limit: number;
      tooLarge: () => Error;
      /** The size the sender announced: a body that ends short is refused with `short`. */
      declared?: number | undefined;
      short?: (size: number) => Error;
      onBytes?: (done: number) => void;
    },
  ): Promise<{ size: number; sha256: string }>;
  /** Takes `<name>` for one use (renamed, its time-to-live restarted); false if it is not there. */
  claim(name: string): string | undefined;
  remove(file: string): Promise<void>;
  /** The files there, with when each was last written. */
  list(): Promise<{ name: string; mtimeMs: number }[]>;
  /** What `file` (a path on the box, given by a caller) is, without reading it. */
  kindOf(file: string): Promise<PathKind>;
  /** Starts a download; the body is read by `write`. */
  fetch(url: string, signal: AbortSignal): Promise<Response>;
}

export function hostUploadFiles(dir: string): UploadFiles {
  return {
    ensureDir: async () => {
      await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
    },
    write: async (name, body, o) => {
      const file = path.join(dir, name);
      const part = `${file}.part`;
      const hash = createHash('sha256');
      let size = 0;
      const count = new Transform({
        transform(chunk: Buffer, _, done) {
          size += chunk.length;
          if (size > o.limit) return done(o.tooLarge());
          hash.update(chunk);
          o.onBytes?.(size);
          done(null, chunk);
        },
      });
      try {
        await pipeline(body, count, fs.createWriteStream(part, { mode: 0o600 }));
        // Nothing is ever read from a file that did not arrive whole.
        if (o.declared !== undefined && size !== o.declared && o.short) throw o.short(size);
        await fsp.rename(part, file);
      } catch (e) {
        await fsp.rm(part, { force: true });
        throw e;
      }
      return { size, sha256: hash.digest('hex') };
    },
    claim: (name) => {
      const file = path.join(dir, name);
      const claimed = `${file}.used`;
      try {
        fs.renameSync(file, claimed);
        const now = new Date();
        fs.utimesSync(claimed, now, now);
        return claimed;
      } catch {
        return undefined;
      }
    },
    remove: (file) => fsp.rm(file, { force: true, recursive: true }),
    list: async () => {
      const names = await fsp.readdir(dir).catch(() => [] as string[]);
      const out: { name: string; mtimeMs: number }[] = [];
      for (const name of names) {
        const st = await fsp.stat(path.join(dir, name)).catch(() => undefined);
        if (st) out.push({ name, mtimeMs: st.mtimeMs });
      }
      return out;
    },
    kindOf: async (file) => {
      const st = await fsp
        .stat(file)
        .catch((e: NodeJS.ErrnoException) =>
          e.code === 'ENOENT' || e.code === 'ENOTDIR' ? ('missing' as const) : ('unreadable' as const),
        );
      if (typeof st === 'string') return st;
      if (st.isFile()) return 'file';
      if (st.isDirectory()) return 'directory';
      if (st.isFIFO()) return 'pipe';
      if (st.isSocket()) return 'socket';
      return 'device';
    },
    fetch: (url, signal) => fetch(url, { signal, redirect: 'follow' }),
  };
}

/** A download's body as a node stream. */
export const bodyOf = (response: Response): Readable => Readable.fromWeb(response.body as never);
