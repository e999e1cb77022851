import net from 'node:net';
import { InvalidParams } from '../errors.ts';
import type { SmtpSecurity } from '../host/smtp.ts';
import type { NotificationLevel } from './notifications.ts';

/**
 * Where notifications may go, and what an owner may configure: pure checks, run when a
 * channel is added and (for addresses a name resolves to) at every send.
 */

export interface AddressPolicy {
  /** Whether the box itself (loopback, its own interfaces' addresses) may be sent to. */
  allowSelf: boolean;
  /** The box's own addresses. */
  own: ReadonlySet<string>;
}

const subnets = (list: [string, number][]) => {
  const b = new net.BlockList();
  for (const [a, prefix] of list) b.addSubnet(a, prefix, net.isIPv6(a) ? 'ipv6' : 'ipv4');
  return b;
};

/** Never sent to, whatever the owner says, and why. */
const REFUSED: [net.BlockList, string][] = [
  [
    subnets([
      ['169.254.0.0', 16],
      ['fe80::', 10],
    ]),
    'a link-local address, where cloud machines answer with their metadata and credentials',
  ],
  [
    subnets([
      ['100.100.100.200', 32],
      ['fd00:ec2::254', 128],
    ]),
    'a cloud metadata service',
  ],
  [
    subnets([
      ['0.0.0.0', 8],
      ['::', 128],
    ]),
    'not an address anything can be reached at',
  ],
  [
    subnets([
      ['224.0.0.0', 4],
      ['240.0.0.0', 4],
      ['ff00::', 8],
    ]),
    'a multicast, broadcast or reserved address',
  ],
];
const LOOPBACK = subnets([
  ['127.0.0.0', 8],
  ['::1', 128],
]);

/**
 * Why `address` may not be sent to, or undefined. IPv4 inside IPv6 (mapped, compatible,
 * NAT64) is judged as the IPv4 address it carries.
 */
export function addressRefusal(address: string, policy: AddressPolicy): string | undefined {
  const ip = address.replace(/%.*$/, '').toLowerCase();
  const family = net.isIP(ip);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const v4 = embeddedIpv4(ip);
    if (v4) return addressRefusal(v4, policy);
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [list, why] of REFUSED) if (list.check(ip, type)) return why;
  if (!policy.allowSelf && (LOOPBACK.check(ip, type) || policy.own.has(ip))) {
    return 'that is the box itself (allowed only with the notifyAllowSelf setting)';
  }
  return undefined;
}

/** The eight groups of an IPv6 address. */
function ipv6Groups(ip: string): number[] {
  let text = ip;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => Number.parseInt(g, 16));
}

function embeddedIpv4(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  const v4 = () => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  const zero = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && g[5] === 0xffff) return v4();
  if (g[0] === 0x64 && g[1] === 0xff9b && zero(2, 6)) return v4();
  // IPv4-compatible (deprecated), but not :: or ::1.
  if (zero(0, 6) && (g[6] !== 0 || g[7]! > 1)) return v4();
  return undefined;
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);
/** A mail address as a submission server takes it: no quoting, no comments, ASCII. */
const MAIL_ADDRESS = new RegExp(`^[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]{1,64}@${LABEL}(?:\\.${LABEL})*$`);

export const isMailAddress = (text: string): boolean => text.length <= 254 && MAIL_ADDRESS.test(text);

/** Names that mean the box itself without asking DNS. */
const isLocalhostName = (host: string) => /^(localhost|.*\.localhost)\.?$/i.test(host);

export const DEFAULT_PORT: Record<SmtpSecurity, number> = { starttls: 587, tls: 465, plain: 25 };

export type ChannelConfig =
  | {
      kind: 'email';
      server: string;
      port: number;
      security: SmtpSecurity;
      username?: string;
      from: string;
      to: string[];
    }
  | { kind: 'webhook'; url: string };

export interface ChannelInput {
  kind: 'email' | 'webhook';
  name?: string | undefined;
  minLevel: NotificationLevel;
  server?: string | undefined;
  port?: number | undefined;
  security?: SmtpSecurity | undefined;
  username?: string | undefined;
  password?: string | undefined;
  from?: string | undefined;
  to?: string[] | undefined;
  url?: string | undefined;
  accessToken?: string | undefined;
}

const EMAIL_ONLY = ['server', 'port', 'security', 'username', 'password', 'from', 'to'] as const;
const WEBHOOK_ONLY = ['url', 'accessToken'] as const;

/**
 * Checks what the owner asked for and splits it into the settings (stored, shown) and
 * the secret (stored, never shown). Refuses with a message that says what to send.
 */
export function checkChannel(
  input: ChannelInput,
  policy: AddressPolicy,
): { name: string; config: ChannelConfig; secret: string | undefined } {
  const foreign = (input.kind === 'email' ? WEBHOOK_ONLY : EMAIL_ONLY).filter((k) => input[k] !== undefined);
  if (foreign.length > 0) {
    throw new InvalidParams(`a ${input.kind} channel does not take ${foreign.join(', ')}`);
  }
  if (input.kind === 'email') return checkEmail(input, policy);
  return checkWebhook(input, policy);
}

function checkEmail(input: ChannelInput, policy: AddressPolicy) {
  const { server, from, to } = input;
  if (!server || !from || !to || to.length === 0) {
    throw new InvalidParams('an email channel needs server, from and to', {
      hint: 'for example server smtp.example.com, from box@example.com, to you@example.com',
    });
  }
  checkHost(server, policy);
  for (const a of [from, ...to]) {
    if (!isMailAddress(a)) throw new InvalidParams(`'${oneLineOf(a)}' is not a mail address`);
  }
  const security = input.security ?? 'starttls';
  if (input.password !== undefined && !input.username) {
    throw new InvalidParams('a password needs a username');
  }
  if (input.username !== undefined && input.password === undefined) {
    throw new InvalidParams('a username needs a password');
  }
  if (input.username !== undefined && security === 'plain') {
    throw new InvalidParams('a password is only sent over TLS', {
      hint: 'use security starttls (port 587) or tls (port 465), or a relay on your network that needs no login',
    });
  }
  for (const [what, v] of [
    ['username', input.username],
    ['password', input.password],
  ] as const) {
    // NUL separates the fields of AUTH PLAIN; line breaks have no place in either.
    if (v !== undefined && /[\0\r\n]/.test(v))
      throw new InvalidParams(`the ${what} holds a control character`);
  }
  const config: ChannelConfig = {
    kind: 'email',
    server: server
      .replace(/^\[(.*)\]$/, '$1')
      .replace(/\.$/, '')
      .toLowerCase(),
    port: input.port ?? DEFAULT_PORT[security],
    security,
    ...(input.username ? { username: input.username } : {}),
    from,
    to,
  };
  const name = input.name ?? `email to ${to[0]}${to.length > 1 ? ` and ${to.length - 1} more` : ''}`;
  return { name, config, secret: input.password };
}

function checkWebhook(input: ChannelInput, policy: AddressPolicy) {
  if (!input.url)
    throw new InvalidParams('a webhook channel needs url', {
      hint: 'for example https://ntfy.sh/<your topic>',
    });
  let url: URL;
  try {
    url = new URL(input.url);
  } catch {
    throw new InvalidParams('url is not a URL', { hint: 'for example https://ntfy.sh/<your topic>' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidParams(`url must be http or https, not ${url.protocol.replace(':', '')}`);
  }
  if (url.username || url.password) {
    throw new InvalidParams('url must not hold a user name or password', {
      hint: 'give an access token as accessToken: it is sent as Authorization: Bearer and never shown again',
    });
  }
  checkHost(url.hostname.replace(/^\[|\]$/g, ''), policy);
  if (input.accessToken !== undefined && /[\0\r\n]/.test(input.accessToken)) {
    throw new InvalidParams('the access token holds a control character');
  }
  url.hash = '';
  return {
    name: input.name ?? `webhook to ${url.host}`,
    config: { kind: 'webhook' as const, url: url.href },
    secret: input.accessToken,
  };
}

/** A host the owner typed: a name or an IP address, not one we refuse to send to. */
function checkHost(host: string, policy: AddressPolicy): void {
  const bare = host.replace(/^\[|\]$/g, '');
  if (net.isIP(bare)) {
    const why = addressRefusal(bare, policy);
    if (why) throw new InvalidParams(`notifications are not sent to ${bare}: ${why}`);
    return;
  }
  if (!HOSTNAME.test(host)) throw new InvalidParams(`'${oneLineOf(host)}' is not a host name`);
  if (isLocalhostName(host) && !policy.allowSelf) {
    throw new InvalidParams(`notifications are not sent to ${host}: that is the box itself`, {
      hint: 'a relay or receiver on the box itself needs the notifyAllowSelf setting',
    });
  }
}

const oneLineOf = (text: string) => text.replace(/[\x00-\x1f\x7f]/g, '?').slice(0, 100);
