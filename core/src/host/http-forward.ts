/*
 * Pure: the headers a reverse proxy passes on (RFC 9110 §7.6.1: hop-by-hop fields and
 * those the Connection field names stay on their hop) and the X-Forwarded-* it adds. The
 * credentials a client sends (Authorization, cookies) pass untouched: the service behind
 * does its own login.
 */

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The fields of a raw header list (`[name, value, name, value…]`) that the Connection field names. */
function connectionTokens(raw: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() !== 'connection') continue;
    for (const t of raw[i + 1]!.split(',')) out.add(t.trim().toLowerCase());
  }
  return out;
}

/**
 * The request's headers for the hop to the service: hop-by-hop ones dropped (for an
 * upgrade, Connection and Upgrade kept as the client sent them), client-sent X-Forwarded-*
 * replaced by what this proxy saw.
 */
export function forwardRequestHeaders(
  raw: readonly string[],
  o: { clientAddress: string; host: string | undefined; upgrade: boolean },
): [string, string][] {
  const named = connectionTokens(raw);
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const keep = o.upgrade && (lower === 'connection' || lower === 'upgrade');
    if (!keep && (HOP_BY_HOP.has(lower) || named.has(lower))) continue;
    if (lower === 'x-forwarded-for' || lower === 'x-forwarded-proto' || lower === 'x-forwarded-host')
      continue;
    if (lower === 'forwarded') continue;
    out.push([name, raw[i + 1]!]);
  }
  out.push(['X-Forwarded-For', o.clientAddress.replace(/^::ffff:/, '')]);
  out.push(['X-Forwarded-Proto', 'https']);
  if (o.host !== undefined) out.push(['X-Forwarded-Host', o.host]);
  return out;
}

/** The response's headers for the client: the service's, without its hop-by-hop ones. */
export function forwardResponseHeaders(raw: readonly string[]): [string, string][] {
  const named = connectionTokens(raw);
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named.has(lower)) continue;
    out.push([raw[i]!, raw[i + 1]!]);
  }
  return out;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** An upgrade request as bytes for the service (method and target were checked by the parser). */
export function upgradeRequest(method: string, target: string, headers: readonly [string, string][]): string {
  const lines = [`${method} ${target} HTTP/1.1`];
  for (const [name, value] of headers) {
    // Node's parser let them through already; a field that could split a line never passes.
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) continue;
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}
