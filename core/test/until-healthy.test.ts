import assert from 'node:assert/strict';
import { test } from 'node:test';
import { untilHealthy } from './daemon.ts';

/** package.get answering from a script of health documents, one per call (the last repeats). */
function scripted(healths: Record<string, { status: string; at: number }>[]) {
  let calls = 0;
  return {
    calls: () => calls,
    // biome-ignore lint/suspicious/noExplicitAny: a stand-in for the typed client's call
    call: (async (method: string): Promise<any> => {
      if (method === 'package.logs') return { lines: ['the last line'] };
      const health = healths[Math.min(calls, healths.length - 1)];
      calls++;
      return { status: 'running', health };
    }) as never,
  };
}

test('untilHealthy: a success from before `since` is stale, one taken after it counts', async () => {
  const since = 1_000;
  const client = scripted([
    { web: { status: 'success', at: 999 } },
    { web: { status: 'starting', at: 1_001 } },
    { web: { status: 'success', at: 1_002 }, page: { status: 'success', at: 500 } },
    { web: { status: 'success', at: 1_002 }, page: { status: 'success', at: 1_003 } },
  ]);
  await untilHealthy(client, 'hello-world', { since, timeoutMs: 10_000, pollMs: 1 });
  assert.equal(client.calls(), 4);
});

test('untilHealthy: only stale successes end in the error that shows them and the logs', async () => {
  const client = scripted([{ web: { status: 'success', at: 10 } }]);
  await assert.rejects(
    untilHealthy(client, 'hello-world', { since: 11, timeoutMs: 20, pollMs: 1 }),
    /hello-world is not healthy since .*"success".*\n.*the last line/s,
  );
});
