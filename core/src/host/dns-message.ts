import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * Pure: RFC 2136 dynamic updates signed with TSIG (RFC 8945, HMAC-SHA256), and the parser
 * of the answer. What a DNS-01 challenge needs and nothing more: add or delete one TXT
 * record, read the answer's header and check its signature. Every read is bounds-checked,
 * so a hostile or broken server's answer is a DnsMessageError, never a crash or a loop.
 */

export class DnsMessageError extends Error {}

const TYPE_TXT = 16;
const TYPE_SOA = 6;
const TYPE_TSIG = 250;
const CLASS_IN = 1;
const CLASS_NONE = 254;
const CLASS_ANY = 255;
const OPCODE_UPDATE = 5;
export const ALGORITHM = 'hmac-sha256';

export interface TsigKey {
  /** The key's name, as the server knows it (`hearth.`). */
  name: string;
  /** The shared secret, base64 (as knot's and BIND's configs write it). */
  secret: string;
}

export interface TxtChange {
  action: 'add' | 'delete';
  /** Full name of the record (`_acme-challenge.example.com`). */
  name: string;
  value: string;
  ttl?: number;
}

/** A name in wire form, lower-cased (TSIG's canonical form); refused if not a valid name. */
export function encodeName(name: string): Buffer {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  if (trimmed === '') return Buffer.from([0]);
  const labels = trimmed.toLowerCase().split('.');
  const parts: Buffer[] = [];
  for (const l of labels) {
    const b = Buffer.from(l, 'ascii');
    if (b.length === 0 || b.length > 63 || !/^[a-z0-9_-]+$/.test(l)) {
      throw new DnsMessageError(`not a DNS name: ${JSON.stringify(name)}`);
    }
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0]));
  const out = Buffer.concat(parts);
  if (out.length > 255) throw new DnsMessageError('a DNS name is at most 255 bytes');
  return out;
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
}

function rr(name: string, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  return Buffer.concat([encodeName(name), u16(type), u16(klass), u32(ttl), u16(rdata.length), rdata]);
}

function txtRdata(value: string): Buffer {
  const b = Buffer.from(value, 'utf8');
  // One character-string holds 255 bytes; ACME's values are 43.
  if (b.length > 255) throw new DnsMessageError('a TXT value over 255 bytes');
  return Buffer.concat([Buffer.from([b.length]), b]);
}

/** The TSIG variables that follow the message in what the MAC covers (RFC 8945 4.3.3). */
function tsigVariables(key: TsigKey, timeSigned: number, fudge: number, error: number): Buffer {
  return Buffer.concat([
    encodeName(key.name),
    u16(CLASS_ANY),
    u32(0),
    encodeName(ALGORITHM),
    u48(timeSigned),
    u16(fudge),
    u16(error),
    u16(0),
  ]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha256', Buffer.from(key.secret, 'base64'));
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * An UPDATE for `zone` with the given TXT changes, signed. Returns the bytes and the MAC,
 * which the answer's signature covers.
 */
export function buildUpdate(o: {
  id: number;
  zone: string;
  changes: TxtChange[];
  key: TsigKey;
  /** Seconds since the epoch. */
  now: number;
  fudge?: number;
}): { message: Buffer; mac: Buffer } {
  const fudge = o.fudge ?? 300;
  const updates = o.changes.map((c) =>
    c.action === 'add'
      ? rr(c.name, TYPE_TXT, CLASS_IN, c.ttl ?? 60, txtRdata(c.value))
      : rr(c.name, TYPE_TXT, CLASS_NONE, 0, txtRdata(c.value)),
  );
  const header = (arcount: number) =>
    Buffer.concat([u16(o.id), u16(OPCODE_UPDATE << 11), u16(1), u16(0), u16(updates.length), u16(arcount)]);
  const zone = Buffer.concat([encodeName(o.zone), u16(TYPE_SOA), u16(CLASS_IN)]);
  const unsigned = Buffer.concat([header(0), zone, ...updates]);
  const mac = hmac(o.key, unsigned, tsigVariables(o.key, o.now, fudge, 0));
  const tsig = rr(
    o.key.name,
    TYPE_TSIG,
    CLASS_ANY,
    0,
    Buffer.concat([
      encodeName(ALGORITHM),
      u48(o.now),
      u16(fudge),
      u16(mac.length),
      mac,
      u16(o.id),
      u16(0),
      u16(0),
    ]),
  );
  return { message: Buffer.concat([header(1), zone, ...updates, tsig]), mac };
}

export interface ParsedAnswer {
  id: number;
  isResponse: boolean;
  opcode: number;
  rcode: number;
  /** The TSIG record, if the answer is signed: where it starts and what it says. */
  tsig?: {
    offset: number;
    keyName: string;
    algorithm: string;
    timeSigned: number;
    fudge: number;
    mac: Buffer;
    error: number;
  };
}

/** Reads a name at `offset` (compression pointers followed, bounded); its text and the offset after it. */
function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw new DnsMessageError('a name runs past the end');
    const len = buf[pos]!;
    if (len === 0) {
      if (next < 0) next = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw new DnsMessageError('a pointer runs past the end');
      if (++jumps > 20) throw new DnsMessageError('a name with too many pointers');
      if (next < 0) next = pos + 2;
      pos = ((len & 0x3f) << 8) | buf[pos + 1]!;
      continue;
    }
    if (len > 63) throw new DnsMessageError('a label over 63 bytes');
    if (pos + 1 + len > buf.length) throw new DnsMessageError('a label runs past the end');
    labels.push(buf.subarray(pos + 1, pos + 1 + len).toString('latin1'));
    pos += 1 + len;
    if (labels.join('.').length > 255) throw new DnsMessageError('a name over 255 bytes');
  }
  return { name: labels.join('.').toLowerCase(), next };
}

function need(buf: Buffer, offset: number, n: number): void {
  if (offset + n > buf.length) throw new DnsMessageError('the answer is cut short');
}

/** The answer's header, and its TSIG record if it is the last additional one. */
export function parseAnswer(buf: Buffer): ParsedAnswer {
  need(buf, 0, 12);
  const id = buf.readUInt16BE(0);
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  let pos = 12;
  // The zone (question) section: name, type, class.
  for (let i = 0; i < counts[0]!; i++) {
    pos = readName(buf, pos).next;
    need(buf, pos, 4);
    pos += 4;
  }
  const records = counts[1]! + counts[2]! + counts[3]!;
  let tsig: ParsedAnswer['tsig'];
  for (let i = 0; i < records; i++) {
    const start = pos;
    const name = readName(buf, pos);
    pos = name.next;
    need(buf, pos, 10);
    const type = buf.readUInt16BE(pos);
    const rdlen = buf.readUInt16BE(pos + 8);
    pos += 10;
    need(buf, pos, rdlen);
    if (type === TYPE_TSIG) {
      if (i !== records - 1) throw new DnsMessageError('a TSIG record that is not the last');
      const end = pos + rdlen;
      const alg = readName(buf, pos);
      let p = alg.next;
      if (p + 10 > end) throw new DnsMessageError('a TSIG record cut short');
      const timeSigned = buf.readUIntBE(p, 6);
      const fudge = buf.readUInt16BE(p + 6);
      const macLen = buf.readUInt16BE(p + 8);
      p += 10;
      if (p + macLen + 6 > end) throw new DnsMessageError('a TSIG record cut short');
      const mac = Buffer.from(buf.subarray(p, p + macLen));
      const error = buf.readUInt16BE(p + macLen + 2);
      tsig = { offset: start, keyName: name.name, algorithm: alg.name, timeSigned, fudge, mac, error };
    }
    pos += rdlen;
  }
  return {
    id,
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    ...(tsig ? { tsig } : {}),
  };
}

/**
 * Whether a signed answer's MAC is right for our request's (RFC 8945 5.3.1: the request's
 * MAC, then the answer without its TSIG record and with its ARCOUNT one less, then the
 * TSIG variables).
 */
export function verifyAnswer(buf: Buffer, parsed: ParsedAnswer, requestMac: Buffer, key: TsigKey): boolean {
  const t = parsed.tsig;
  if (!t || t.algorithm !== ALGORITHM || t.keyName !== encodedText(key.name)) return false;
  const body = Buffer.from(buf.subarray(0, t.offset));
  body.writeUInt16BE(body.readUInt16BE(10) - 1, 10);
  const expected = hmac(
    key,
    u16(requestMac.length),
    requestMac,
    body,
    tsigVariables(key, t.timeSigned, t.fudge, t.error),
  );
  return t.mac.length === expected.length && timingSafeEqual(t.mac, expected);
}

function encodedText(name: string): string {
  return (name.endsWith('.') ? name.slice(0, -1) : name).toLowerCase();
}

const RCODES: Record<number, string> = {
  1: 'FORMERR (the server could not read the update)',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP (the server does not take dynamic updates)',
  5: 'REFUSED (the key may not update this zone)',
  9: 'NOTAUTH (the server is not authoritative for the zone, or the key is wrong)',
  10: 'NOTZONE (the name is not in the zone)',
};

export function rcodeText(rcode: number): string {
  return RCODES[rcode] ?? `rcode ${rcode}`;
}
