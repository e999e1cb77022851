/** A small line chart of recent values: an SVG path, with the newest value as text beside it. */
export function Chart(props: {
  label: string;
  values: number[];
  /** The top of the scale: 100 for percentages; otherwise the largest value. */
  max?: number;
  format: (v: number) => string;
}) {
  const w = 200;
  const h = 48;
  const vals = props.values.length > 0 ? props.values : [0];
  const max = props.max ?? Math.max(1, ...vals);
  const step = vals.length > 1 ? w / (vals.length - 1) : w;
  const pts = vals.map(
    (v, i) => [i * step, h - (Math.min(max, Math.max(0, v)) / max) * (h - 2) - 1] as const,
  );
  const line = pts.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join('');
  const area = `${line}L${w},${h}L0,${h}Z`;
  const latest = props.values.at(-1);
  return (
    <figure class="vital card">
      <figcaption>{props.label}</figcaption>
      <div class="value">{latest === undefined ? '–' : props.format(latest)}</div>
      <svg
        class="chart"
        viewBox={`0 0 ${w} ${h}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${props.label} over the last half hour`}
      >
        <path class="area" d={area} />
        <path class="line" d={line} />
      </svg>
    </figure>
  );
}
