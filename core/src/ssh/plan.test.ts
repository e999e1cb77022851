import assert from 'node:assert/strict';
import { test } from 'node:test';
import { authorizedKeys, HEADER, plan } from './plan.ts';
import type { SshKeyRow } from './rows.ts';

const key = (n: number, name = `key ${n}`): SshKeyRow => ({
  fingerprint: `SHA256:${n}`,
  type: 'ssh-ed25519',
  blob: `AAAA${n}`,
  name,
  createdAt: n,
});
const kinds = (steps: { kind: string }[]) => steps.map((s) => s.kind);

test('the file holds one line per key, type first, and the header', () => {
  assert.equal(authorizedKeys([key(1), key(2, '')]), `${HEADER}ssh-ed25519 AAAA1 key 1\nssh-ed25519 AAAA2\n`);
  assert.equal(authorizedKeys([]), HEADER);
});

test('a first key: written, then sshd started', () => {
  assert.deepEqual(kinds(plan([key(1)], { authorizedKeys: null, sshdActive: false })), [
    'write-keys',
    'start-sshd',
  ]);
  // Unmanaged sshd (tests, development): the file only.
  assert.deepEqual(kinds(plan([key(1)], { authorizedKeys: null, sshdActive: null })), ['write-keys']);
});

test('the last key gone: sshd stopped before the file is emptied', () => {
  const observed = { authorizedKeys: authorizedKeys([key(1)]), sshdActive: true };
  assert.deepEqual(kinds(plan([], observed)), ['stop-sshd', 'write-keys']);
  assert.deepEqual(plan([], { authorizedKeys: HEADER, sshdActive: false }), []);
});

test('in agreement: nothing; a file edited by hand: written again; sshd that died: started', () => {
  const content = authorizedKeys([key(1), key(2)]);
  assert.deepEqual(plan([key(1), key(2)], { authorizedKeys: content, sshdActive: true }), []);
  const edited = `${content}command="evil" ssh-ed25519 AAAA3\n`;
  assert.deepEqual(plan([key(1), key(2)], { authorizedKeys: edited, sshdActive: true }), [
    { kind: 'write-keys', content },
  ]);
  assert.deepEqual(kinds(plan([key(1)], { authorizedKeys: authorizedKeys([key(1)]), sshdActive: false })), [
    'start-sshd',
  ]);
});
