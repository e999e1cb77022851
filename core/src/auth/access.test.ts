import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Access, Caller } from '../rpc/registry.ts';
import { checkAccess, needsSameOrigin } from './access.ts';

const callers: Record<string, Caller> = {
  anonymous: { kind: 'anonymous' },
  read: { kind: 'token', id: 't', name: 'n', scope: 'read' },
  operate: { kind: 'token', id: 't', name: 'n', scope: 'operate' },
  admin: { kind: 'token', id: 't', name: 'n', scope: 'admin' },
  session: { kind: 'session', id: 's' },
  local: { kind: 'local' },
};

// The whole table: access level × caller → allowed, after setup.
const allowed: Record<Access, string[]> = {
  public: ['anonymous', 'read', 'operate', 'admin', 'session', 'local'],
  setup: [],
  read: ['read', 'operate', 'admin', 'session', 'local'],
  operate: ['operate', 'admin', 'session', 'local'],
  admin: ['admin', 'session', 'local'],
  local: ['local'],
};

test('after setup, each level admits exactly its callers', () => {
  for (const [access, who] of Object.entries(allowed) as [Access, string[]][]) {
    for (const [name, caller] of Object.entries(callers)) {
      const call = () => checkAccess(access, caller, false);
      if (who.includes(name)) assert.doesNotThrow(call, `${name} → ${access}`);
      else assert.throws(call, `${name} → ${access}`);
    }
  }
});

test('in setup mode only public and setup methods answer, for anyone', () => {
  for (const caller of Object.values(callers)) {
    checkAccess('public', caller, true);
    checkAccess('setup', caller, true);
    for (const level of ['read', 'operate', 'admin', 'local'] as const) {
      assert.throws(() => checkAccess(level, caller, true), { code: 'setup_required' });
    }
  }
});

test('refusals carry codes a client can act on', () => {
  assert.throws(() => checkAccess('read', callers['anonymous']!, false), { code: 'unauthorized' });
  assert.throws(() => checkAccess('admin', callers['operate']!, false), { code: 'forbidden' });
  assert.throws(() => checkAccess('setup', callers['session']!, false), { code: 'already_set_up' });
  assert.throws(() => checkAccess('local', callers['admin']!, false), { code: 'forbidden' });
  assert.throws(() => checkAccess('local', callers['anonymous']!, false), { code: 'unauthorized' });
});

test('only state-changing calls by cookie sessions need the same-origin proof', () => {
  const write = { readOnly: false, destructive: false, idempotent: false, openWorld: false };
  const read = { ...write, readOnly: true };
  assert.equal(needsSameOrigin(callers['session']!, true, write), true);
  assert.equal(needsSameOrigin(callers['session']!, true, read), false);
  assert.equal(needsSameOrigin(callers['session']!, false, write), false);
  assert.equal(needsSameOrigin(callers['admin']!, false, write), false);
});
