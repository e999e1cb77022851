import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import fc from 'fast-check';
import { RpcError } from '../src/client/client.ts';
import { METHODS } from '../src/rpc/methods.ts';
import { fuzzRuns, fuzzSeed } from './adversarial/fuzz.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

let d: TestDaemon;
before(async () => {
  // Budgets lifted: the fuzzer is to reach the handlers, not the rate limit (tested on its own).
  d = await startTestDaemon({
    args: ['--anonymous-calls-per-minute', '1000000', '--calls-per-minute', '1000000'],
  });
  await setUp(d);
});
after(() => d.cleanup());

const anything = fc.oneof(
  fc.jsonValue(),
  fc.dictionary(fc.string(), fc.jsonValue()),
  fc.record(
    { id: fc.string(), lines: fc.integer(), limit: fc.double(), follow: fc.jsonValue() },
    { requiredKeys: [] },
  ),
  fc.constantFrom(
    null,
    [],
    {},
    '',
    0,
    -1,
    1e308,
    { __proto__: { admin: true } },
    { constructor: { prototype: 1 } },
    { constructor: null },
    { params: { constructor: null } },
  ),
);

// Destructive calls would end the sessions or the daemon itself; they get their own tests.
const SKIP = new Set(['auth.logout', 'auth.password.change', 'auth.password.reset', 'server.reset']);
const methods = METHODS.map((m) => m.name).filter((m) => !SKIP.has(m));

test('random and malformed params to every method: no crash, no internals, still answering', async () => {
  const admin = d.client({ bearer: d.localToken });
  const anon = d.client();
  const leaks: string[] = [];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...methods), anything, fc.boolean(), async (method, params, asAdmin) => {
      try {
        await (asAdmin ? admin : anon).callRaw(method, params);
      } catch (e) {
        assert.ok(e instanceof RpcError, `${method}: not a JSON-RPC error: ${String(e)}`);
        assert.notEqual(e.rpcCode, -32603, `${method} failed internally with ${JSON.stringify(params)}`);
        const text = JSON.stringify({ m: e.message, d: e.data });
        if (/\bat \S+:\d+|node:internal|\/work\/|SqliteError|TypeError/.test(text))
          leaks.push(`${method}: ${text}`);
      }
    }),
    { numRuns: fuzzRuns(600), seed: fuzzSeed() },
  );
  assert.deepEqual(leaks, []);

  // Raw bytes that are not even JSON-RPC.
  const raws = fc.sample(
    fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
    ),
    200,
  );
  for (const body of raws) {
    const res = await fetch(`${d.url}/rpc/v1`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    assert.ok([200, 204, 400].includes(res.status), `status ${res.status} for ${body}`);
  }
  assert.equal((await admin.call('server.echo', { message: 'still here' })).message, 'still here');
  assert.ok((await admin.call('server.info')).daemonUptimeSeconds >= 0);
});
