import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { required } from '../../../core/test/required.ts';
import { qrMatrix, reedSolomon } from './qr.ts';

test('Reed–Solomon: the standard’s HELLO WORLD 1-M codewords', () => {
  const data = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17];
  assert.deepEqual(reedSolomon(data, 10), [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
});

const ZBAR = '/usr/bin/zbarimg';
const skip = required(
  fs.existsSync(ZBAR) ? false : 'needs zbarimg (apt-get install zbar-tools)',
  'the QR decode test',
);

/** The matrix as a binary PGM, 4 pixels a module, with the quiet zone. */
function pgm(m: boolean[][]): Buffer {
  const scale = 4;
  const side = (m.length + 8) * scale;
  const pixels = Buffer.alloc(side * side, 255);
  for (const [y, row] of m.entries()) {
    for (const [x, dark] of row.entries()) {
      if (!dark) continue;
      for (let dy = 0; dy < scale; dy++) {
        const line = ((y + 4) * scale + dy) * side;
        pixels.fill(0, line + (x + 4) * scale, line + (x + 5) * scale);
      }
    }
  }
  return Buffer.concat([Buffer.from(`P5\n${side} ${side}\n255\n`), pixels]);
}

test('a real decoder (zbar) reads back what was encoded, versions 1 to 10', { skip }, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-qr-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const texts = [
    'https://hearth.local:20000/',
    'https://[fd00::1234:5678:9abc:def0]:20001/',
    'testbox-radicale.local:20002',
    `http://${'a'.repeat(56)}.onion/`,
    `https://hearth-${'x'.repeat(60)}.local:20003/?é=ü`,
    'y'.repeat(150),
    'z'.repeat(213),
  ];
  const sizes = new Set<number>();
  for (const [i, text] of texts.entries()) {
    const m = qrMatrix(text);
    sizes.add(m.length);
    const file = path.join(dir, `${i}.pgm`);
    fs.writeFileSync(file, pgm(m));
    const out = execFileSync(ZBAR, ['--raw', '-q', '-Sbinary', file], {
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString();
    assert.equal(out.replace(/\n$/, ''), text);
  }
  // Past version 6 the version information is drawn too; version 10 uses two block sizes.
  assert.ok([...sizes].some((s) => s >= 45) && sizes.has(57), [...sizes].join(' '));
  assert.throws(() => qrMatrix('w'.repeat(214)));
});
