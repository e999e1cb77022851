// `make soak`'s report (bench/soak.ts), pure: the samples as a markdown table with the
// growth, and an SVG plot of RSS and heap over the run.

export interface SoakSample {
  /** Minutes since the soak started. */
  minute: number;
  rssMiB: number;
  /** RssAnon: the daemon's private pages. */
  anonMiB: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  calls: number;
  restarts: number;
}

export interface SoakContext {
  minutes: number;
  load: string;
  binary: string;
  failures: string[];
}

export interface Growth {
  rss: number;
  anon: number;
  heapUsed: number;
}

const f1 = (n: number) => n.toFixed(1);
const pct = (g: number) => `${g >= 0 ? '+' : ''}${(g * 100).toFixed(1)} %`;

/** The last sample against the first, as fractions (0.1 is +10 %). */
export function growthOf(samples: SoakSample[]): Growth {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last) return { rss: 0, anon: 0, heapUsed: 0 };
  return {
    rss: last.rssMiB / first.rssMiB - 1,
    anon: last.anonMiB / first.anonMiB - 1,
    heapUsed: last.heapUsedMiB / first.heapUsedMiB - 1,
  };
}

export function soakTable(samples: SoakSample[], c: SoakContext): { text: string; growth: Growth } {
  const growth = growthOf(samples);
  // A leak grows in both halves; a warm-up (the state document's patch history filling, the
  // heap finding its size) only in the first.
  const late = growthOf(samples.slice(Math.floor((samples.length - 1) / 2)));
  const peak = Math.max(...samples.map((s) => s.rssMiB));
  const lines = [
    `# make soak: ${c.minutes} min`,
    '',
    `${c.binary}; load: ${c.load}.`,
    '',
    '| minute | RSS MiB | private MiB | heap used MiB | heap total MiB | calls | restarts |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...samples.map(
      (s) =>
        `| ${f1(s.minute)} | ${f1(s.rssMiB)} | ${f1(s.anonMiB)} | ${f1(s.heapUsedMiB)} | ${f1(s.heapTotalMiB)} | ${s.calls} | ${s.restarts} |`,
    ),
    '',
    `Growth, last sample against the first: RSS ${pct(growth.rss)}, private ${pct(growth.anon)}, ` +
      `heap used ${pct(growth.heapUsed)}; RSS peak ${f1(peak)} MiB. Over the second half: RSS ${pct(late.rss)}, ` +
      `private ${pct(late.anon)}, heap used ${pct(late.heapUsed)}.`,
    c.failures.length === 0
      ? 'No call failed.'
      : `Failures (first ${c.failures.length}): ${c.failures.join('; ')}`,
    '',
  ];
  return { text: lines.join('\n'), growth };
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** RSS, private, heap total and heap used (MiB) against minutes, one line each. */
export function soakSvg(samples: SoakSample[]): string {
  const W = 720;
  const H = 360;
  const m = { l: 50, r: 150, t: 20, b: 40 };
  const series: [string, string, (s: SoakSample) => number][] = [
    ['RSS', '#c0392b', (s) => s.rssMiB],
    ['private (RssAnon)', '#e67e22', (s) => s.anonMiB],
    ['heap total', '#2980b9', (s) => s.heapTotalMiB],
    ['heap used', '#27ae60', (s) => s.heapUsedMiB],
  ];
  const maxX = Math.max(1, ...samples.map((s) => s.minute));
  const maxY = Math.ceil(Math.max(10, ...samples.map((s) => s.rssMiB)) / 10) * 10;
  const x = (v: number) => m.l + (v / maxX) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - (v / maxY) * (H - m.t - m.b);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
  ];
  for (let v = 0; v <= maxY; v += maxY / 5) {
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = (maxX * i) / 5;
    out.push(`<text x="${x(v)}" y="${H - m.b + 16}" text-anchor="middle">${v.toFixed(0)}</text>`);
  }
  out.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">minutes</text>`,
    `<text x="12" y="${m.t + 4}">MiB</text>`,
  );
  series.forEach(([name, color, value], i) => {
    const points = samples.map((s) => `${x(s.minute).toFixed(1)},${y(value(s)).toFixed(1)}`).join(' ');
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="2" points="${points}"/>`,
      `<line x1="${W - m.r + 12}" x2="${W - m.r + 32}" y1="${m.t + 10 + i * 18}" y2="${m.t + 10 + i * 18}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${W - m.r + 38}" y="${m.t + 14 + i * 18}">${esc(name)}</text>`,
    );
  });
  out.push('</svg>', '');
  return out.join('\n');
}
