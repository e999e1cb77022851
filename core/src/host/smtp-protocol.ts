/**
 * The SMTP client's protocol, without sockets (RFC 5321, RFC 3207 STARTTLS, RFC 4954
 * AUTH, RFC 4616 PLAIN): replies read from bytes under fixed bounds, the commands we
 * send, and the DATA body. `smtp.ts` does the I/O.
 */

export interface SmtpReply {
  code: number;
  /** The text of each line, without the code and separator. */
  lines: string[];
}

/** A server that does not speak SMTP, or speaks too much of it. */
export class SmtpProtocolError extends Error {
  override readonly name = 'SmtpProtocolError';
}

/** RFC 5321 4.5.3.1.5 allows 512 octets per reply line; real servers stay far below. */
export const MAX_REPLY_LINE = 1000;
/** An EHLO answer is the longest reply: a dozen extensions. */
export const MAX_REPLY_LINES = 64;

/**
 * Cuts bytes from the server into replies. A line longer than MAX_REPLY_LINE, a reply of
 * more than MAX_REPLY_LINES lines, a line that is not `ddd-text`/`ddd text`, or a code
 * that changes within a reply is a protocol error: a hostile server cannot make us
 * hold more than about 64 KiB.
 */
export class ReplyReader {
  #pending: Buffer = Buffer.alloc(0);
  #lines: string[] = [];
  #code: number | undefined;

  /** Feeds bytes; returns the replies they complete, in order. */
  feed(chunk: Buffer): SmtpReply[] {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    const replies: SmtpReply[] = [];
    for (;;) {
      const nl = this.#pending.indexOf(0x0a);
      if (nl === -1) {
        if (this.#pending.length > MAX_REPLY_LINE) {
          throw new SmtpProtocolError(`a reply line is longer than ${MAX_REPLY_LINE} bytes`);
        }
        return replies;
      }
      if (nl > MAX_REPLY_LINE)
        throw new SmtpProtocolError(`a reply line is longer than ${MAX_REPLY_LINE} bytes`);
      // Lenient about a bare LF, as most clients are; strict about everything else.
      const end = nl > 0 && this.#pending[nl - 1] === 0x0d ? nl - 1 : nl;
      const line = this.#pending.subarray(0, end).toString('utf8');
      this.#pending = this.#pending.subarray(nl + 1);
      const reply = this.#line(line);
      if (reply) replies.push(reply);
    }
  }

  /** Whether bytes of an unfinished reply are waiting. */
  get partial(): boolean {
    return this.#pending.length > 0 || this.#lines.length > 0;
  }

  #line(line: string): SmtpReply | undefined {
    const m = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s.exec(line);
    if (!m) throw new SmtpProtocolError(`not an SMTP reply: ${printable(line, 80)}`);
    const code = Number(m[1]);
    if (this.#code !== undefined && code !== this.#code) {
      throw new SmtpProtocolError(`a reply changed its code from ${this.#code} to ${code}`);
    }
    this.#code = code;
    this.#lines.push(m[3] ?? '');
    if (m[2] === '-') {
      if (this.#lines.length >= MAX_REPLY_LINES) {
        throw new SmtpProtocolError(`a reply is longer than ${MAX_REPLY_LINES} lines`);
      }
      return undefined;
    }
    const reply = { code, lines: this.#lines };
    this.#lines = [];
    this.#code = undefined;
    return reply;
  }
}

/** What a server said, in one line fit for an error message or a log: no control characters, cut. */
export function describeReply(reply: SmtpReply, max = 200): string {
  return printable(`${reply.code} ${reply.lines.join(' ')}`.trim(), max);
}

/** Text from the other side, made safe to show: control characters become spaces, and it is cut. */
export function printable(text: string, max: number): string {
  const clean = text.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]+/g, ' ').trim();
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

export interface Extensions {
  starttls: boolean;
  /** AUTH mechanisms, upper case. */
  auth: Set<string>;
  /** SIZE's limit in bytes, when the server gives one (0: no limit stated). */
  size: number | undefined;
}

/** The EHLO answer's extensions (its first line is the server's greeting). */
export function parseEhlo(reply: SmtpReply): Extensions {
  const ext: Extensions = { starttls: false, auth: new Set(), size: undefined };
  for (const line of reply.lines.slice(1)) {
    const [keyword = '', ...params] = line.trim().split(/\s+/);
    switch (keyword.toUpperCase()) {
      case 'STARTTLS':
        ext.starttls = true;
        break;
      case 'AUTH':
        for (const p of params) ext.auth.add(p.toUpperCase());
        break;
      // Some old servers announced `AUTH=LOGIN PLAIN` before RFC 4954.
      default:
        if (keyword.toUpperCase().startsWith('AUTH=')) {
          for (const p of [keyword.slice(5), ...params]) if (p) ext.auth.add(p.toUpperCase());
        } else if (keyword.toUpperCase() === 'SIZE' && params[0] && /^\d+$/.test(params[0])) {
          ext.size = Number(params[0]);
        }
    }
  }
  return ext;
}

/**
 * One command line. Anything the caller puts in it that could end the line early (CR,
 * LF, NUL) is refused, so no value can add a command of its own.
 */
export function command(verb: string, arg?: string): string {
  const line = arg === undefined ? verb : `${verb} ${arg}`;
  if (/[\r\n\0]/.test(line)) throw new SmtpProtocolError(`${verb}: a value holds a line break`);
  return `${line}\r\n`;
}

/** `MAIL FROM:<a@b>`/`RCPT TO:<a@b>`: the address must not be able to close the brackets. */
export function pathArg(prefix: 'FROM' | 'TO', address: string): string {
  if (/[<>\s\0]/.test(address)) throw new SmtpProtocolError(`${prefix}: not a mail address`);
  return `${prefix}:<${address}>`;
}

/** RFC 4616: authorization identity (empty), user and password, NUL-separated, base64. */
export function authPlain(user: string, password: string): string {
  if (user.includes('\0') || password.includes('\0')) {
    throw new SmtpProtocolError('a user name or password with a NUL character cannot be sent');
  }
  return Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64');
}

export const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

/**
 * The AUTH mechanism to use: PLAIN where offered, else LOGIN (Exchange and older
 * servers). Either sends the password itself, so only ever over TLS.
 */
export function chooseAuth(offered: Set<string>): 'PLAIN' | 'LOGIN' | undefined {
  if (offered.has('PLAIN')) return 'PLAIN';
  if (offered.has('LOGIN')) return 'LOGIN';
  return undefined;
}

/**
 * The DATA body: every line ending made CRLF (a bare CR or LF is what SMTP smuggling
 * feeds on, so none goes out), each line that starts with a dot given a second one
 * (RFC 5321 4.5.2), and the `.` line that ends it.
 */
export function dataBody(message: string): Buffer {
  const lines = message.split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  const stuffed = lines.map((l) => (l.startsWith('.') ? `.${l}` : l));
  return Buffer.from(`${stuffed.join('\r\n')}\r\n.\r\n`, 'utf8');
}

/** An address literal for EHLO (RFC 5321 4.1.3): what we are, without a name anyone could check. */
export function addressLiteral(address: string | undefined): string {
  if (!address) return '[127.0.0.1]';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return `[${mapped[1]}]`;
  return address.includes(':') ? `[IPv6:${address}]` : `[${address}]`;
}
