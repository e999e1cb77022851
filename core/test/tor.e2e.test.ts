import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RpcError } from '../src/client/client.ts';
import { setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

/*
 * Tor's methods and check on a real daemon with no package: tor stays off (no process is
 * started for nothing), the methods refuse what does not exist. An onion reached end to end
 * is tor-onion.net.test.ts (make test-net); tor's ServiceID, tor.integration.test.ts.
 */
let d: TestDaemon;
before(async () => {
  d = await startTestDaemon();
  await setUp(d);
});
after(() => d.cleanup());

test('tor is off with no onion; the check has nothing to say', async () => {
  const admin = d.client({ bearer: d.localToken });
  assert.deepEqual(await admin.call('tor.status', {}), {
    state: 'off',
    bootstrap: null,
    lastError: null,
    runningSince: null,
    onions: [],
  });
  const [check] = await admin.call('server.check.run', { id: 'tor' });
  assert.equal(check?.status, 'ok');
  const doc = (await admin.call('state.get', {})).state as { tor?: { state: string } };
  assert.equal(doc.tor?.state, 'off');
});

test('an onion for a package that is not installed is refused, and tor stays off', async () => {
  const admin = d.client({ bearer: d.localToken });
  await assert.rejects(
    admin.call('interface.tor.enable', { package: 'hello-world', interface: 'main' }),
    (e: unknown) => e instanceof RpcError && e.data.code === 'not_found',
  );
  await assert.rejects(
    admin.call('interface.tor.disable', { package: 'hello-world', interface: 'main' }),
    (e: unknown) => e instanceof RpcError && e.data.code === 'not_found',
  );
  assert.equal((await admin.call('tor.status', {})).state, 'off');
});

test('the CLI names the commands', async () => {
  const r = await d.cli(['--json', 'tor', 'status']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).state, 'off');
});
