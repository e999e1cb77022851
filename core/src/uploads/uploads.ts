import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { Progress } from '../calls.ts';
import { HearthError, InvalidParams, NotEnoughSpace, NotFound } from '../errors.ts';
import { bodyOf, hostUploadFiles, type UploadFiles } from '../host/upload-files.ts';
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
  /** The files and downloads themselves; default the real ones in `dir`. */
  files?: UploadFiles;
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
  readonly #o: Required<Omit<UploadsOptions, 'now' | 'files'>> & { now: () => number };
  readonly #files: UploadFiles;

  constructor(options: UploadsOptions) {
    this.#o = { ttlMs: 3_600_000, stallMs: 60_000, now: Date.now, ...options };
    this.#files = options.files ?? hostUploadFiles(options.dir);
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
      await this.#checkRegularFile(source.path);
      return { file: source.path, release: async () => {} };
    }
    const file = 'upload' in source ? this.#claim(source.upload) : await this.#download(source, progress);
    return { file, release: () => this.#files.remove(file) };
  }

  /** Removes partial files and uploads older than the time-to-live. */
  async sweep(): Promise<void> {
    const cutoff = this.#o.now() - this.#o.ttlMs;
    for (const { name, mtimeMs } of await this.#files.list()) {
      // A part still being written is younger than the stall limit.
      const stale = name.endsWith('.part') ? mtimeMs < this.#o.now() - this.#o.stallMs : mtimeMs < cutoff;
      if (stale) {
        await this.#files.remove(path.join(this.#o.dir, name));
        this.#o.log.info('removed a stale upload', { file: name });
      }
    }
  }

  /**
   * A path on the box must name a regular file: reading a device (/dev/zero), a FIFO or a
   * directory would never end, or fail deep inside the reader.
   */
  async #checkRegularFile(file: string): Promise<void> {
    const kind = await this.#files.kindOf(file);
    const hint = 'give the path of the .hpk file on the box';
    if (kind === 'file') return;
    if (kind === 'missing') throw new NotFound('file', file, { hint });
    if (kind === 'unreadable') throw new InvalidParams(`cannot read ${file}`, { hint });
    const what =
      kind === 'directory'
        ? 'a directory'
        : kind === 'pipe'
          ? 'a pipe'
          : kind === 'socket'
            ? 'a socket'
            : 'a device';
    throw new InvalidParams(`${file} is ${what}, not a file`, { hint });
  }

  /** Takes an upload for one use: a second method cannot use it too. */
  #claim(id: string): string {
    if (!ID.test(id))
      throw new InvalidParams(`'${id}' is not an upload id (they look like up_ and 32 hex digits)`);
    // The time-to-live now runs from the claim: the sweep leaves a long install alone.
    const claimed = this.#files.claim(id);
    if (!claimed) {
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
      response = await this.#files.fetch(url, controller.signal);
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
      const got = await this.#store(id, bodyOf(response), declared, (done) => {
        watch();
        progress?.({ step: 'download', done, ...(declared !== undefined ? { total: declared } : {}) });
      });
      if (source.sha256 !== undefined && got.sha256 !== source.sha256.toLowerCase()) {
        await this.#files.remove(path.join(this.#o.dir, id));
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
    await this.#files.ensureDir();
    const free = await this.#o.freeBytes(this.#o.dir);
    const need = (declared ?? 0) + RESERVE;
    if (free < need) throw new NotEnoughSpace(need, free);
  }

  /** Streams `body` into `<id>` (through `<id>.part`) with a size limit and a digest. */
  async #store(
    id: string,
    body: Readable,
    declared: number | undefined,
    onBytes?: (done: number) => void,
  ): Promise<{ size: number; sha256: string }> {
    let reported = 0;
    const got = await this.#files.write(id, body, {
      limit: this.#o.maxBytes,
      tooLarge: () => new UploadTooLarge(this.#o.maxBytes),
      declared,
      short: (size) =>
        new InvalidParams(`the upload ended after ${size} of ${declared} bytes`, {
          hint: 'the connection broke: send the file again',
        }),
      onBytes: (done) => {
        if (onBytes && done - reported >= PROGRESS_EVERY) {
          reported = done;
          onBytes(done);
        }
      },
    });
    onBytes?.(got.size);
    return got;
  }
}

function reason(e: unknown): string {
  const cause = e instanceof Error && e.cause instanceof Error ? e.cause : e;
  return cause instanceof Error ? cause.message : String(cause);
}
