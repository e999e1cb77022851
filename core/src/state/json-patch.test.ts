import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { applyPatch, diff, type Json, PatchError } from './json-patch.ts';

test('diff of equal documents is empty', () => {
  assert.deepEqual(diff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), []);
});

test('diff produces add, remove and replace with escaped pointers', () => {
  const ops = diff(
    { keep: 1, gone: true, 'a/b': { 'c~d': 1 } },
    { keep: 1, 'a/b': { 'c~d': 2 }, added: 'x' },
  );
  assert.deepEqual(ops, [
    { op: 'remove', path: '/gone' },
    { op: 'replace', path: '/a~1b/c~0d', value: 2 },
    { op: 'add', path: '/added', value: 'x' },
  ]);
});

test('arrays that differ are replaced whole', () => {
  assert.deepEqual(diff({ l: [1, 2] }, { l: [1, 3] }), [{ op: 'replace', path: '/l', value: [1, 3] }]);
});

test('applyPatch leaves its input alone and rejects paths that do not exist', () => {
  const doc = { a: { b: 1 } };
  const out = applyPatch(doc, [{ op: 'replace', path: '/a/b', value: 2 }]);
  assert.deepEqual(doc, { a: { b: 1 } });
  assert.deepEqual(out, { a: { b: 2 } });
  assert.throws(() => applyPatch(doc, [{ op: 'remove', path: '/x/y' }]), PatchError);
  assert.throws(() => applyPatch(doc, [{ op: 'replace', path: '/nope', value: 1 }]), PatchError);
});

test('applyPatch handles array add, remove and the root', () => {
  assert.deepEqual(
    applyPatch({ l: [1, 2] }, [
      { op: 'add', path: '/l/-', value: 3 },
      { op: 'remove', path: '/l/0' },
    ]),
    { l: [2, 3] },
  );
  assert.deepEqual(applyPatch({ a: 1 }, [{ op: 'replace', path: '', value: [1] }]), [1]);
});

test('keys named like Object.prototype members are plain data', () => {
  const out = applyPatch({}, [{ op: 'add', path: '/__proto__', value: { polluted: true } }]) as Record<
    string,
    unknown
  >;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(Object.keys(out), ['__proto__']);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.deepEqual(diff({}, { toString: 1 }), [{ op: 'add', path: '/toString', value: 1 }]);
  assert.throws(() => applyPatch({}, [{ op: 'remove', path: '/toString' }]), PatchError);
});

test('applying diff(a, b) to a gives b, for any JSON documents', () => {
  const json = fc.jsonValue() as fc.Arbitrary<Json>;
  fc.assert(
    fc.property(json, json, (a, b) => {
      // JSON has no -0; fast-check can generate it and structuredClone keeps it.
      const norm = (v: Json) => JSON.parse(JSON.stringify(v)) as Json;
      assert.deepEqual(applyPatch(norm(a), diff(norm(a), norm(b))), norm(b));
    }),
    { numRuns: 500 },
  );
});
