// `chub campaign report`: one self-contained HTML page (inline CSS and SVG, nothing fetched) with the
// status tables and the progress chart, for people who were not at the bench.
import { time } from '../format';
import { CampaignStatus, readStatus } from './campaign-status';
import { CampaignStore, RunRow, StageRow, Transition } from './campaign-store';
import { escapeHtml, progressChartSvg } from './progress-chart';
import { COUNT_HEADS, countCells, failureTarget, hubCountText, stageGateText } from './status-text';

function htmlTable(head: string[], rows: string[][], cls = ''): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const trs = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

export interface ReportInput {
  status: CampaignStatus;
  stages: StageRow[];
  runs: RunRow[];
  transitions: Transition[];
  /** When the report was made. */
  now: number;
}

export function reportHtml(r: ReportInput): string {
  const st = r.status;
  const chart = progressChartSvg({
    transitions: r.transitions,
    targets: st.totals.targets,
    marks: [
      ...r.stages.filter((s) => s.started !== null).map((s) => ({ name: s.name, t: s.started! })),
      ...r.runs.slice(1).map((run) => ({ name: `resumed (run ${run.seq})`, t: run.started, resumed: true })),
    ],
  });
  const stageRows = st.stages.map((s) => [s.name, s.state, hubCountText(s), String(s.targets), `${s.successRate.toFixed(1)}%`, stageGateText(s)]);
  const groupRows = st.groups.map((g) => [g.stage, g.variant, g.region, ...countCells(g)]);
  groupRows.push(['all', '', '', ...countCells(st.totals)]);
  const failures = st.failures.length
    ? htmlTable(['Hub', 'Stage', 'Variant', 'Region', 'Target', 'Reason', 'At'], st.failures.map((f) => [f.hub, f.stage, f.variant, f.region, failureTarget(f), f.reason, time(f.at)]))
    : '<p>No failures.</p>';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Campaign ${escapeHtml(st.name)}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f3f3f3; }
td:nth-child(n+4) { text-align: right; }
.state { font-weight: bold; }
</style></head><body>
<h1>Campaign ${escapeHtml(st.name)}</h1>
<p class="state">${escapeHtml(st.state)}${st.reason ? `: ${escapeHtml(st.reason)}` : ''}</p>
<p>${st.totals.targets} target(s), ${st.totals.succeeded} reached their goal (${st.totals.successRate.toFixed(1)}%), ${st.totals.counts.failed} failed; ${st.runs} run(s) of the runner. Report made ${escapeHtml(time(r.now))}.</p>
<h2>Progress</h2>
${chart}
<h2>Stages</h2>
${htmlTable(['Stage', 'State', 'Hubs', 'Targets', 'Success', 'Gate'], stageRows)}
<h2>Targets per stage, variant and region</h2>
${htmlTable(['Stage', 'Variant', 'Region', 'Targets', ...COUNT_HEADS, 'Success'], groupRows)}
<h2>Failures</h2>
${failures}
</body></html>
`;
}

export async function reportFromStore(store: CampaignStore, now = Date.now()): Promise<string> {
  return reportHtml({ status: await readStatus(store), stages: await store.stages(), runs: await store.runs(), transitions: await store.transitions(), now });
}
