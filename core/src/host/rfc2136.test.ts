import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { sendUpdate } from './rfc2136.ts';

/*
 * A hostile or broken DNS server on loopback: every answer it sends is refused with a
 * reason, within the deadline, and nothing it sends is taken for success.
 */

async function fakeServer(answer: (query: Buffer) => Buffer | Buffer[] | undefined) {
  const s = dgram.createSocket('udp4');
  s.on('message', (q, from) => {
    const a = answer(q);
    for (const b of a === undefined ? [] : Array.isArray(a) ? a : [a]) s.send(b, from.port, from.address);
  });
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

const key = { name: 'hearth-test', secret: Buffer.alloc(32, 7).toString('base64') };
const change = [{ action: 'add' as const, name: '_acme-challenge.a.example.com', value: 'v' }];

/** The query's header turned into an answer with `rcode`, and nothing else (unsigned). */
function reply(q: Buffer, rcode: number): Buffer {
  const h = Buffer.from(q.subarray(0, 12));
  h.writeUInt16BE(0x8000 | (5 << 11) | rcode, 2);
  h.fill(0, 4);
  return h;
}

const cases: [string, (q: Buffer) => Buffer | Buffer[] | undefined, RegExp][] = [
  [
    'garbage with the right id',
    (q) => Buffer.concat([q.subarray(0, 2), Buffer.from([0x80, 0x28, 0, 5, 0xc0])]),
    /could not be read/,
  ],
  ['an oversized answer', (q) => Buffer.concat([q.subarray(0, 2), Buffer.alloc(9000, 0xff)]), /too large/],
  [
    'only answers with another id',
    (q) => Buffer.from([q[0]! ^ 1, q[1]!, 0x80, 0x28, 0, 0, 0, 0, 0, 0, 0, 0]),
    /no answer/,
  ],
  ['silence', () => undefined, /no answer/],
  ['NOERROR, unsigned', (q) => reply(q, 0), /not signed with the key/],
  ['REFUSED', (q) => reply(q, 5), /REFUSED/],
  ['a query, not an answer', (q) => q, /answered something else/],
];

for (const [what, answer, expected] of cases) {
  test(`RFC 2136 against a server that sends ${what}: refused`, async (t) => {
    const server = await fakeServer(answer);
    t.after(() => server.close());
    const started = Date.now();
    await assert.rejects(
      sendUpdate(
        { server: '127.0.0.1', port: server.port, zone: 'example.com', key, timeoutMs: 400 },
        change,
      ),
      expected,
    );
    assert.ok(Date.now() - started < 2000);
  });
}

test('RFC 2136: a server given by name is refused before anything is sent', async () => {
  await assert.rejects(
    sendUpdate({ server: 'ns1.example.com', port: 53, zone: 'example.com', key }, change),
    /must be an IP address/,
  );
});
