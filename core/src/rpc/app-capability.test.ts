import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppCapabilities, type CapabilityCaller } from './app-capability.ts';
import type { Identity } from './dispatch.ts';

const alive = new Set(['s:abc123', 't:def456', 'local']);
const identify = (c: CapabilityCaller): Identity => {
  const key = c.kind === 'local' ? 'local' : `${c.kind[0]}:${c.id}`;
  if (!alive.has(key)) return { caller: { kind: 'anonymous' }, viaCookie: false };
  return c.kind === 'token'
    ? { caller: { kind: 'token', id: c.id, name: 'agent', scope: 'operate' }, viaCookie: false }
    : { caller: c, viaCookie: false };
};

test('a capability opens its package’s pages for the caller it was made for', () => {
  const caps = new AppCapabilities(identify);
  const seg = caps.mint({ kind: 'session', id: 'abc123' }, 'hello-world');
  assert.match(seg, /^~sabc123\.[\w-]{22}$/);
  assert.deepEqual(caps.verify(seg, 'hello-world')?.caller, { kind: 'session', id: 'abc123' });
  const token = caps.mint({ kind: 'token', id: 'def456', name: 'agent', scope: 'operate' }, 'radicale');
  assert.equal(caps.verify(token, 'radicale')?.caller.kind, 'token');
  assert.equal(caps.verify(caps.mint({ kind: 'local' }, 'x'), 'x')?.caller.kind, 'local');
});

test('not for another package, not tampered, not after its credential ended, not from another daemon run', () => {
  const caps = new AppCapabilities(identify);
  const seg = caps.mint({ kind: 'session', id: 'abc123' }, 'hello-world');
  assert.equal(caps.verify(seg, 'radicale'), undefined);
  assert.equal(caps.verify(seg.replace('~sabc123', '~sabc124'), 'hello-world'), undefined);
  assert.equal(caps.verify(`${seg.slice(0, -1)}${seg.endsWith('A') ? 'B' : 'A'}`, 'hello-world'), undefined);
  assert.equal(caps.verify('~sabc123.short', 'hello-world'), undefined);
  assert.equal(caps.verify('~x../../etc', 'hello-world'), undefined);
  assert.equal(new AppCapabilities(identify).verify(seg, 'hello-world'), undefined);
  const ended = caps.mint({ kind: 'session', id: 'ffff' }, 'hello-world');
  assert.equal(caps.verify(ended, 'hello-world'), undefined);
});
