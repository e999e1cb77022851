import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Progress } from '../calls.ts';
import { HearthError, InvalidParams, NotEnoughSpace, NotFound } from '../errors.ts';
import type { Logger } from '../log/log.ts';

/** Where a file a method works on comes from: the box's disk, an upload, or a URL. */
export type FileSource = { path: string } | { upload: string } | { url: string; sha256?: string | undefined };

export interface Received {
  /** The id to hand to a method (`package.install {upload}`), good for `ttlMs`. */
  upload: string;
  size: number;
  sha256: string;
}

export interface UploadsOptions {
  /** On the data drive: uploads can be large. */
  dir: string;
  maxBytes: number;
  freeBytes: (dir: string) => Promise<number>;
  log: Logger;
  /** An upload not used by a method within this long is deleted. */
  ttlMs?: number;
  /** A download that sends nothing for this long is given up. */
  stallMs?: number;
  now?: () => number;
}

export class UploadTooLarge extends HearthError {
  constructor(limit: number) {
    super('payload_too_large', `the file is larger than the upload limit of ${mib(limit)}`, {
      hint: 'raise the maxUploadBytes setting (HEARTH_MAX_UPLOAD_BYTES) if this file is expected',
      data: { limitBytes: limit },
    });
  }
}

export class DownloadFailed extends HearthError {
  constructor(url: string, why: string, options: { hint?: string } = {}) {
    super('download_failed', `could not download ${url}: ${why}`, {
      hint: options.hint ?? 'check the address, and that the box can reach it',
    });
  }
}

/**
 * A path on the box must name a regular file: reading a device (/dev/zero), a FIFO or a
 * directory would never end, or fail deep inside the reader.
 */
async function checkRegularFile(file: string): Promise<void> {
  const st = await fsp.stat(file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') {
      throw new NotFound('file', file, { hint: 'give the path of the .hpk file on the box' });
    }
    throw new InvalidParams(`cannot read ${file}: ${e.code ?? e.message}`);
  });
  if (!st.isFile()) {
    const what = st.isDirectory()
      ? 'a directory'
      : st.isFIFO()
        ? 'a pipe'
        : st.isSocket()
          ? 'a socket'
          : 'a device';
    throw new InvalidParams(`${file} is ${what}, not a file`, {
      hint: 'give the path of the .hpk file on the box',
    });
  }
}

const ID = /^up_[0-9a-f]{32}$/;
// The space an upload must leave free, so a big file cannot fill the data drive.
const RESERVE = 256 << 20;
const PROGRESS_EVERY = 1 << 20;

const mib = (n: number) => `${(n / 1048576).toFixed(n < 10 << 20 ? 1 : 0)} MiB`;

/**
 * Files handed to the box: streamed HTTP uploads (`POST /upload`) and downloads from a
 * URL, kept under `dir` until a method uses them, then deleted. Nothing is ever read
 * from a partial file: each arrives as `<id>.part` and is renamed once complete, and the
 * start-up sweep removes parts left by a crash along with expired uploads.
 */
export class Uploads {
  readonly #o: Required<Omit<UploadsOptions, 'now'>> & { now: () => number };

  constructor(options: UploadsOptions) {
    this.#o = { ttlMs: 3_600_000, stallMs: 60_000, now: Date.now, ...options };
  }

  /**
   * Stores a request body as a new upload. `declared` is its Content-Length when the
   * client sent one: too large a file is refused before a byte is written.
   */
  async receive(body: Readable, declared: number | undefined): Promise<Received> {
    await this.#checkRoom(declared);
    const id = `up_${randomBytes(16).toString('hex')}`;
    const { size, sha256 } = await this.#store(id, body, declared);
    this.#o.log.info('upload received', { upload: id, size });
    return { upload: id, size, sha256 };
  }

  /**
   * Makes a file available for a method and returns where it is and how to let go of it:
   * a path on the box is used as it is; an upload or a download is deleted afterwards,
   * whatever the method's outcome.
   */
  async open(
    source: FileSource,
    progress?: (p: Progress) => void,
  ): Promise<{ file: string; release(): Promise<void> }> {
    if ('path' in source) {
      await checkRegularFile(source.path);
      return { file: source.path, release: async () => {} };
    }
    const file = 'upload' in source ? this.#claim(source.upload) : await this.#download(source, progress);
    return { file, release: () => fsp.rm(file, { force: true }) };
  }

  /** Removes partial files and uploads older than the time-to-live. */
  async sweep(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.#o.dir);
    } catch {
      return;
    }
    const cutoff = this.#o.now() - this.#o.ttlMs;
    for (const name of names) {
      const file = path.join(this.#o.dir, name);
      const st = await fsp.stat(file).catch(() => undefined);
      if (!st) continue;
      // A part still being written is younger than the stall limit.
      const stale = name.endsWith('.part')
        ? st.mtimeMs < this.#o.now() - this.#o.stallMs
        : st.mtimeMs < cutoff;
      if (stale) {
        await fsp.rm(file, { force: true, recursive: true });
        this.#o.log.info('removed a stale upload', { file: name });
      }
    }
  }

  /** Takes an upload for one use: a second method cannot use it too. */
  #claim(id: string): string {
    if (!ID.test(id))
      throw new InvalidParams(`'${id}' is not an upload id (they look like up_ and 32 hex digits)`);
    const file = path.join(this.#o.dir, id);
    const claimed = `${file}.used`;
    try {
      fs.renameSync(file, claimed);
      // The time-to-live now runs from the claim: the sweep leaves a long install alone.
      const now = new Date();
      fs.utimesSync(claimed, now, now);
    } catch {
      throw new NotFound('upload', id, {
        hint: `uploads are used once and kept for ${Math.round(this.#o.ttlMs / 60_000)} minutes: upload the file again (POST /upload)`,
      });
    }
    return claimed;
  }

  async #download(
    source: { url: string; sha256?: string | undefined },
    progress?: (p: Progress) => void,
  ): Promise<string> {
    const { url } = source;
    await this.#checkRoom(undefined);
    const controller = new AbortController();
    let stall: NodeJS.Timeout | undefined;
    const watch = () => {
      clearTimeout(stall);
      stall = setTimeout(() => controller.abort(new Error('stalled')), this.#o.stallMs);
    };
    watch();
    let response: Response;
    try {
      response = await fetch(url, { signal: controller.signal, redirect: 'follow' });
    } catch (e) {
      clearTimeout(stall);
      throw new DownloadFailed(url, reason(e));
    }
    if (!response.ok || !response.body) {
      clearTimeout(stall);
      throw new DownloadFailed(url, `the server answered HTTP ${response.status}`);
    }
    const length = Number(response.headers.get('content-length') ?? Number.NaN);
    const declared = Number.isFinite(length) ? length : undefined;
    const id = `up_${randomBytes(16).toString('hex')}`;
    try {
      await this.#checkRoom(declared);
      const got = await this.#store(id, Readable.fromWeb(response.body as never), declared, (done) => {
        watch();
        progress?.({ step: 'download', done, ...(declared !== undefined ? { total: declared } : {}) });
      });
      if (source.sha256 !== undefined && got.sha256 !== source.sha256.toLowerCase()) {
        await fsp.rm(path.join(this.#o.dir, id), { force: true });
        throw new DownloadFailed(url, `its SHA-256 is ${got.sha256}, not the expected ${source.sha256}`, {
          hint: 'the file changed on the server or was damaged on the way; check the address and the digest',
        });
      }
      this.#o.log.info('downloaded', { url, size: got.size });
      return this.#claim(id);
    } catch (e) {
      if (e instanceof HearthError) throw e;
      throw new DownloadFailed(url, controller.signal.aborted ? 'nothing arrived for a minute' : reason(e));
    } finally {
      clearTimeout(stall);
    }
  }

  async #checkRoom(declared: number | undefined): Promise<void> {
    if (declared !== undefined && declared > this.#o.maxBytes) throw new UploadTooLarge(this.#o.maxBytes);
    await fsp.mkdir(this.#o.dir, { recursive: true, mode: 0o700 });
    const free = await this.#o.freeBytes(this.#o.dir);
    const need = (declared ?? 0) + RESERVE;
    if (free < need) throw new NotEnoughSpace(need, free);
  }

  /** Streams `body` into `<id>.part` with a size limit and a digest, then renames it. */
  async #store(
    id: string,
    body: Readable,
    declared: number | undefined,
    onBytes?: (done: number) => void,
  ): Promise<{ size: number; sha256: string }> {
    const file = path.join(this.#o.dir, id);
    const part = `${file}.part`;
    const hash = createHash('sha256');
    let size = 0;
    let reported = 0;
    const limit = this.#o.maxBytes;
    const count = new Transform({
      transform(chunk: Buffer, _, done) {
        size += chunk.length;
        if (size > limit) return done(new UploadTooLarge(limit));
        hash.update(chunk);
        if (onBytes && size - reported >= PROGRESS_EVERY) {
          reported = size;
          onBytes(size);
        }
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, count, fs.createWriteStream(part, { mode: 0o600 }));
      if (declared !== undefined && size !== declared) {
        throw new InvalidParams(`the upload ended after ${size} of ${declared} bytes`, {
          hint: 'the connection broke: send the file again',
        });
      }
      onBytes?.(size);
      await fsp.rename(part, file);
    } catch (e) {
      await fsp.rm(part, { force: true });
      throw e;
    }
    return { size, sha256: hash.digest('hex') };
  }
}

function reason(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  return cause instanceof Error ? cause.message : String(cause);
}
