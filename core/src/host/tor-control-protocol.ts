/*
 * Tor's control protocol (control-spec.txt, section 2), pure: replies read from bytes
 * under bounds, the few answers we use parsed into values, commands written. The socket
 * and the process are in tor.ts.
 *
 * A reply is lines of `NNN-text` (more follows), `NNN+text` (a data block follows, ended by
 * a line holding only `.`, dot-stuffed) and one `NNN text` that ends it. 650 replies are
 * asynchronous events, which we never ask for but skip if they come.
 */

export interface ReplyLine {
  status: number;
  text: string;
  /** The data block after a `NNN+` line, lines joined with `\n`, dot-stuffing undone. */
  data?: string;
}

export interface Reply {
  /** The status of the last line: 250 is success. */
  status: number;
  lines: ReplyLine[];
}

export class ControlProtocolError extends Error {
  override name = 'ControlProtocolError';
}

export interface ReplyLimits {
  /** Longest line, in bytes, without its CRLF. */
  maxLineBytes: number;
  /** Largest reply, all lines and data together. */
  maxReplyBytes: number;
  maxLines: number;
}

export const DEFAULT_LIMITS: ReplyLimits = {
  maxLineBytes: 16_384,
  maxReplyBytes: 1_048_576,
  maxLines: 10_000,
};

/**
 * Turns the bytes tor sends into whole replies. Anything that breaks the grammar or a
 * bound throws, after which the connection is not to be trusted: the caller closes it.
 */
export class ReplyReader {
  readonly #limits: ReplyLimits;
  #buffer: Buffer = Buffer.alloc(0);
  #lines: ReplyLine[] = [];
  #bytes = 0;
  /** Inside a data block: the line that opened it and the data so far. */
  #data: { line: ReplyLine; parts: string[] } | undefined;

  constructor(limits: Partial<ReplyLimits> = {}) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Feeds bytes; returns the replies they complete, in order. */
  push(chunk: Buffer): Reply[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const replies: Reply[] = [];
    for (;;) {
      const end = this.#buffer.indexOf('\n');
      if (end < 0) {
        if (this.#buffer.length > this.#limits.maxLineBytes + 1) {
          throw new ControlProtocolError(`a line longer than ${this.#limits.maxLineBytes} bytes`);
        }
        return replies;
      }
      let raw = this.#buffer.subarray(0, end);
      this.#buffer = this.#buffer.subarray(end + 1);
      if (raw.length > 0 && raw[raw.length - 1] === 0x0d) raw = raw.subarray(0, raw.length - 1);
      if (raw.length > this.#limits.maxLineBytes) {
        throw new ControlProtocolError(`a line longer than ${this.#limits.maxLineBytes} bytes`);
      }
      this.#bytes += raw.length + 2;
      if (this.#bytes > this.#limits.maxReplyBytes) {
        throw new ControlProtocolError(`a reply larger than ${this.#limits.maxReplyBytes} bytes`);
      }
      const reply = this.#line(raw.toString('utf8'));
      if (reply && reply.status !== 650) replies.push(reply);
    }
  }

  #line(text: string): Reply | undefined {
    if (this.#data) {
      if (text === '.') {
        this.#data.line.data = this.#data.parts.join('\n');
        this.#data = undefined;
      } else {
        this.#data.parts.push(text.startsWith('.') ? text.slice(1) : text);
      }
      return undefined;
    }
    const m = /^([0-9]{3})([- +])(.*)$/s.exec(text);
    if (!m) throw new ControlProtocolError(`not a reply line: ${JSON.stringify(text.slice(0, 80))}`);
    const line: ReplyLine = { status: Number(m[1]), text: m[3] as string };
    if (this.#lines.length > 0 && (this.#lines[0] as ReplyLine).status !== line.status) {
      // Tor keeps one status through a reply; a change means we lost our place.
      throw new ControlProtocolError(
        `status changed within a reply: ${this.#lines[0]?.status} then ${line.status}`,
      );
    }
    this.#lines.push(line);
    if (this.#lines.length > this.#limits.maxLines) {
      throw new ControlProtocolError(`a reply of more than ${this.#limits.maxLines} lines`);
    }
    if (m[2] === '+') this.#data = { line, parts: [] };
    if (m[2] !== ' ') return undefined;
    const reply = { status: line.status, lines: this.#lines };
    this.#lines = [];
    this.#bytes = 0;
    return reply;
  }
}

/**
 * `KEY=value KEY2="quoted \"value\""` into a map; a word without `=` is kept under its own
 * name with the value `''`. Quoted values undo C-style escapes (control-spec 2.1.1).
 */
export function parseKeyValues(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ') i++;
    if (i >= text.length) break;
    const eq = /^[^ =]+/.exec(text.slice(i));
    const key = eq ? eq[0] : '';
    if (key === '') throw new ControlProtocolError(`no key at ${JSON.stringify(text.slice(i, i + 20))}`);
    i += key.length;
    if (text[i] !== '=') {
      out.set(key, '');
      continue;
    }
    i++;
    if (text[i] === '"') {
      const [value, next] = unquote(text, i);
      out.set(key, value);
      i = next;
    } else {
      const end = text.indexOf(' ', i);
      out.set(key, text.slice(i, end < 0 ? text.length : end));
      i = end < 0 ? text.length : end;
    }
  }
  return out;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', "'": "'" };

function unquote(text: string, start: number): [string, number] {
  let out = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length) throw new ControlProtocolError('a quoted string without its closing quote');
    const c = text[i] as string;
    if (c === '"') return [out, i + 1];
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) throw new ControlProtocolError('a quoted string ends in a backslash');
      const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4));
      if (octal) {
        out += String.fromCharCode(Number.parseInt(octal[0], 8));
        i += 1 + octal[0].length;
        continue;
      }
      out += ESCAPES[next] ?? next;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
}

/** A string as a control-protocol quoted string. */
export function quote(value: string): string {
  return `"${value
    .replace(/[\\"]/g, (c) => `\\${c}`)
    .replace(/\r/g, '\\r')
    .replace(/\n/g, '\\n')}"`;
}

/** The answer to `GETINFO k1 k2`: each key's value, one-line or a data block. */
export function parseGetInfo(reply: Reply): Map<string, string> {
  expectOk(reply, 'GETINFO');
  const out = new Map<string, string>();
  for (const line of reply.lines) {
    if (line.data !== undefined) {
      const key = line.text.replace(/=$/, '');
      out.set(key, line.data);
      continue;
    }
    const eq = line.text.indexOf('=');
    if (eq > 0) out.set(line.text.slice(0, eq), line.text.slice(eq + 1));
  }
  return out;
}

export interface ProtocolInfo {
  methods: string[];
  cookieFile: string | undefined;
  torVersion: string | undefined;
}

/** The answer to `PROTOCOLINFO 1`: the auth methods tor takes and where its cookie is. */
export function parseProtocolInfo(reply: Reply): ProtocolInfo {
  expectOk(reply, 'PROTOCOLINFO');
  let methods: string[] = [];
  let cookieFile: string | undefined;
  let torVersion: string | undefined;
  for (const line of reply.lines) {
    if (line.text.startsWith('AUTH ')) {
      const kv = parseKeyValues(line.text.slice(5));
      methods = (kv.get('METHODS') ?? '').split(',').filter(Boolean);
      cookieFile = kv.get('COOKIEFILE');
    } else if (line.text.startsWith('VERSION ')) {
      torVersion = parseKeyValues(line.text.slice(8)).get('Tor');
    }
  }
  return { methods, cookieFile, torVersion };
}

/** The answer to `AUTHCHALLENGE SAFECOOKIE <nonce>`: tor's hash and nonce, as bytes. */
export function parseAuthChallenge(reply: Reply): { serverHash: Buffer; serverNonce: Buffer } {
  expectOk(reply, 'AUTHCHALLENGE');
  const text = (reply.lines[0] as ReplyLine).text;
  if (!text.startsWith('AUTHCHALLENGE ')) throw new ControlProtocolError('AUTHCHALLENGE: unexpected answer');
  const kv = parseKeyValues(text.slice('AUTHCHALLENGE '.length));
  const hash = kv.get('SERVERHASH') ?? '';
  const nonce = kv.get('SERVERNONCE') ?? '';
  if (!/^[0-9A-Fa-f]{64}$/.test(hash) || !/^[0-9A-Fa-f]{64}$/.test(nonce)) {
    throw new ControlProtocolError('AUTHCHALLENGE: SERVERHASH and SERVERNONCE must be 32 bytes in hex');
  }
  return { serverHash: Buffer.from(hash, 'hex'), serverNonce: Buffer.from(nonce, 'hex') };
}

/** The answer to `ADD_ONION`: the service id tor made it under (no `.onion`). */
export function parseAddOnion(reply: Reply): { serviceId: string } {
  expectOk(reply, 'ADD_ONION');
  for (const line of reply.lines) {
    const m = /^ServiceID=([a-z2-7]{56})$/.exec(line.text);
    if (m) return { serviceId: m[1] as string };
  }
  throw new ControlProtocolError('ADD_ONION: no ServiceID in the answer');
}

export interface Bootstrap {
  progress: number;
  tag: string;
  summary: string;
  /** Set when tor says it is stuck: why, in its words. */
  warning?: string;
}

/** `status/bootstrap-phase`: `NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"`. */
export function parseBootstrapPhase(value: string): Bootstrap {
  const m = /^(NOTICE|WARN|ERR) BOOTSTRAP (.*)$/s.exec(value);
  if (!m)
    throw new ControlProtocolError(
      `status/bootstrap-phase: unexpected ${JSON.stringify(value.slice(0, 80))}`,
    );
  const kv = parseKeyValues(m[2] as string);
  const progress = Number(kv.get('PROGRESS'));
  if (!Number.isInteger(progress) || progress < 0 || progress > 100) {
    throw new ControlProtocolError('status/bootstrap-phase: PROGRESS must be 0 to 100');
  }
  const warning = m[1] === 'NOTICE' ? undefined : (kv.get('WARNING') ?? kv.get('REASON') ?? 'stuck');
  return {
    progress,
    tag: kv.get('TAG') ?? '',
    summary: kv.get('SUMMARY') ?? '',
    ...(warning === undefined ? {} : { warning }),
  };
}

/** `onions/detached` or `onions/current`: one service id per line, maybe none. */
export function parseOnionList(value: string): string[] {
  const ids = value
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const id of ids) {
    if (!/^[a-z2-7]{56}$/.test(id))
      throw new ControlProtocolError(`not an onion service id: ${JSON.stringify(id.slice(0, 80))}`);
  }
  return ids;
}

/** A reply that is not 250 as an error with tor's words. */
export function expectOk(reply: Reply, command: string): void {
  if (reply.status === 250) return;
  const text = reply.lines.map((l) => l.text).join(' ');
  throw new ControlCommandFailed(command, reply.status, text);
}

export class ControlCommandFailed extends Error {
  override name = 'ControlCommandFailed';
  readonly command: string;
  readonly status: number;
  readonly torSays: string;
  constructor(command: string, status: number, torSays: string) {
    super(`${command} failed: ${status} ${torSays}`);
    this.command = command;
    this.status = status;
    this.torSays = torSays;
  }
}

/** One command line; refuses what would smuggle a second command in. */
export function command(text: string): string {
  if (/[\r\n]/.test(text)) throw new ControlProtocolError('a control command must be one line');
  return `${text}\r\n`;
}
