// The report's progress chart: for a few tracking stages, how many targets had reached them over time,
// drawn from the recorded stage timestamps as an inline SVG (no scripts, no external assets). Pure.
import { DeviceStage, STAGE_LABELS } from './device-stage';

export interface Point {
  t: number;
  n: number;
}

/** Stages drawn, with their colours: the success path and failures. */
const CHART_SERIES: { stage: DeviceStage; colour: string }[] = [
  { stage: 'requested', colour: '#9aa5b1' },
  { stage: 'on_hub', colour: '#5b8def' },
  { stage: 'transferred', colour: '#f0a030' },
  { stage: 'confirmed', colour: '#2f9e44' },
  { stage: 'failed', colour: '#d6336c' },
];

/** How many targets had entered `stage` by each time one entered it. */
export function cumulative(transitions: { stage: DeviceStage; t: number }[], stage: DeviceStage): Point[] {
  const times = transitions.filter((x) => x.stage === stage).map((x) => x.t).sort((a, b) => a - b);
  return times.map((t, i) => ({ t, n: i + 1 }));
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
}

export interface ChartInput {
  transitions: { stage: DeviceStage; t: number }[];
  targets: number;
  /** Campaign stages (and later runs of the runner, `resumed`), drawn as dashed lines where they started. */
  marks: { name: string; t: number; resumed?: boolean }[];
  width?: number;
  height?: number;
}

export function progressChartSvg(c: ChartInput): string {
  const W = c.width ?? 800;
  const H = c.height ?? 300;
  const pad = { l: 48, r: 150, t: 16, b: 36 };
  const times = [...c.transitions.map((x) => x.t), ...c.marks.map((m) => m.t)];
  if (times.length === 0 || c.targets === 0) return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="40"><text x="0" y="24">nothing recorded yet</text></svg>`;
  const t0 = Math.min(...times);
  const t1 = Math.max(t0 + 1000, ...times);
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (W - pad.l - pad.r);
  const y = (n: number) => H - pad.b - (n / c.targets) * (H - pad.t - pad.b);
  const out: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`];
  // Axes, with the target count and the elapsed time as scales.
  out.push(`<line x1="${pad.l}" y1="${y(0)}" x2="${W - pad.r}" y2="${y(0)}" stroke="#333"/><line x1="${pad.l}" y1="${y(0)}" x2="${pad.l}" y2="${y(c.targets)}" stroke="#333"/>`);
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const n = Math.round(f * c.targets);
    out.push(`<text x="${pad.l - 6}" y="${y(n) + 4}" text-anchor="end">${n}</text><line x1="${pad.l}" y1="${y(n)}" x2="${W - pad.r}" y2="${y(n)}" stroke="#eee"/>`);
    out.push(`<text x="${x(t0 + f * (t1 - t0))}" y="${H - pad.b + 16}" text-anchor="middle">${duration(f * (t1 - t0))}</text>`);
  }
  for (const m of c.marks) {
    // Resumptions are labelled lower and in red, so they do not sit on a stage's label.
    const [colour, ly] = m.resumed ? ['#c92a2a', pad.t + 24] : ['#555', pad.t + 10];
    out.push(`<line x1="${x(m.t)}" y1="${y(0)}" x2="${x(m.t)}" y2="${pad.t}" stroke="${colour}" stroke-dasharray="4 3"/><text x="${x(m.t) + 3}" y="${ly}" fill="${colour}">${escapeHtml(m.name)}</text>`);
  }
  CHART_SERIES.forEach((s, i) => {
    const pts = cumulative(c.transitions, s.stage);
    if (pts.length) {
      // A step line: the count holds until the next target enters the stage.
      let d = `M${x(t0)},${y(0)}`;
      for (const p of pts) d += ` H${x(p.t).toFixed(1)} V${y(p.n).toFixed(1)}`;
      d += ` H${x(t1)}`;
      out.push(`<path d="${d}" fill="none" stroke="${s.colour}" stroke-width="2"/>`);
    }
    const ly = pad.t + 14 + i * 16;
    const last = pts.length ? pts[pts.length - 1].n : 0;
    out.push(`<rect x="${W - pad.r + 12}" y="${ly - 8}" width="10" height="10" fill="${s.colour}"/><text x="${W - pad.r + 26}" y="${ly + 1}">${escapeHtml(STAGE_LABELS[s.stage])} (${last})</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
