// What a person looking at a campaign sees, as data: its state, the progress chart, the stage and group
// tables, failures by response code, progress per bench and every failure. The static report
// (campaign-report.ts) and the live page (campaign-serve.ts) render this one view, so they show the same.
// Pure but for readView.
import { responseCodeName, time } from '../format';
import { FAILURE_CLASSES, FailureClass } from './campaign-plan';
import { campaignStatus, StatusInput } from './campaign-status';
import { CampaignStore, HubRow, Transition, UnitRow } from './campaign-store';
import { isFinal, succeeded } from './device-stage';
import { progressChartSvg } from './progress-chart';
import { failureClass } from './stage-gate';
import { COUNT_HEADS, countCells, failureTarget, hubCountText, stageGateText } from './status-text';

export interface ViewTable {
  head: string[];
  rows: string[][];
  /** The index of a column of percentages to draw as bars. */
  bar?: number;
}

export interface CampaignView {
  name: string;
  /** The campaign's state, and why when it says. */
  state: string;
  summary: string;
  /** An inline SVG. */
  chart: string;
  stages: ViewTable;
  groups: ViewTable;
  failureClasses: ViewTable;
  benches: ViewTable;
  /** No rows: no failures. */
  failures: ViewTable;
  /** When the store was read. */
  asOf: number;
}

export interface ViewInput extends StatusInput {
  transitions: Transition[];
  now: number;
}

/** The bench of a campaign without benches (hubs' bench ''): one runner runs the whole fleet. */
export const ONE_BENCH = 'the whole fleet';

function benchOf(h: HubRow): string {
  return h.bench || ONE_BENCH;
}

function classLabel(c: FailureClass): string {
  return c === 'other' ? 'other (no response code)' : `${c} ${responseCodeName(Number(c))}`;
}

function percent(n: number, of: number): string {
  return `${(of === 0 ? 0 : (100 * n) / of).toFixed(1)}%`;
}

function benchTable(hubs: HubRow[], units: UnitRow[]): ViewTable {
  const benches = new Map<string, HubRow[]>();
  for (const h of hubs) {
    const of = benches.get(benchOf(h));
    if (of) of.push(h);
    else benches.set(benchOf(h), [h]);
  }
  const rows = [...benches].map(([bench, bh]) => {
    const ids = new Set(bh.map((h) => h.id));
    const us = units.filter((u) => ids.has(u.hubId));
    const final = us.filter((u) => isFinal(u.stage, u.goal)).length;
    const ok = us.filter((u) => succeeded(u.stage, u.goal)).length;
    const done = bh.filter((h) => h.state === 'done' || h.state === 'failed').length;
    const running = bh.filter((h) => h.state === 'running').length;
    const hubText = `${done}/${bh.length} done${running ? `, ${running} running` : ''}`;
    return [bench, hubText, String(us.length), String(final), String(ok), String(final - ok), percent(final, us.length)];
  });
  return { head: ['Bench', 'Hubs', 'Targets', 'Final', 'Succeeded', 'Failed', 'Progress'], rows, bar: 6 };
}

export function campaignView(i: ViewInput): CampaignView {
  const st = campaignStatus(i);
  const chart = progressChartSvg({
    transitions: i.transitions,
    targets: st.totals.targets,
    marks: [
      ...i.stages.filter((s) => s.started !== null).map((s) => ({ name: s.name, t: s.started! })),
      ...i.runs.slice(1).map((run) => ({ name: `resumed (run ${run.seq})`, t: run.started, resumed: true })),
    ],
  });
  const groupRows = st.groups.map((g) => [g.stage, g.variant, g.region, ...countCells(g)]);
  groupRows.push(['all', '', '', ...countCells(st.totals)]);
  const byClass = FAILURE_CLASSES.map((c) => {
    const of = st.failures.filter((f) => failureClass(f.code) === c);
    return [classLabel(c), ...st.stages.map((s) => String(of.filter((f) => f.stage === s.name).length)), String(of.length)];
  });
  return {
    name: st.name,
    state: `${st.state}${st.reason ? `: ${st.reason}` : ''}`,
    summary: `${st.totals.targets} target(s), ${st.totals.succeeded} reached their goal (${st.totals.successRate.toFixed(1)}%), ${st.totals.counts.failed} failed; ${st.runs} run(s) of the runner.`,
    chart,
    stages: {
      head: ['Stage', 'State', 'Hubs', 'Targets', 'Success', 'Gate'],
      rows: st.stages.map((s) => [s.name, s.state, hubCountText(s), String(s.targets), `${s.successRate.toFixed(1)}%`, stageGateText(s)]),
    },
    groups: { head: ['Stage', 'Variant', 'Region', 'Targets', ...COUNT_HEADS, 'Success'], rows: groupRows },
    failureClasses: { head: ['Response code', ...st.stages.map((s) => s.name), 'All'], rows: byClass },
    benches: benchTable(i.hubs, i.units),
    failures: {
      head: ['Hub', 'Stage', 'Variant', 'Region', 'Target', 'Reason', 'At'],
      rows: st.failures.map((f) => [f.hub, f.stage, f.variant, f.region, failureTarget(f), f.reason, time(f.at)]),
    },
    asOf: i.now,
  };
}

/** Reads everything the view shows from the store, each table once. */
export async function readView(store: CampaignStore, now = Date.now()): Promise<CampaignView> {
  const { state, reason } = await store.state();
  const [name, stages, hubs, units, runs, transitions] = [await store.meta('name'), await store.stages(), await store.hubs(), await store.units(), await store.runs(), await store.transitions()];
  return campaignView({ name: name ?? '?', state, reason, stages, hubs, units, runs, transitions, now });
}
