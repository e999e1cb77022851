import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  array,
  boolean,
  test as check,
  int,
  literal,
  nullable,
  number,
  object,
  oneOf,
  optional,
  ShapeMismatch,
  string,
  unknown,
} from './shape.ts';

const refused = (f: () => unknown, message: RegExp) =>
  assert.throws(f, (e) => e instanceof ShapeMismatch && message.test(e.message));

test('scalars: what each accepts, and where and why it refuses', () => {
  assert.equal(string({ min: 1, max: 3 }).check('ab'), 'ab');
  refused(() => string().check(1), /^the value: expected a string, got number$/);
  refused(() => string({ min: 1 }).check('', 'title'), /^title: at least 1 characters$/);
  refused(() => string({ max: 3 }).check('abcd'), /at most 3 characters/);
  refused(() => string({ pattern: /^[a-z]+$/ }).check('Bad Id'), /does not match/);
  assert.equal(int({ min: 1, max: 600 }).check(600), 600);
  for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '1', null]) {
    assert.throws(() => int().check(bad), ShapeMismatch, String(bad));
  }
  refused(() => int({ min: 1 }).check(0), /at least 1/);
  assert.equal(number().check(1.5), 1.5);
  refused(() => number().check(Number.NaN), /expected a number/);
  assert.equal(boolean().check(false), false);
  refused(() => boolean().check('true'), /expected true or false, got string/);
  assert.equal(literal(true).check(true), true);
  refused(() => literal(true).check(1), /expected true/);
  assert.equal(oneOf(['a', 'b']).check('b'), 'b');
  refused(() => oneOf(['a', 'b']).check('c'), /expected one of a, b/);
  refused(() => oneOf(['toString']).check({}), /expected one of/);
  const anything = { deep: [1] };
  assert.equal(unknown().check(anything), anything);
  assert.equal(nullable(string()).check(null), null);
  refused(() => nullable(string()).check(undefined), /expected a string/);
  assert.equal(optional(string()).check(undefined), undefined);
  refused(() => optional(string()).check(null), /expected a string, got null/);
});

test('objects: unknown keys dropped, or refused when strict; missing keys refused unless optional', () => {
  const shape = object({ id: string(), note: optional(string()), input: unknown() });
  assert.deepEqual(shape.check({ id: 'a', extra: 1 }), { id: 'a' });
  assert.deepEqual(shape.check({ id: 'a', note: 'n', input: { x: 1 } }), {
    id: 'a',
    note: 'n',
    input: { x: 1 },
  });
  refused(() => shape.check({}), /^id: expected a string, got undefined$/);
  refused(() => shape.check([]), /expected an object, got an array/);
  refused(() => shape.check(null), /expected an object, got null/);
  refused(() => shape.check('x'), /expected an object, got string/);
  const strict = object({ id: string() }, { strict: true });
  refused(() => strict.check({ id: 'a', sneaky: true }), /unexpected key "sneaky"/);
  // Keys that name Object.prototype's members are neither found on it nor let through.
  refused(() => strict.check({ id: 'a', ['__proto__']: 1 }), /unexpected key/);
  refused(() => object({ toString: string() }).check({}), /toString: expected a string, got undefined/);
  const parsed = object({ id: string() }).check(JSON.parse('{"id":"a","__proto__":{"polluted":true}}'));
  assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  // A refusal names the path down to the value at fault.
  refused(
    () => object({ list: array(object({ port: int() })) }).check({ list: [{ port: 1 }, { port: 'x' }] }),
    /^list\[1\]\.port: expected a number, got string$/,
  );
});

test('arrays: each item checked, a bound on their number', () => {
  assert.deepEqual(array(int()).check([1, 2]), [1, 2]);
  refused(() => array(int()).check({ length: 1, 0: 1 }), /expected an array, got object/);
  refused(() => array(int(), { max: 2 }).check([1, 2, 3]), /at most 2 items/);
});

test('test() answers instead of throwing, and lets other errors through', () => {
  assert.deepEqual(check(int(), 3), { ok: true, value: 3 });
  assert.deepEqual(check(int(), 'x'), { ok: false, message: 'the value: expected a number, got string' });
  const broken = {
    check: () => {
      throw new TypeError('a bug');
    },
  };
  assert.throws(() => check(broken, 1), TypeError);
});
