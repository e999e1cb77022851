import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { test } from 'node:test';
import {
  buildUpdate,
  DnsMessageError,
  encodeName,
  parseAnswer,
  type TxtChange,
  verifyAnswer,
} from './dns-message.ts';

const fixture = JSON.parse(
  fs.readFileSync(new URL('./__fixtures__/rfc2136-knot.json', import.meta.url), 'utf8'),
) as {
  request: {
    id: number;
    zone: string;
    changes: TxtChange[];
    key: { name: string; secret: string };
    now: number;
  };
  requestHex: string;
  requestMac: string;
  answerHex: string;
};
const answer = Buffer.from(fixture.answerHex, 'hex');
const mac = Buffer.from(fixture.requestMac, 'hex');

test('the UPDATE knotd took is what buildUpdate makes of the same inputs, byte for byte', () => {
  const built = buildUpdate(fixture.request);
  assert.equal(built.message.toString('hex'), fixture.requestHex);
  assert.equal(built.mac.toString('hex'), fixture.requestMac);
  // Header: opcode UPDATE, one zone, one update, one additional (the TSIG).
  assert.equal(built.message.readUInt16BE(2), 5 << 11);
  assert.deepEqual(
    [4, 6, 8, 10].map((o) => built.message.readUInt16BE(o)),
    [1, 0, 1, 1],
  );
});

test('knotd’s signed answer parses, and its signature checks out against our request’s MAC', () => {
  const parsed = parseAnswer(answer);
  assert.equal(parsed.id, fixture.request.id);
  assert.equal(parsed.isResponse, true);
  assert.equal(parsed.opcode, 5);
  assert.equal(parsed.rcode, 0);
  assert.equal(parsed.tsig?.keyName, 'hearth-test');
  assert.equal(parsed.tsig?.algorithm, 'hmac-sha256');
  assert.equal(verifyAnswer(answer, parsed, mac, fixture.request.key), true);
  // Another key, another request's MAC, or one byte changed: refused.
  assert.equal(
    verifyAnswer(answer, parsed, mac, { ...fixture.request.key, secret: randomBytes(32).toString('base64') }),
    false,
  );
  assert.equal(verifyAnswer(answer, parsed, randomBytes(32), fixture.request.key), false);
  const tampered = Buffer.from(answer);
  tampered[3]! ^= 0x01;
  assert.equal(verifyAnswer(tampered, parseAnswer(tampered), mac, fixture.request.key), false);
});

test('names: lower-cased, and anything that is not a DNS name refused', () => {
  assert.equal(encodeName('A.b.').toString('hex'), '016101620' + '0');
  for (const bad of ['a..b', 'a b', `${'x'.repeat(64)}.com`, 'é.com', `${'abcdefgh.'.repeat(32)}com`]) {
    assert.throws(() => encodeName(bad), DnsMessageError, bad);
  }
  assert.throws(
    () =>
      buildUpdate({ ...fixture.request, changes: [{ action: 'add', name: 'a.b', value: 'x'.repeat(256) }] }),
    DnsMessageError,
  );
});

test('a hostile answer is a DnsMessageError, never a crash or a loop', () => {
  const header = (counts: number[]) => {
    const b = Buffer.alloc(12);
    b.writeUInt16BE(0x8000 | (5 << 11), 2);
    for (const [i, c] of counts.entries()) b.writeUInt16BE(c, 4 + 2 * i);
    return b;
  };
  const cases: Buffer[] = [
    Buffer.alloc(0),
    Buffer.alloc(11),
    // Says it has 65535 records and has none.
    header([0, 65535, 0, 0]),
    // A name that points at itself.
    Buffer.concat([header([1, 0, 0, 0]), Buffer.from([0xc0, 12, 0, 6, 0, 1])]),
    // Two pointers pointing at each other.
    Buffer.concat([header([1, 0, 0, 0]), Buffer.from([0xc0, 14, 0xc0, 12])]),
    // A label running past the end.
    Buffer.concat([header([1, 0, 0, 0]), Buffer.from([40, 0x61])]),
    // A record whose rdata runs past the end.
    Buffer.concat([header([0, 1, 0, 0]), Buffer.from([0, 0, 16, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 1])]),
    // A TSIG record that is not last, and one cut short.
    Buffer.concat([
      header([0, 0, 0, 2]),
      Buffer.from([0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0]),
      Buffer.from([0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0]),
    ]),
    Buffer.concat([header([0, 0, 0, 1]), Buffer.from([0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 3, 0, 0, 0])]),
    // Knot's answer cut at every length.
    ...Array.from({ length: answer.length - 12 }, (_, i) => answer.subarray(0, 12 + i)),
  ];
  for (const c of cases) {
    try {
      parseAnswer(c);
    } catch (error) {
      assert.ok(error instanceof DnsMessageError, `${c.toString('hex')}: ${error}`);
    }
  }
  // Random bytes, seeded by nothing but many: the same promise.
  for (let i = 0; i < 5000; i++) {
    const c = randomBytes(12 + (i % 200));
    try {
      parseAnswer(c);
    } catch (error) {
      assert.ok(error instanceof DnsMessageError, `${c.toString('hex')}: ${error}`);
    }
  }
});
