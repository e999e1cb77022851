import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createLogger, fileSink } from './log.ts';

test('the log file is rotated by size: it and the one before take at most twice the limit', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-log-'));
  try {
    const file = path.join(dir, 'hearth.log');
    const log = createLogger({ level: 'info', sinks: [fileSink(file, { maxBytes: 10_000 })] });
    for (let i = 0; i < 2000; i++) log.warn('failed login', { address: `192.0.2.${i % 250}`, i });
    const sizes = [file, `${file}.1`].map((f) => fs.statSync(f).size);
    assert.ok(
      sizes.every((s) => s <= 10_000),
      String(sizes),
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), ['hearth.log', 'hearth.log.1']);
    // The newest lines are in the current file, whole.
    const last = fs.readFileSync(file, 'utf8').trimEnd().split('\n').at(-1)!;
    assert.equal((JSON.parse(last) as { fields: { i: number } }).fields.i, 1999);
    // A new sink on the same file carries on from its size.
    const again = createLogger({ level: 'info', sinks: [fileSink(file, { maxBytes: 10_000 })] });
    for (let i = 0; i < 200; i++) again.info('x'.repeat(100));
    assert.ok(fs.statSync(file).size <= 10_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
