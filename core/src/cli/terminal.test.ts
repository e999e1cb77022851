import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { printable, printableStream } from './terminal.ts';

test('control characters, C1 and bidi overrides become visible escapes; newline and tab stay', () => {
  assert.equal(printable('a\x1b]0;pwned\x07b'), 'a\\u001b]0;pwned\\u0007b');
  assert.equal(printable('\x9b31mred'), '\\u009b31mred');
  assert.equal(printable('abc\u202egnp.exe'), 'abc\\u202egnp.exe');
  assert.equal(printable('line\n\tindented\r'), 'line\n\tindented\\u000d');
  assert.equal(printable('héllo — ✓'), 'héllo — ✓');
});

test('JSON stays JSON, with the same values', () => {
  const value = { title: 'x\u009b\u202ey', n: 1 };
  const text = printable(JSON.stringify(value));
  assert.doesNotMatch(text, /[\u009b\u202e]/);
  assert.deepEqual(JSON.parse(text), value);
});

test('a printable stream writes only printable text', () => {
  const sink = new PassThrough();
  printableStream(sink).write('\x1b[2Jcleared?\n');
  assert.equal(sink.read().toString(), '\\u001b[2Jcleared?\n');
});
