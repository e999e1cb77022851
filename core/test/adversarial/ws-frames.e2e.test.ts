import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { setUp, startTestDaemon, type TestDaemon } from '../daemon.ts';
import { fuzzRuns, fuzzSeed } from './fuzz.ts';
import { frame, OP, openRawWs } from './raw-ws.ts';

/**
 * Malformed WebSocket frames, each of which once ended the daemon (an unhandled 'error'
 * event on the socket): each must close only its own connection.
 */
describe('malformed WebSocket frames', () => {
  let d: TestDaemon;
  let admin: ReturnType<TestDaemon['client']>;
  before(async () => {
    d = await startTestDaemon();
    await setUp(d);
    admin = d.client({ bearer: d.localToken });
  });
  after(() => d.cleanup());

  const alive = async () => {
    assert.equal((await admin.call('server.echo', { message: 'alive' })).message, 'alive');
  };

  const text = (s: string) => Buffer.from(s, 'utf8');
  const named: [string, Buffer][] = [
    ['an unmasked text frame', frame({ opcode: OP.text, payload: text('hello'), masked: false })],
    ['a reserved data opcode', frame({ opcode: 3, payload: text('x') })],
    ['a reserved control opcode', frame({ opcode: 0xb })],
    ['an RSV1 bit without an extension', frame({ opcode: OP.text, rsv: 4, payload: text('hello') })],
    ['RSV2 and RSV3 bits', frame({ opcode: OP.text, rsv: 3, payload: text('hello') })],
    ['invalid UTF-8 in a text frame', frame({ opcode: OP.text, payload: Buffer.from([0xc3, 0x28, 0xff]) })],
    ['a ping over 125 bytes', frame({ opcode: OP.ping, payload: Buffer.alloc(126, 1) })],
    ['a fragmented ping', frame({ opcode: OP.ping, fin: false })],
    ['a close with code 999', frame({ opcode: OP.close, payload: Buffer.from([0x03, 0xe7]) })],
    ['a close with code 1005', frame({ opcode: OP.close, payload: Buffer.from([0x03, 0xed]) })],
    ['a close with a one-byte body', frame({ opcode: OP.close, payload: Buffer.from([0x03]) })],
    [
      'a close with an invalid UTF-8 reason',
      frame({ opcode: OP.close, payload: Buffer.from([0x03, 0xe8, 0xc3, 0x28]) }),
    ],
    ['a continuation without a start', frame({ opcode: OP.continuation, payload: text('orphan') })],
    [
      'a new text frame inside a fragmented one',
      Buffer.concat([
        frame({ opcode: OP.text, fin: false, payload: text('{"a":') }),
        frame({ opcode: OP.text, payload: text('1}') }),
      ]),
    ],
    ['a header declaring 2^40 bytes', frame({ opcode: OP.binary, declaredLength: 2n ** 40n })],
    ['a header declaring 2^63 bytes', frame({ opcode: OP.binary, declaredLength: 2n ** 63n })],
  ];

  for (const [what, bytes] of named) {
    test(`${what} closes that connection only`, async () => {
      const bystander = await d.ws({ bearer: d.localToken });
      const ws = await openRawWs(d.port);
      ws.write(bytes);
      // The server ends the connection; a deadline, not a timing: it fails only if it never does.
      await withDeadline(ws.closed, 10_000, `the server to close the connection after ${what}`);
      await alive();
      assert.deepEqual(await bystander.call('server.echo', { message: 'still' }), { message: 'still' });
      await bystander.close();
    });
  }

  test('a socket reset in the middle of the handshake or of a frame', async () => {
    for (let i = 0; i < 20; i++) {
      const ws = await openRawWs(d.port);
      ws.write(frame({ opcode: OP.text, payload: Buffer.alloc(1000, 0x61) }).subarray(0, 10 + i));
      ws.socket.resetAndDestroy();
    }
    await alive();
  });

  test('random frames from a seeded fuzzer', async () => {
    const seed = fuzzSeed();
    const runs = fuzzRuns(150);
    const arbitraryFrame = fc.record({
      fin: fc.boolean(),
      rsv: fc.integer({ min: 0, max: 7 }),
      opcode: fc.integer({ min: 0, max: 15 }),
      payload: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      masked: fc.boolean(),
      declaredLength: fc.option(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { freq: 4 }),
    });
    const sequence = fc.oneof(
      fc
        .array(arbitraryFrame, { minLength: 1, maxLength: 4 })
        .map((fs) =>
          Buffer.concat(fs.map((f) => frame({ ...f, declaredLength: f.declaredLength ?? undefined }))),
        ),
      fc.uint8Array({ minLength: 1, maxLength: 200 }).map((a) => Buffer.from(a)),
    );
    const samples = fc.sample(sequence, { seed, numRuns: runs });
    for (const [i, bytes] of samples.entries()) {
      const ws = await openRawWs(d.port);
      ws.write(bytes);
      ws.socket.end();
      await withDeadline(ws.closed, 10_000, `connection ${i} of seed ${seed} to close`).catch((e) => {
        ws.destroy();
        throw e;
      });
      if (i % 25 === 0) await alive();
    }
    await alive();
    assert.doesNotMatch(d.output(), /Uncaught|unhandled 'error'/i, `seed ${seed}`);
  });
});

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`gave up waiting for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
