import assert from 'node:assert/strict';
import { Duplex, PassThrough } from 'node:stream';
import { test } from 'node:test';
import { InvalidParams } from '../errors.ts';
import { PeerClosed, type PeerOptions, RpcPeer } from './peer.ts';

/** Two ends of an in-memory duplex pipe. */
function pipePair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  return [Duplex.from({ readable: ba, writable: ab }), Duplex.from({ readable: ab, writable: ba })];
}

function peers(hostOptions: Partial<PeerOptions> = {}, runtimeHandlers: PeerOptions['handlers'] = {}) {
  const [a, b] = pipePair();
  const host = new RpcPeer(a, { handlers: {}, ...hostOptions });
  const runtime = new RpcPeer(b, { handlers: runtimeHandlers });
  return { host, runtime, a, b };
}

test('both sides call each other', async () => {
  const { host, runtime } = peers(
    { handlers: { 'effects.echo': (p) => ({ got: p }) } },
    { 'runtime.ping': () => 'pong' },
  );
  assert.deepEqual(await runtime.call('effects.echo', { x: 1 }), { got: { x: 1 } });
  assert.equal(await host.call('runtime.ping'), 'pong');
});

test('errors come back with their stable codes; unknown methods are refused', async () => {
  const { runtime } = peers({
    handlers: {
      'effects.bad': () => {
        throw new InvalidParams('health must be one of …');
      },
      'effects.bug': () => {
        throw new Error('secret internals');
      },
    },
  });
  await assert.rejects(runtime.call('effects.bad'), {
    code: 'invalid_params',
    message: 'health must be one of …',
  });
  await assert.rejects(runtime.call('effects.bug'), { code: 'internal', message: 'internal error' });
  await assert.rejects(runtime.call('toString'), { code: 'method_not_found' });
});

test('a flood of requests is rate limited', async () => {
  const { runtime } = peers({ ratePerSecond: 5, handlers: { 'effects.x': () => 1 } });
  const results = await Promise.allSettled(Array.from({ length: 30 }, () => runtime.call('effects.x')));
  const limited = results.filter(
    (r) => r.status === 'rejected' && (r.reason as { code: string }).code === 'rate_limited',
  );
  assert.equal(results.length - limited.length, 10, 'the burst passes, the rest is refused');
});

test('an oversized line closes the connection; calls under way fail as closed', async () => {
  const { host, b } = peers({ maxLineBytes: 100 });
  const waiting = host.call('runtime.slow', {}, 5000);
  b.write(`${'x'.repeat(500)}`);
  await host.closed;
  await assert.rejects(waiting, PeerClosed);
  await assert.rejects(host.call('anything'), PeerClosed);
});

test('junk lines get a parse error, and the channel keeps working', async () => {
  const { host, b } = peers({ handlers: { 'effects.x': () => 2 } });
  const answers: string[] = [];
  b.on('data', (d: Buffer) => answers.push(d.toString()));
  b.write('not json\n[1,2]\n');
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(answers.join('').match(/-32700/g)?.length, 2);
  void host;
});
