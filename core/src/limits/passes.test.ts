import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Passes } from './passes.ts';

test('passes never overlap; calls during one coalesce into one more after it', async () => {
  let running = 0;
  let most = 0;
  let count = 0;
  let release: () => void = () => {};
  const passes = new Passes(async () => {
    running++;
    most = Math.max(most, running);
    count++;
    await new Promise<void>((r) => {
      release = r;
    });
    running--;
  });
  const first = passes.run();
  const second = passes.run();
  const third = passes.run();
  assert.equal(count, 1);
  release();
  await new Promise((r) => setImmediate(r));
  assert.equal(count, 2, 'one more pass for the calls made during the first');
  release();
  await Promise.all([first, second, third]);
  assert.equal(count, 2);
  assert.equal(most, 1);
});

test('a failed pass rejects its callers, and the next call runs again', async () => {
  let fail = true;
  let count = 0;
  const passes = new Passes(async () => {
    count++;
    if (fail) throw new Error('boom');
  });
  await assert.rejects(passes.run(), /boom/);
  await passes.idle();
  fail = false;
  await passes.run();
  assert.equal(count, 2);
});

test('once stopped, no pass starts; stop waits for the one under way', async () => {
  let count = 0;
  let release: () => void = () => {};
  const passes = new Passes(async () => {
    count++;
    await new Promise<void>((r) => {
      release = r;
    });
  });
  const run = passes.run();
  passes.run();
  const stopped = passes.stop();
  release();
  await Promise.all([run, stopped]);
  assert.equal(count, 1, 'the pass asked for during the first does not start after stop');
  await passes.run();
  assert.equal(count, 1);
  assert.equal(passes.stopped, true);
});
