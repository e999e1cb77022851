import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import {
  type Bootstrap,
  ControlProtocolError,
  command,
  expectOk,
  parseAddOnion,
  parseAuthChallenge,
  parseBootstrapPhase,
  parseGetInfo,
  parseOnionList,
  parseProtocolInfo,
  type Reply,
  ReplyReader,
} from './tor-control-protocol.ts';

/*
 * A client of tor's control port over node:net (a unix socket here): one command at a
 * time, each answered by one reply. Authenticates with the cookie tor writes, SAFECOOKIE
 * when offered (tor proves it knows the cookie too, so a process that took the socket's
 * place learns nothing), plain COOKIE otherwise.
 */

export interface OnionPort {
  /** The port clients dial at the .onion address. */
  virtualPort: number;
  /** Where tor forwards it: `host:port`. */
  target: string;
}

export interface TorControl {
  bootstrap(): Promise<Bootstrap>;
  /** The onion services added with `Flags=Detach` on any connection: their service ids. */
  detachedOnions(): Promise<string[]>;
  addOnion(key: string, ports: OnionPort[]): Promise<{ serviceId: string }>;
  delOnion(serviceId: string): Promise<void>;
  /** Tor exits when this connection closes (TAKEOWNERSHIP). */
  takeOwnership(): Promise<void>;
  close(): void;
  readonly closed: Promise<void>;
}

const SAFECOOKIE_SERVER = 'Tor safe cookie authentication server-to-controller hash';
const SAFECOOKIE_CLIENT = 'Tor safe cookie authentication controller-to-server hash';
const COMMAND_TIMEOUT_MS = 30_000;

export async function connectTorControl(o: { socket: string; timeoutMs?: number }): Promise<TorControl> {
  const socket = net.createConnection({ path: o.socket });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const client = new Client(socket, o.timeoutMs ?? COMMAND_TIMEOUT_MS);
  try {
    await client.authenticate();
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

class Client implements TorControl {
  readonly #socket: net.Socket;
  readonly #reader = new ReplyReader();
  readonly #timeoutMs: number;
  readonly #waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  #tail: Promise<unknown> = Promise.resolve();
  #error: Error | undefined;
  readonly closed: Promise<void>;

  constructor(socket: net.Socket, timeoutMs: number) {
    this.#socket = socket;
    this.#timeoutMs = timeoutMs;
    socket.on('data', (chunk: Buffer) => {
      let replies: Reply[];
      try {
        replies = this.#reader.push(chunk);
      } catch (error) {
        this.#fail(error as Error);
        return;
      }
      for (const r of replies) this.#waiting.shift()?.resolve(r);
    });
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        this.#fail(new Error('the connection to tor closed'));
        resolve();
      });
    });
    socket.on('error', (error) => this.#fail(error));
  }

  #fail(error: Error): void {
    this.#error ??= error;
    for (const w of this.#waiting.splice(0)) w.reject(error);
    this.#socket.destroy();
  }

  /** Sends one command and waits for its reply; commands queue behind each other. */
  send(line: string): Promise<Reply> {
    const text = command(line);
    const next = this.#tail.then(
      () =>
        new Promise<Reply>((resolve, reject) => {
          if (this.#error) {
            reject(this.#error);
            return;
          }
          const timer = setTimeout(() => {
            this.#fail(new Error(`tor did not answer ${line.split(' ')[0]} in ${this.#timeoutMs} ms`));
          }, this.#timeoutMs);
          this.#waiting.push({
            resolve: (r) => {
              clearTimeout(timer);
              resolve(r);
            },
            reject: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          });
          this.#socket.write(text);
        }),
    );
    this.#tail = next.catch(() => {});
    return next;
  }

  async authenticate(): Promise<void> {
    const info = parseProtocolInfo(await this.send('PROTOCOLINFO 1'));
    if (!info.cookieFile) throw new ControlProtocolError('tor offers no cookie file to authenticate with');
    const cookie = fs.readFileSync(info.cookieFile);
    if (cookie.length !== 32) throw new ControlProtocolError('tor’s cookie file is not 32 bytes');
    if (info.methods.includes('SAFECOOKIE')) {
      const clientNonce = crypto.randomBytes(32);
      const challenge = parseAuthChallenge(
        await this.send(`AUTHCHALLENGE SAFECOOKIE ${clientNonce.toString('hex')}`),
      );
      const message = Buffer.concat([cookie, clientNonce, challenge.serverNonce]);
      const expected = crypto.createHmac('sha256', SAFECOOKIE_SERVER).update(message).digest();
      if (!crypto.timingSafeEqual(expected, challenge.serverHash)) {
        throw new ControlProtocolError(
          'tor’s SAFECOOKIE hash is wrong: something else is on its control socket',
        );
      }
      const clientHash = crypto.createHmac('sha256', SAFECOOKIE_CLIENT).update(message).digest();
      expectOk(await this.send(`AUTHENTICATE ${clientHash.toString('hex')}`), 'AUTHENTICATE');
    } else if (info.methods.includes('COOKIE')) {
      expectOk(await this.send(`AUTHENTICATE ${cookie.toString('hex')}`), 'AUTHENTICATE');
    } else {
      throw new ControlProtocolError(`tor offers no cookie authentication (${info.methods.join(', ')})`);
    }
  }

  async bootstrap(): Promise<Bootstrap> {
    const info = parseGetInfo(await this.send('GETINFO status/bootstrap-phase'));
    return parseBootstrapPhase(info.get('status/bootstrap-phase') ?? '');
  }

  async detachedOnions(): Promise<string[]> {
    const info = parseGetInfo(await this.send('GETINFO onions/detached'));
    return parseOnionList(info.get('onions/detached') ?? '');
  }

  async addOnion(key: string, ports: OnionPort[]): Promise<{ serviceId: string }> {
    if (!/^ED25519-V3:[A-Za-z0-9+/=]+$/.test(key)) throw new ControlProtocolError('not an ED25519-V3 key');
    const mappings = ports.map((p) => {
      if (!Number.isInteger(p.virtualPort) || p.virtualPort < 1 || p.virtualPort > 65535) {
        throw new ControlProtocolError(`not a port: ${p.virtualPort}`);
      }
      if (!/^[0-9a-fA-F.:[\]]+:[0-9]{1,5}$/.test(p.target)) {
        throw new ControlProtocolError(`not an address and port: ${p.target}`);
      }
      return `Port=${p.virtualPort},${p.target}`;
    });
    // Detach: the service outlives this connection, so a reconnect finds it (onions/detached).
    // DiscardPK: tor never echoes the key back.
    return parseAddOnion(await this.send(`ADD_ONION ${key} Flags=Detach,DiscardPK ${mappings.join(' ')}`));
  }

  async delOnion(serviceId: string): Promise<void> {
    if (!/^[a-z2-7]{56}$/.test(serviceId)) throw new ControlProtocolError('not an onion service id');
    expectOk(await this.send(`DEL_ONION ${serviceId}`), 'DEL_ONION');
  }

  async takeOwnership(): Promise<void> {
    expectOk(await this.send('TAKEOWNERSHIP'), 'TAKEOWNERSHIP');
  }

  close(): void {
    this.#socket.end();
    this.#socket.destroySoon();
  }
}
