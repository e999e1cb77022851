import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RpcError } from '../src/client/client.ts';
import type { NodeTarget } from '../src/client/node-transport.ts';
import { METHODS } from '../src/rpc/methods.ts';
import type { Access } from '../src/rpc/registry.ts';
import { PASSWORD, setUp, startTestDaemon, type TestDaemon } from './daemon.ts';

// Which callers each access level admits once the box is set up.
const ADMITS: Record<Access, string[]> = {
  public: ['anonymous', 'read', 'operate', 'admin', 'session', 'local'],
  setup: [],
  read: ['read', 'operate', 'admin', 'session', 'local'],
  operate: ['operate', 'admin', 'session', 'local'],
  admin: ['admin', 'session', 'local'],
  local: ['local'],
};
const REFUSALS = new Set(['unauthorized', 'forbidden', 'setup_required', 'already_set_up', 'invalid_token']);

let d: TestDaemon;
before(async () => {
  d = await startTestDaemon();
});
after(() => d.cleanup());

test('every method answers or refuses as its access level says, for every kind of caller', async () => {
  // Before setup: only public and setup methods answer, whoever calls.
  for (const m of METHODS) {
    if (m.name === 'setup.execute') continue;
    const outcome = await attempt(d.client({ bearer: d.localToken }), m.name);
    const refused = outcome === 'setup_required';
    assert.equal(refused, m.access !== 'public' && m.access !== 'setup', `${m.name} in setup mode`);
  }

  await setUp(d);
  const admin = d.client({ bearer: d.localToken });
  const token = async (scope: 'read' | 'operate' | 'admin') =>
    (await admin.call('auth.token.create', { name: scope, scope })).token;
  const callers: Record<string, () => Promise<Partial<NodeTarget>>> = {
    anonymous: async () => ({}),
    read: async () => ({ bearer: await token('read') }),
    operate: async () => ({ bearer: await token('operate') }),
    admin: async () => ({ bearer: await token('admin') }),
    // A fresh login for each call: some calls (logout) end the session they run in.
    session: async () => ({ bearer: (await d.client().call('auth.login', { password: PASSWORD })).token }),
    local: async () => ({ bearer: d.localToken }),
  };
  const table: string[] = [];
  for (const m of METHODS) {
    for (const [who, target] of Object.entries(callers)) {
      const outcome = await attempt(d.client(await target()), m.name);
      const admitted = !REFUSALS.has(outcome);
      table.push(`${m.name} ${who} ${outcome}`);
      assert.equal(admitted, ADMITS[m.access].includes(who), `${m.name} called by ${who}: ${outcome}`);
    }
  }
  assert.equal(table.length, METHODS.length * 6);
});

/**
 * Calls with empty params: an admitted caller gets an answer or a params error, a refused
 * one an access error. Destructive methods are safe here: the daemon runs with --dev.
 */
async function attempt(client: ReturnType<TestDaemon['client']>, method: string): Promise<string> {
  try {
    await client.callRaw(method, {});
    return 'ok';
  } catch (e) {
    if (e instanceof RpcError) return e.code;
    throw e;
  }
}
