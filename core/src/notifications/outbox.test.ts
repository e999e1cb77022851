import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Outbox, type OutboxOptions, type Outcome } from './outbox.ts';

class Flaky extends Error {
  readonly permanent: boolean;
  constructor(permanent: boolean) {
    super(permanent ? 'refused' : 'timed out');
    this.permanent = permanent;
  }
}

function outbox(o: Partial<OutboxOptions<string>> & Pick<OutboxOptions<string>, 'attempt'>) {
  const settled: [string, Outcome][] = [];
  const dropped: string[] = [];
  const box = new Outbox<string>({
    permanent: (e) => (e as Flaky).permanent,
    settled: (job, outcome) => settled.push([job, outcome]),
    dropped: (job) => dropped.push(job),
    retryDelaysMs: [5, 10],
    maxJobs: 10,
    concurrency: 2,
    ...o,
  });
  return { box, settled, dropped };
}

test('a job is tried on a later turn, never inside push, and settles once', async () => {
  const tried: string[] = [];
  const { box, settled } = outbox({
    attempt: async (job) => {
      tried.push(job);
      return `sent ${job}`;
    },
  });
  assert.equal(box.push('a'), true);
  assert.deepEqual(tried, [], 'push returned before any work');
  await box.idle();
  assert.deepEqual(settled, [['a', { ok: true, detail: 'sent a' }]]);
});

test('a failure that may heal is tried again after each pause, then given up on', async () => {
  const times: number[] = [];
  const { box, settled } = outbox({
    attempt: async () => {
      times.push(performance.now());
      throw new Flaky(false);
    },
  });
  box.push('a');
  await box.idle();
  assert.equal(times.length, 3, 'one try and two retries');
  assert.ok(times[1]! - times[0]! >= 4 && times[2]! - times[1]! >= 9, 'the pauses grow');
  assert.equal(settled.length, 1);
  const [, outcome] = settled[0]!;
  assert.ok(!outcome.ok && outcome.attempts === 3 && outcome.error instanceof Flaky);
});

test('a permanent failure is not tried again; a later success ends the retries', async () => {
  let calls = 0;
  const { box, settled } = outbox({
    attempt: async (job) => {
      calls += 1;
      if (job === 'refused') throw new Flaky(true);
      if (calls < 3) throw new Flaky(false);
      return 'at last';
    },
  });
  box.push('refused');
  await box.idle();
  assert.equal(calls, 1);
  box.push('later');
  await box.idle();
  assert.deepEqual(
    settled.map(([j, o]) => [j, o.ok]),
    [
      ['refused', false],
      ['later', true],
    ],
  );
});

test('bounded: a full outbox drops new jobs, and only `concurrency` tries run at once', async () => {
  let running = 0;
  let most = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => {
    release = r;
  });
  const { box, dropped, settled } = outbox({
    maxJobs: 3,
    attempt: async () => {
      running += 1;
      most = Math.max(most, running);
      await gate;
      running -= 1;
      return 'ok';
    },
  });
  for (const j of ['a', 'b', 'c', 'd', 'e']) box.push(j);
  assert.deepEqual(dropped, ['d', 'e']);
  assert.equal(box.size, 3);
  await new Promise((r) => setImmediate(r));
  release();
  await box.idle();
  assert.equal(most, 2);
  assert.equal(settled.length, 3);
});

test('close cancels what runs, drops what waits, and reports nothing as a receiver failure', async () => {
  const { box, settled, dropped } = outbox({
    attempt: (_, signal) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Flaky(false)))),
  });
  box.push('a');
  box.push('b');
  box.push('c');
  await new Promise((r) => setImmediate(r));
  assert.equal(await box.close(1000), 3);
  assert.deepEqual(settled, []);
  assert.equal(box.push('late'), false);
  assert.deepEqual(dropped, ['late']);
});
