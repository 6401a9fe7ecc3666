// A run drawn as one lane per device: how far its download got over time, with retries, waits, reboots,
// outages and the outcome marked, so a person sees at a glance which device stalled and why.
// Pure: a Timeline in, SVG text out.
import { formatDuration } from './durations';

export type MarkKind = 'retry' | 'wait' | 'reboot' | 'gave-up' | 'outage';

export interface TimelineMark {
  t: number;
  kind: MarkKind;
  /** End of a wait or an outage. */
  until?: number;
  note?: string;
}

export interface TimelineLane {
  label: string;
  /** Image size: the lane's full height. */
  size: number;
  /** Download offsets over time (a restart goes back to 0). */
  points: { t: number; offset: number }[];
  marks: TimelineMark[];
  end?: { t: number; ok: boolean; note: string };
}

export interface Timeline {
  title: string;
  /** Time span drawn, in ms; labels count from `from` (earlier events sit at the left edge). */
  from: number;
  to: number;
  lanes: TimelineLane[];
  /** Things that hit every lane (hub or radio reset). */
  events: { t: number; note: string }[];
}

const LABEL_W = 200;
const PLOT_W = 900;
const LANE_H = 26;
const LANE_GAP = 6;
const TOP = 46;
const RIGHT = 90;
const COLOURS: { [k in MarkKind | 'progress' | 'ok' | 'failed' | 'event']: string } = {
  progress: '#2b6cb0',
  retry: '#d62728',
  wait: '#f0a202',
  reboot: '#8e44ad',
  'gave-up': '#d62728',
  outage: '#7f7f7f',
  ok: '#2ca02c',
  failed: '#d62728',
  event: '#444444',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function r1(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

/** 1, 2 or 5 × a power of ten, so that about `n` ticks span `ms`. */
function tickStep(ms: number, n: number): number {
  const raw = ms / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  return [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) as number;
}

export function timelineSvg(tl: Timeline): string {
  const span = Math.max(1, tl.to - tl.from);
  const x = (t: number) => LABEL_W + ((Math.min(Math.max(t, tl.from), tl.to) - tl.from) / span) * PLOT_W;
  const height = TOP + tl.lanes.length * (LANE_H + LANE_GAP) + 50;
  const width = LABEL_W + PLOT_W + RIGHT;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="10" y="18" font-size="14" font-weight="bold">${esc(tl.title)}</text>`);
  const plotBottom = TOP + tl.lanes.length * (LANE_H + LANE_GAP);
  const step = tickStep(span, 10);
  for (let t = 0; t <= span; t += step) {
    const tx = r1(x(tl.from + t));
    out.push(`<line x1="${tx}" y1="${TOP - 6}" x2="${tx}" y2="${plotBottom}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${tx}" y="${TOP - 10}" text-anchor="middle" fill="#555">${esc(formatDuration(t))}</text>`);
  }
  tl.lanes.forEach((lane, i) => out.push(...laneSvg(lane, TOP + i * (LANE_H + LANE_GAP), x)));
  for (const e of tl.events) {
    const ex = r1(x(e.t));
    out.push(`<line x1="${ex}" y1="${TOP - 4}" x2="${ex}" y2="${plotBottom}" stroke="${COLOURS.event}" stroke-dasharray="4 3"><title>${esc(e.note)}</title></line>`);
    out.push(`<text x="${ex}" y="${TOP - 22}" text-anchor="middle" fill="${COLOURS.event}">${esc(e.note)}</text>`);
  }
  out.push(...legend(plotBottom + 24));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function laneSvg(lane: TimelineLane, top: number, x: (t: number) => number): string[] {
  const y = (offset: number) => top + LANE_H - (lane.size > 0 ? (offset / lane.size) * LANE_H : 0);
  const out = [`<g><title>${esc(lane.label)}</title>`];
  out.push(`<text x="8" y="${top + LANE_H / 2 + 4}">${esc(lane.label)}</text>`);
  out.push(`<rect x="${LABEL_W}" y="${top}" width="${PLOT_W}" height="${LANE_H}" fill="#f6f8fa"/>`);
  for (const m of lane.marks.filter((k) => k.kind === 'outage'))
    out.push(`<rect x="${r1(x(m.t))}" y="${top}" width="${r1(Math.max(1, x(m.until ?? m.t) - x(m.t)))}" height="${LANE_H}" fill="${COLOURS.outage}" fill-opacity="0.35"><title>${esc(m.note ?? 'link outage')}</title></rect>`);
  const pts = decimate(lane.points.map((p) => ({ px: x(p.t), py: y(p.offset) })));
  if (pts.length > 0) out.push(`<polyline fill="none" stroke="${COLOURS.progress}" stroke-width="1.5" points="${pts.map((p) => `${r1(p.px)},${r1(p.py)}`).join(' ')}"/>`);
  for (const m of lane.marks) {
    const mx = r1(x(m.t));
    const title = `<title>${esc(`${m.kind}${m.note ? ': ' + m.note : ''}`)}</title>`;
    if (m.kind === 'wait') out.push(`<rect x="${mx}" y="${top + LANE_H - 4}" width="${r1(Math.max(1.5, x(m.until ?? m.t) - x(m.t)))}" height="4" fill="${COLOURS.wait}">${title}</rect>`);
    else if (m.kind === 'retry') out.push(`<path d="M${mx} ${top + 2}l-3 6h6z" fill="${COLOURS.retry}">${title}</path>`);
    else if (m.kind === 'reboot') out.push(`<line x1="${mx}" y1="${top}" x2="${mx}" y2="${top + LANE_H}" stroke="${COLOURS.reboot}" stroke-width="2">${title}</line>`);
    else if (m.kind === 'gave-up') out.push(`<circle cx="${mx}" cy="${top + LANE_H / 2}" r="4" fill="none" stroke="${COLOURS['gave-up']}" stroke-width="2">${title}</circle>`);
  }
  if (lane.end) {
    const ex = x(lane.end.t);
    const colour = lane.end.ok ? COLOURS.ok : COLOURS.failed;
    out.push(`<circle cx="${r1(ex)}" cy="${top + LANE_H / 2}" r="4" fill="${colour}"><title>${esc(lane.end.note)}</title></circle>`);
    out.push(`<text x="${r1(ex + 7)}" y="${top + LANE_H / 2 + 4}" fill="${colour}">${esc(lane.end.note)}</text>`);
  }
  out.push('</g>');
  return out;
}

/** At most the first and last point per pixel column: a long run stays a small file. */
function decimate(pts: { px: number; py: number }[]): { px: number; py: number }[] {
  const out: { px: number; py: number }[] = [];
  for (let i = 0; i < pts.length; i++) {
    const col = Math.round(pts[i].px);
    const first = i === 0 || Math.round(pts[i - 1].px) !== col;
    const last = i === pts.length - 1 || Math.round(pts[i + 1].px) !== col;
    if (first || last) out.push(pts[i]);
  }
  return out;
}

function legend(y: number): string[] {
  const items: [string, string][] = [
    ['download offset', COLOURS.progress],
    ['retry (request unanswered)', COLOURS.retry],
    ['WAIT_FOR_DATA pause', COLOURS.wait],
    ['reboot', COLOURS.reboot],
    ['link outage', COLOURS.outage],
    ['succeeded', COLOURS.ok],
    ['failed / gave up', COLOURS.failed],
  ];
  let lx = LABEL_W;
  const out: string[] = [];
  for (const [name, colour] of items) {
    out.push(`<rect x="${lx}" y="${y - 9}" width="10" height="10" fill="${colour}"/><text x="${lx + 14}" y="${y}">${esc(name)}</text>`);
    lx += 24 + name.length * 6.5;
  }
  return out;
}
