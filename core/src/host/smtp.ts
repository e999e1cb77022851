import net from 'node:net';
import tls from 'node:tls';
import {
  type AddressCheck,
  isCertificateError,
  isUnreachable,
  resolveChecked,
  SendFailed,
  socketProblem,
} from './outbound.ts';
import {
  addressLiteral,
  authPlain,
  base64,
  chooseAuth,
  command,
  dataBody,
  describeReply,
  parseEhlo,
  pathArg,
  ReplyReader,
  SmtpProtocolError,
  type SmtpReply,
} from './smtp-protocol.ts';

export type SmtpSecurity = 'starttls' | 'tls' | 'plain';

export interface SmtpSend {
  host: string;
  port: number;
  /** `starttls` (submission, 587) and `tls` (465) verify the server's certificate; `plain` is for a LAN relay. */
  security: SmtpSecurity;
  username?: string | undefined;
  password?: string | undefined;
  from: string;
  to: string[];
  /** The whole RFC 5322 message (headers, blank line, body). */
  message: string;
  /** For the whole conversation, connect to QUIT. */
  timeoutMs: number;
  checkAddress: AddressCheck;
  signal?: AbortSignal;
  /** CA certificates to trust besides Node's own (tests; a LAN relay's own CA). */
  ca?: string | undefined;
}

/** Addresses of one name tried in turn when a connection is refused or unreachable. */
const MAX_ADDRESSES = 3;
/** Unanswered replies a server may push ahead of us before we call it a flood. */
const MAX_UNREAD_REPLIES = 8;

/**
 * Sends one message by SMTP submission on node:net/node:tls — no program, no shell.
 * Answers the server's last reply; throws SendFailed. The password goes only over TLS,
 * and no text of ours (least of all the password) is ever part of an error.
 */
export async function sendMail(o: SmtpSend): Promise<{ reply: string }> {
  const secrets = o.password
    ? [o.password, base64(o.password), ...(o.username ? [authPlain(o.username, o.password)] : [])]
    : [];
  try {
    return await converse(o);
  } catch (e) {
    const failed =
      e instanceof SendFailed
        ? e
        : e instanceof SmtpProtocolError
          ? new SendFailed('smtp_protocol', `the mail server at ${o.host} misbehaved: ${e.message}`, false)
          : new SendFailed('connect_failed', `${o.host}:${o.port}: ${socketProblem(e)}`, false);
    const message = scrub(failed.message, secrets);
    throw message === failed.message ? failed : failed.withMessage(message);
  }
}

async function converse(o: SmtpSend): Promise<{ reply: string }> {
  if (o.username && o.security === 'plain') {
    throw new SendFailed(
      'auth_unavailable',
      'a password is only sent over TLS: use security starttls or tls',
      true,
    );
  }
  const addresses = await resolveChecked(o.host, o.checkAddress, o.signal);
  const servername = net.isIP(o.host) ? undefined : o.host;
  const wire = await connect(o, addresses, servername);
  try {
    const helo = addressLiteral(wire.localAddress);
    expect(await wire.reply(), [220], 'the greeting', o.host);
    let ext = await hello(wire, helo, o);
    if (o.security === 'starttls') {
      if (!ext.starttls) {
        throw new SendFailed(
          'starttls_unavailable',
          `the mail server at ${o.host} does not offer STARTTLS: choose security tls (port 465), or plain for a relay on your network`,
          true,
        );
      }
      wire.send(command('STARTTLS'));
      expect(await wire.reply(), [220], 'STARTTLS', o.host);
      await wire.startTls(servername, wire.remoteAddress);
      ext = parseEhlo(expect(await wire.command(command('EHLO', helo)), [250], 'EHLO', o.host));
    }
    if (o.username && o.password !== undefined) await authenticate(wire, ext.auth, o);
    const data = dataBody(o.message);
    if (ext.size && data.length > ext.size) {
      throw new SendFailed(
        'smtp_rejected',
        `the message is larger than ${o.host} accepts (${ext.size} bytes)`,
        true,
      );
    }
    expect(await wire.command(command('MAIL', pathArg('FROM', o.from))), [250], 'the sender', o.host);
    for (const to of o.to) {
      expect(
        await wire.command(command('RCPT', pathArg('TO', to))),
        [250, 251],
        `the recipient ${to}`,
        o.host,
      );
    }
    expect(await wire.command(command('DATA')), [354], 'DATA', o.host);
    const accepted = expect(await wire.command(data), [250], 'the message', o.host);
    // The message is accepted; QUIT is a courtesy whose answer we do not wait for.
    wire.send(command('QUIT'));
    return { reply: describeReply(accepted) };
  } finally {
    wire.close();
  }
}

/**
 * A connection to the first of `addresses` that takes one (a name's IPv6 and IPv4
 * addresses: one of them may not be reachable from here).
 */
async function connect(o: SmtpSend, addresses: string[], servername: string | undefined): Promise<Wire> {
  const tried = addresses.slice(0, MAX_ADDRESSES);
  for (const [i, address] of tried.entries()) {
    const wire = new Wire(o);
    try {
      if (o.security === 'tls') {
        await wire.open(
          tls.connect({ host: address, port: o.port, servername, ca: ca(o), minVersion: 'TLSv1.2' }),
          'secureConnect',
        );
      } else {
        await wire.open(net.connect({ host: address, port: o.port }), 'connect');
      }
      return wire;
    } catch (e) {
      wire.close();
      if (i === tried.length - 1 || !wire.unreachable) throw e;
    }
  }
  throw new SendFailed('resolve_failed', `${o.host} has no address`, false);
}

async function hello(wire: Wire, helo: string, o: SmtpSend) {
  const reply = await wire.command(command('EHLO', helo));
  if (reply.code === 250) return parseEhlo(reply);
  // A relay that only knows HELO can still take mail that needs no extension.
  if (reply.code >= 500 && o.security === 'plain' && !o.username) {
    expect(await wire.command(command('HELO', helo)), [250], 'HELO', o.host);
    return parseEhlo({ code: 250, lines: [''] });
  }
  return parseEhlo(expect(reply, [250], 'EHLO', o.host));
}

async function authenticate(wire: Wire, offered: Set<string>, o: SmtpSend): Promise<void> {
  if (!wire.secure) {
    throw new SendFailed('auth_unavailable', 'a password is only sent over TLS', true);
  }
  const mechanism = chooseAuth(offered);
  if (!mechanism) {
    throw new SendFailed(
      'auth_unavailable',
      `the mail server at ${o.host} offers no way to log in that Hearth knows (PLAIN or LOGIN)${offered.size ? `: it offers ${[...offered].join(', ')}` : ''}`,
      true,
    );
  }
  const user = o.username ?? '';
  const password = o.password ?? '';
  let reply: SmtpReply;
  if (mechanism === 'PLAIN') {
    reply = await wire.command(command('AUTH', `PLAIN ${authPlain(user, password)}`));
    // A server that wants the credentials on a line of their own asks with an empty 334.
    if (reply.code === 334) reply = await wire.command(command(authPlain(user, password)));
  } else {
    expect(await wire.command(command('AUTH', 'LOGIN')), [334], 'AUTH LOGIN', o.host);
    expect(await wire.command(command(base64(user))), [334], 'AUTH LOGIN', o.host);
    reply = await wire.command(command(base64(password)));
  }
  if (reply.code !== 235) {
    if (reply.code === 535 || reply.code === 534) {
      throw new SendFailed(
        'smtp_rejected',
        `the mail server at ${o.host} refused the user name or password: ${describeReply(reply)}`,
        true,
      );
    }
    expect(reply, [235], 'the login', o.host);
  }
}

/** The reply if its code is one of `codes`; otherwise a failure that says what was refused. */
function expect(reply: SmtpReply, codes: number[], what: string, host: string): SmtpReply {
  if (codes.includes(reply.code)) return reply;
  if (reply.code >= 400) {
    // 4xx: try again later; 5xx: this will not work as it is.
    throw new SendFailed(
      'smtp_rejected',
      `the mail server at ${host} refused ${what}: ${describeReply(reply)}`,
      reply.code >= 500,
    );
  }
  throw new SendFailed(
    'smtp_protocol',
    `the mail server at ${host} answered ${what} with ${describeReply(reply)}`,
    false,
  );
}

const ca = (o: SmtpSend) => (o.ca ? [...tls.rootCertificates, o.ca] : undefined);

/** Replaces each secret in `text`: a hostile server could echo what we sent into its reply. */
function scrub(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join('[redacted]');
  return out;
}

/**
 * One connection: bytes in through the ReplyReader, replies handed out in order, a
 * deadline for the whole conversation, and STARTTLS over the same socket.
 */
class Wire {
  #socket: net.Socket | undefined;
  readonly #reader = new ReplyReader();
  readonly #replies: SmtpReply[] = [];
  #waiting: { resolve: (r: SmtpReply) => void; reject: (e: unknown) => void } | undefined;
  #opening: ((e: unknown) => void) | undefined;
  /** Whether the connection failed before reaching anyone (refused, no route). */
  unreachable = false;
  #failure: unknown;
  readonly #timer: NodeJS.Timeout;
  readonly #o: SmtpSend;
  readonly #onAbort = () => this.#fail(new SendFailed('send_cancelled', 'the send was cancelled', false));
  secure = false;

  constructor(o: SmtpSend) {
    this.#o = o;
    this.#timer = setTimeout(
      () =>
        this.#fail(
          new SendFailed(
            'send_timeout',
            `the mail server at ${o.host} did not finish within ${o.timeoutMs / 1000} s`,
            false,
          ),
        ),
      o.timeoutMs,
    );
    o.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  get localAddress(): string | undefined {
    return this.#socket?.localAddress;
  }

  get remoteAddress(): string {
    return this.#socket?.remoteAddress ?? '';
  }

  async open(socket: net.Socket, ready: 'connect' | 'secureConnect'): Promise<void> {
    this.#attach(socket);
    await this.#until(socket, ready);
    this.secure = ready === 'secureConnect';
  }

  async startTls(servername: string | undefined, address: string): Promise<void> {
    // Bytes the server sent after its 220 and before the handshake would be read as if
    // they came over TLS: a man in the middle's injection (CVE-2011-0411). Refuse them.
    if (this.#replies.length > 0 || this.#reader.partial) {
      throw new SmtpProtocolError('the server sent more after agreeing to STARTTLS');
    }
    const plain = this.#socket!;
    plain.removeAllListeners('data');
    const secure = tls.connect({
      socket: plain,
      servername,
      host: servername ?? address,
      ca: ca(this.#o),
      minVersion: 'TLSv1.2',
    });
    this.#attach(secure);
    await this.#until(secure, 'secureConnect');
    this.secure = true;
  }

  send(data: string | Buffer): void {
    if (this.#failure) throw this.#failure;
    this.#socket?.write(data);
  }

  /** Sends a command and waits for its reply. */
  command(data: string | Buffer): Promise<SmtpReply> {
    this.send(data);
    return this.reply();
  }

  reply(): Promise<SmtpReply> {
    if (this.#failure) return Promise.reject(this.#failure);
    const ready = this.#replies.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    this.#failure ??= new SendFailed('send_cancelled', 'the connection is closed', false);
    const s = this.#socket;
    if (s && !s.destroyed) {
      s.end();
      // A server that does not close its side gets a second, then the socket goes.
      setTimeout(() => s.destroy(), 1000).unref();
    }
  }

  #attach(socket: net.Socket): void {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const r of this.#reader.feed(chunk)) {
          const w = this.#waiting;
          if (w) {
            this.#waiting = undefined;
            w.resolve(r);
          } else {
            this.#replies.push(r);
            if (this.#replies.length > MAX_UNREAD_REPLIES) {
              throw new SmtpProtocolError('the server sent replies nobody asked for');
            }
          }
        }
      } catch (e) {
        this.#fail(e);
      }
    });
    socket.on('error', (e) => {
      this.unreachable ||= isUnreachable(e);
      this.#fail(this.#socketError(e));
    });
    socket.on('close', () =>
      this.#fail(
        new SendFailed('connect_failed', `the mail server at ${this.#o.host} closed the connection`, false),
      ),
    );
  }

  #socketError(e: unknown): SendFailed {
    const o = this.#o;
    if (isCertificateError(e)) {
      return new SendFailed(
        'tls_failed',
        `the TLS certificate of ${o.host} is not valid: ${socketProblem(e)}`,
        true,
      );
    }
    if ((e as NodeJS.ErrnoException).code?.startsWith('ERR_SSL') || (e as Error).message?.includes('SSL')) {
      return new SendFailed('tls_failed', `TLS with ${o.host}:${o.port} failed: ${socketProblem(e)}`, false);
    }
    return new SendFailed('connect_failed', `${o.host}:${o.port}: ${socketProblem(e)}`, false);
  }

  #until(socket: net.Socket, event: string): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      this.#opening = reject;
      socket.once(event, () => {
        this.#opening = undefined;
        resolve();
      });
    });
  }

  #fail(e: unknown): void {
    if (this.#failure) return;
    this.#failure = e;
    clearTimeout(this.#timer);
    this.#socket?.destroy();
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(e);
    this.#opening?.(e);
    this.#opening = undefined;
  }
}
