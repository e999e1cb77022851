import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import {
  buildUpdate,
  DnsMessageError,
  parseAnswer,
  rcodeText,
  type TsigKey,
  type TxtChange,
  verifyAnswer,
} from './dns-message.ts';

/**
 * Where a DNS-01 challenge's TXT record goes. RFC 2136 is the first provider; API providers
 * (a registrar's HTTP API) implement the same two calls.
 */
export interface DnsProvider {
  setTxt(name: string, value: string): Promise<void>;
  removeTxt(name: string, value: string): Promise<void>;
}

export interface Rfc2136Config {
  /** The primary server's address (an IP literal: the box does not resolve it first). */
  server: string;
  port: number;
  /** The zone the names are in (`example.com`). */
  zone: string;
  key: TsigKey;
  timeoutMs?: number;
}

export class DnsUpdateFailed extends Error {}

/** Answers larger than this are refused unread: an UPDATE's answer is a few hundred bytes. */
const MAX_ANSWER = 4096;

/** Sends one signed UPDATE over UDP and checks the answer: its id, its signature, its rcode. */
export async function sendUpdate(c: Rfc2136Config, changes: TxtChange[]): Promise<void> {
  if (net.isIP(c.server) === 0)
    throw new DnsUpdateFailed(`the DNS server must be an IP address: ${c.server}`);
  const id = randomInt(0, 65536);
  const { message, mac } = buildUpdate({
    id,
    zone: c.zone,
    changes,
    key: c.key,
    now: Math.floor(Date.now() / 1000),
  });
  const answer = await exchange(c, message, id);
  let parsed: ReturnType<typeof parseAnswer>;
  try {
    parsed = parseAnswer(answer);
  } catch (error) {
    throw new DnsUpdateFailed(`the DNS server's answer could not be read: ${(error as Error).message}`);
  }
  if (!parsed.isResponse || parsed.opcode !== 5)
    throw new DnsUpdateFailed('the DNS server answered something else');
  if (parsed.tsig && parsed.tsig.error !== 0) {
    throw new DnsUpdateFailed(
      `the DNS server refused the key (TSIG error ${parsed.tsig.error}): check its name and secret`,
    );
  }
  if (parsed.rcode !== 0)
    throw new DnsUpdateFailed(`the DNS server refused the update: ${rcodeText(parsed.rcode)}`);
  // A success must be signed with our key, or anyone on the path could claim it.
  if (!verifyAnswer(answer, parsed, mac, c.key))
    throw new DnsUpdateFailed('the DNS server’s answer is not signed with the key');
}

function exchange(c: Rfc2136Config, message: Buffer, id: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket(net.isIPv6(c.server) ? 'udp6' : 'udp4');
    const done = (error: Error | undefined, answer?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (error) reject(error);
      else resolve(answer!);
    };
    const timer = setTimeout(
      () => done(new DnsUpdateFailed(`no answer from the DNS server ${c.server}:${c.port}`)),
      c.timeoutMs ?? 5000,
    );
    socket.on('error', (error) =>
      done(new DnsUpdateFailed(`the DNS server could not be reached: ${error.message}`)),
    );
    socket.on('message', (msg, from) => {
      // Only the server's answer to this id counts; anything else is ignored, as resolvers do.
      if (from.address !== c.server || from.port !== c.port) return;
      if (msg.length > MAX_ANSWER) return done(new DnsUpdateFailed('the DNS server’s answer is too large'));
      if (msg.length < 2 || msg.readUInt16BE(0) !== id) return;
      done(undefined, msg);
    });
    socket.send(message, c.port, c.server, (error) => {
      if (error) done(new DnsUpdateFailed(`the update could not be sent: ${error.message}`));
    });
  });
}

export function rfc2136Provider(c: Rfc2136Config): DnsProvider {
  return {
    setTxt: (name, value) => sendUpdate(c, [{ action: 'add', name, value }]),
    removeTxt: (name, value) => sendUpdate(c, [{ action: 'delete', name, value }]),
  };
}

export { DnsMessageError };
