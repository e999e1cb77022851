/**
 * A small tar reader and writer (POSIX ustar + pax extended headers; the reader also
 * takes GNU long names when asked), written here rather than taken from npm so that
 * every field the `.hpk` checks depend on is under our control: the reader reports
 * entries exactly as stored (no path cleaning, no link following, no writes to disk) and
 * lets the caller decide.
 */

export type TarType =
  | 'file'
  | 'directory'
  | 'symlink'
  | 'hardlink'
  | 'character-device'
  | 'block-device'
  | 'fifo';

export interface TarHeader {
  /** The path as stored (after pax `path` / ustar prefix / GNU long name), unnormalized. */
  path: string;
  type: TarType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch (pax may give fractions). */
  mtime: number;
  linkpath: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  /** Every pax record of the entry, e.g. `SCHILY.xattr.security.capability`. */
  pax: Record<string, string>;
}

export interface TarEntry extends TarHeader {
  /** Offset of the entry's first header block (its pax or GNU header, if any). */
  headerOffset: number;
  /** Offset of the entry's data. */
  dataOffset: number;
  /** The entry's data in chunks; call at most once, before the next entry. */
  body(): AsyncGenerator<Buffer>;
}

/** A stream that is not a readable tar: `truncated` ends early, `corrupt` has bad headers, `unsupported` uses a feature we refuse. */
export class TarFormatError extends Error {
  readonly kind: 'truncated' | 'corrupt' | 'unsupported';
  readonly offset: number;
  /** The path of the entry at fault, when known. */
  readonly path: string | undefined;

  constructor(kind: TarFormatError['kind'], message: string, offset: number, path?: string) {
    super(message);
    this.name = 'TarFormatError';
    this.kind = kind;
    this.offset = offset;
    this.path = path;
  }
}

export const BLOCK = 512;

/** Sequential reads over an async byte stream, with the position tracked. */
export class ByteReader {
  readonly #it: AsyncIterator<Uint8Array>;
  #chunk: Buffer = Buffer.alloc(0);
  #at = 0;
  #done = false;
  position = 0;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.#it = source[Symbol.asyncIterator]();
  }

  async #fill(): Promise<boolean> {
    while (this.#at >= this.#chunk.length) {
      if (this.#done) return false;
      const next = await this.#it.next();
      if (next.done) {
        this.#done = true;
        return false;
      }
      this.#chunk = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      this.#at = 0;
    }
    return true;
  }

  /** Up to `n` bytes: fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n && (await this.#fill())) {
      const take = Math.min(n - got, this.#chunk.length - this.#at);
      parts.push(this.#chunk.subarray(this.#at, this.#at + take));
      this.#at += take;
      got += take;
    }
    this.position += got;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /** Exactly `n` bytes in chunks as they come; `onShort` is thrown if the stream ends first. */
  async *take(n: number, onShort: () => Error): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw onShort();
      const take = Math.min(left, this.#chunk.length - this.#at);
      const part = this.#chunk.subarray(this.#at, this.#at + take);
      this.#at += take;
      this.position += take;
      left -= take;
      yield part;
    }
  }

  async skip(n: number, onShort: () => Error): Promise<void> {
    for await (const _ of this.take(n, onShort));
  }

  /** Whether the stream has no more bytes. */
  async atEnd(): Promise<boolean> {
    return !(await this.#fill());
  }
}

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? length : nul).toString('utf8');
}

function parseNumber(buf: Buffer, start: number, length: number, what: string, offset: number): number {
  const field = buf.subarray(start, start + length);
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian, the top bit of the first byte marks it.
    if (field[0] === 0xff) throw new TarFormatError('corrupt', `negative ${what} in tar header`, offset);
    let n = field[0]! & 0x7f;
    for (let i = 1; i < length; i++) n = n * 256 + field[i]!;
    if (!Number.isSafeInteger(n))
      throw new TarFormatError('corrupt', `${what} too large in tar header`, offset);
    return n;
  }
  const text = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new TarFormatError('corrupt', `bad ${what} field in tar header`, offset);
  return Number.parseInt(text, 8);
}

function checksumOk(block: Buffer): boolean {
  const stored = block
    .subarray(148, 156)
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]+$/.test(stored)) return false;
  const want = Number.parseInt(stored, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return want === unsigned || want === signed;
}

const isZero = (buf: Buffer) => buf.every((b) => b === 0);

/** Parses pax records (`"%d %s=%s\n"`). */
export function parsePax(data: Buffer, offset: number): Record<string, string> {
  const records: Record<string, string> = {};
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    const len = space === -1 ? Number.NaN : Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= 0 || at + len > data.length || data[at + len - 1] !== 0x0a) {
      throw new TarFormatError('corrupt', 'malformed pax header', offset);
    }
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarFormatError('corrupt', 'malformed pax record', offset);
    // A key that appears again overrides the earlier value, as in POSIX.
    Object.defineProperty(records, record.slice(0, eq), {
      value: record.slice(eq + 1),
      enumerable: true,
      writable: true,
      configurable: true,
    });
    at += len;
  }
  return records;
}

const TYPES: Record<string, TarType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

export interface ReadTarOptions {
  /**
   * Strict mode (for `.hpk`): no GNU long-name entries, no global pax headers, the end
   * must be two zero blocks and nothing but zero bytes may follow.
   */
  strict?: boolean;
  /** The largest pax or GNU long-name header accepted (bytes). */
  maxHeaderBytes?: number;
}

const own = (o: Record<string, string>, k: string): string | undefined =>
  Object.hasOwn(o, k) ? o[k] : undefined;

function paxNumber(records: Record<string, string>, key: string, offset: number): number | undefined {
  const value = own(records, key);
  if (value === undefined) return undefined;
  const n = Number(value);
  const ok = key === 'mtime' ? Number.isFinite(n) : Number.isSafeInteger(n) && n >= 0;
  if (!ok || value.trim() === '') throw new TarFormatError('corrupt', `bad pax ${key} '${value}'`, offset);
  return n;
}

/**
 * Reads a tar stream entry by entry. Each entry's `body()` yields its data; data not read
 * is skipped when the next entry is asked for.
 *
 * @example
 * for await (const entry of readTar(fs.createReadStream('a.tar'))) {
 *   console.log(entry.type, entry.path, entry.size);
 * }
 */
export async function* readTar(
  source: AsyncIterable<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarEntry> {
  const strict = options.strict ?? false;
  const maxHeader = options.maxHeaderBytes ?? 1024 * 1024;
  const reader = new ByteReader(source);
  let pax: Record<string, string> = {};
  let gnuPath: string | undefined;
  let gnuLink: string | undefined;
  let entryStart = -1;
  let headerBytes = 0;

  const truncated = (path?: string) => () =>
    new TarFormatError('truncated', 'the archive ends in the middle of an entry', reader.position, path);

  const readData = async (size: number, what: string): Promise<Buffer> => {
    if (size > maxHeader)
      throw new TarFormatError('corrupt', `${what} of ${size} bytes is too large`, reader.position);
    const parts: Buffer[] = [];
    for await (const part of reader.take(size, truncated())) parts.push(Buffer.from(part));
    await reader.skip(padding(size), truncated());
    return Buffer.concat(parts);
  };

  while (true) {
    const at = reader.position;
    const block = await reader.read(BLOCK);
    if (block.length === 0) {
      if (strict || entryStart !== -1)
        throw new TarFormatError('truncated', 'the archive ends without its end-of-archive blocks', at);
      return;
    }
    if (block.length < BLOCK) throw new TarFormatError('truncated', 'the archive ends inside a header', at);
    if (isZero(block)) {
      const second = await reader.read(BLOCK);
      if (entryStart !== -1)
        throw new TarFormatError('corrupt', 'an extended header is not followed by its entry', at);
      if (strict) {
        if (second.length < BLOCK)
          throw new TarFormatError('truncated', 'the archive ends inside its end-of-archive blocks', at);
        if (!isZero(second))
          throw new TarFormatError('corrupt', 'a zero block in the middle of the archive', at);
        // Writers pad to a record size with zeros; anything else after the end is smuggled data.
        while (!(await reader.atEnd())) {
          const rest = await reader.read(64 * 1024);
          if (!isZero(rest))
            throw new TarFormatError('corrupt', 'data after the end of the archive', reader.position);
        }
      }
      return;
    }
    if (!checksumOk(block)) throw new TarFormatError('corrupt', 'bad tar header checksum', at);
    if (entryStart === -1) entryStart = at;

    const typeflag = String.fromCharCode(block[156]!);
    const size = parseNumber(block, 124, 12, 'size', at);
    if (typeflag === 'x') {
      // Several pax headers may precede one entry; together they stay under the cap.
      headerBytes += size;
      if (headerBytes > maxHeader)
        throw new TarFormatError('corrupt', 'too many pax header bytes for one entry', at);
      pax = { ...pax, ...parsePax(await readData(size, 'pax header'), at) };
      continue;
    }
    if (typeflag === 'g') {
      if (strict) throw new TarFormatError('unsupported', 'global pax headers are not allowed', at);
      await readData(size, 'global pax header');
      entryStart = -1;
      continue;
    }
    if (typeflag === 'L' || typeflag === 'K') {
      if (strict)
        throw new TarFormatError('unsupported', 'GNU long-name entries are not allowed (use pax)', at);
      const name = cString(await readData(size, 'GNU long name'), 0, size);
      if (typeflag === 'L') gnuPath = name;
      else gnuLink = name;
      continue;
    }
    const type = TYPES[typeflag];
    const magic = block.subarray(257, 263).toString('latin1');
    const ustar = magic === 'ustar\0' || magic === 'ustar ';
    const prefix = ustar && magic === 'ustar\0' ? cString(block, 345, 155) : '';
    const name = cString(block, 0, 100);
    const path = own(pax, 'path') ?? gnuPath ?? (prefix ? `${prefix}/${name}` : name);
    if (!type) {
      throw new TarFormatError(
        'unsupported',
        `entry type '${typeflag.replace(/[^\x20-\x7e]/g, '?')}' is not supported`,
        at,
        path,
      );
    }
    const header: TarHeader = {
      path,
      type,
      mode: parseNumber(block, 100, 8, 'mode', at),
      uid: paxNumber(pax, 'uid', at) ?? parseNumber(block, 108, 8, 'uid', at),
      gid: paxNumber(pax, 'gid', at) ?? parseNumber(block, 116, 8, 'gid', at),
      size: paxNumber(pax, 'size', at) ?? size,
      mtime: paxNumber(pax, 'mtime', at) ?? parseNumber(block, 136, 12, 'mtime', at),
      linkpath: own(pax, 'linkpath') ?? gnuLink ?? cString(block, 157, 100),
      uname: own(pax, 'uname') ?? (ustar ? cString(block, 265, 32) : ''),
      gname: own(pax, 'gname') ?? (ustar ? cString(block, 297, 32) : ''),
      devmajor: ustar ? parseNumber(block, 329, 8, 'devmajor', at) : 0,
      devminor: ustar ? parseNumber(block, 337, 8, 'devminor', at) : 0,
      pax,
    };
    // Links, devices, fifos and directories carry no data whatever the size field says
    // (hard links may in pax, but we never read it).
    const dataSize = type === 'file' ? header.size : 0;
    const dataOffset = reader.position;
    let consumed = false;
    const body = async function* (): AsyncGenerator<Buffer> {
      if (consumed || reader.position !== dataOffset)
        throw new Error(`the body of ${path} can no longer be read`);
      consumed = true;
      yield* reader.take(dataSize, truncated(path));
    };
    const headerOffset = entryStart;
    pax = {};
    gnuPath = undefined;
    gnuLink = undefined;
    entryStart = -1;
    headerBytes = 0;
    yield { ...header, headerOffset, dataOffset, body };
    const left = dataOffset + dataSize - reader.position;
    if (left > 0) await reader.skip(left, truncated(path));
    await reader.skip(padding(dataSize), truncated(path));
  }
}

/** The zero bytes that round `size` up to a whole block. */
export const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

const TYPEFLAGS: Record<TarType, string> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  'character-device': '3',
  'block-device': '4',
  directory: '5',
  fifo: '6',
};

export interface TarWriteHeader {
  path: string;
  type: TarType;
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkpath?: string;
  uname?: string;
  gname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extra pax records to carry (xattrs and the like). */
  pax?: Record<string, string>;
}

function writeString(block: Buffer, value: string, start: number, length: number): boolean {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > length || /[^\x20-\x7e]/.test(value)) return false;
  bytes.copy(block, start);
  return true;
}

function writeOctal(block: Buffer, value: number, start: number, length: number): boolean {
  if (!Number.isSafeInteger(value) || value < 0) return false;
  const digits = value.toString(8);
  if (digits.length > length - 1) return false;
  block.write(`${digits.padStart(length - 1, '0')}\0`, start, 'latin1');
  return true;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len)
    len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

function ustarBlock(
  h: TarWriteHeader,
  name: string,
  typeflag: string,
  size: number,
  overflow: Record<string, string>,
): Buffer {
  const block = Buffer.alloc(BLOCK);
  const field = (key: string, value: string, ok: boolean) => {
    if (!ok) overflow[key] = value;
  };
  field('path', h.path, writeString(block, name, 0, 100));
  writeOctal(block, (h.mode ?? (h.type === 'directory' ? 0o755 : 0o644)) & 0o7777, 100, 8);
  field('uid', String(h.uid ?? 0), writeOctal(block, h.uid ?? 0, 108, 8));
  field('gid', String(h.gid ?? 0), writeOctal(block, h.gid ?? 0, 116, 8));
  field('size', String(size), writeOctal(block, size, 124, 12));
  const mtime = h.mtime ?? 0;
  field('mtime', String(mtime), writeOctal(block, mtime, 136, 12));
  block.write(typeflag, 156, 'latin1');
  field('linkpath', h.linkpath ?? '', writeString(block, h.linkpath ?? '', 157, 100));
  block.write('ustar\x0000', 257, 'latin1');
  field('uname', h.uname ?? '', writeString(block, h.uname ?? '', 265, 32));
  field('gname', h.gname ?? '', writeString(block, h.gname ?? '', 297, 32));
  writeOctal(block, h.devmajor ?? 0, 329, 8);
  writeOctal(block, h.devminor ?? 0, 337, 8);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/**
 * The header block(s) of one entry: a pax extended header first when a field does not
 * fit ustar (long or non-ASCII paths, sizes of 8 GiB and more) or extra records are given.
 * Deterministic: the same header always encodes to the same bytes.
 *
 * @example
 * out.write(encodeHeader({ path: 'manifest.json', type: 'file', size: data.length }));
 * out.write(data);
 * out.write(Buffer.alloc(padding(data.length)));
 */
export function encodeHeader(h: TarWriteHeader): Buffer {
  const size = h.type === 'file' ? (h.size ?? 0) : 0;
  const overflow: Record<string, string> = {};
  const main = ustarBlock(h, h.path, TYPEFLAGS[h.type], size, overflow);
  const records = { ...(h.pax ?? {}), ...overflow };
  const keys = Object.keys(records).sort();
  if (keys.length === 0) return main;
  // Fields carried by pax get a harmless stand-in in the ustar block.
  const plain: TarWriteHeader = {
    ...h,
    path: Object.hasOwn(overflow, 'path') ? asciiStandIn(h.path, 100) : h.path,
    ...(Object.hasOwn(overflow, 'linkpath') ? { linkpath: asciiStandIn(h.linkpath ?? '', 100) } : {}),
    ...(Object.hasOwn(overflow, 'uid') ? { uid: 0 } : {}),
    ...(Object.hasOwn(overflow, 'gid') ? { gid: 0 } : {}),
    ...(Object.hasOwn(overflow, 'mtime') ? { mtime: 0 } : {}),
    ...(Object.hasOwn(overflow, 'uname') ? { uname: '' } : {}),
    ...(Object.hasOwn(overflow, 'gname') ? { gname: '' } : {}),
  };
  const data = Buffer.from(keys.map((k) => paxRecord(k, records[k]!)).join(''), 'utf8');
  const paxHeader = ustarBlock(
    {
      path: asciiStandIn(`PaxHeader/${h.path.split('/').filter(Boolean).pop() ?? 'entry'}`, 100),
      type: 'file',
    },
    asciiStandIn(`PaxHeader/${h.path.split('/').filter(Boolean).pop() ?? 'entry'}`, 100),
    'x',
    data.length,
    {},
  );
  const again = ustarBlock(
    plain,
    plain.path,
    TYPEFLAGS[h.type],
    Object.hasOwn(overflow, 'size') ? 0 : size,
    {},
  );
  return Buffer.concat([paxHeader, data, Buffer.alloc(padding(data.length)), again]);
}

function asciiStandIn(value: string, max: number): string {
  return value.replace(/[^\x20-\x7e]/g, '_').slice(-max);
}
