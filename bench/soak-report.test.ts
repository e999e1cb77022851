import assert from 'node:assert/strict';
import { test } from 'node:test';
import { growthOf, type SoakSample, soakSvg, soakTable } from './soak-report.ts';

const sample = (minute: number, rssMiB: number, heapUsedMiB: number): SoakSample => ({
  minute,
  rssMiB,
  anonMiB: rssMiB / 2,
  heapUsedMiB,
  heapTotalMiB: heapUsedMiB * 2,
  calls: minute * 1200,
  restarts: Math.floor(minute),
});

test('growth is the last sample against the first', () => {
  const g = growthOf([sample(1, 50, 10), sample(2, 60, 9), sample(3, 55, 11)]);
  assert.equal(g.rss.toFixed(3), '0.100');
  assert.equal(g.anon.toFixed(3), '0.100');
  assert.equal(g.heapUsed.toFixed(3), '0.100');
  assert.deepEqual(growthOf([]), { rss: 0, anon: 0, heapUsed: 0 });
});

test('the table has a row per sample, the growth and the peak, and says what failed', () => {
  const samples = [sample(0.5, 50, 10), sample(1.5, 52, 10.5)];
  const { text } = soakTable(samples, {
    minutes: 2,
    load: 'some load',
    binary: 'out/hearth',
    failures: ['call: x'],
  });
  assert.match(text, /^# make soak: 2 min/);
  assert.match(text, /\| 0\.5 \| 50\.0 \| 25\.0 \| 10\.0 \| 20\.0 \| 600 \| 0 \|/);
  assert.match(text, /\| 1\.5 \| 52\.0 \| 26\.0 \| 10\.5 \| 21\.0 \| 1800 \| 1 \|/);
  assert.match(text, /RSS \+4\.0 %, private \+4\.0 %, heap used \+5\.0 %; RSS peak 52\.0 MiB/);
  // Two samples: the second half is the same pair.
  assert.match(text, /Over the second half: RSS \+4\.0 %, private \+4\.0 %, heap used \+5\.0 %\./);
  assert.match(text, /Failures \(first 1\): call: x/);
});

test('the plot is an SVG with a line per series inside its frame', () => {
  const svg = soakSvg([sample(0.5, 50, 10), sample(1, 55, 11), sample(2, 54, 10)]);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const lines = [...svg.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!);
  assert.equal(lines.length, 4);
  for (const points of lines) {
    for (const p of points.split(' ')) {
      const [x, y] = p.split(',').map(Number) as [number, number];
      assert.ok(x >= 50 && x <= 570 && y >= 20 && y <= 320, p);
    }
  }
});
