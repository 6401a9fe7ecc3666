// The campaign status as text tables for a terminal (the HTML report shows the same tables).
import { table, time } from '../format';
import { BenchStatus, CampaignStatus, Counted, StageStatus } from './campaign-status';
import { DEVICE_STAGES, STAGE_LABELS } from './device-stage';
import { gateSummary } from './stage-gate';

export const COUNT_HEADS = DEVICE_STAGES.map((s) => STAGE_LABELS[s]);

export function countCells(c: Counted): string[] {
  return [String(c.targets), ...DEVICE_STAGES.map((s) => String(c.counts[s])), `${c.successRate.toFixed(1)}%`];
}

/** "passed", or "FAILED: " and the checks that failed (the JSON status and the run's log have every check). */
export function stageGateText(s: StageStatus): string {
  if (!s.gate) return '-';
  return s.gate.passed ? 'passed' : `FAILED: ${gateSummary(s.gate)}`;
}

export function hubCountText(s: StageStatus): string {
  const total = s.hubs.pending + s.hubs.running + s.hubs.done + s.hubs.failed;
  const parts = [`${s.hubs.done + s.hubs.failed}/${total} done`];
  if (s.hubs.running) parts.push(`${s.hubs.running} running`);
  if (s.hubs.failed) parts.push(`${s.hubs.failed} unreachable`);
  return parts.join(', ');
}

export function failureTarget(f: { eui: string; type: string }): string {
  return f.eui === '' ? '(the hub)' : `${f.eui} ${f.type}`;
}

/** "missing for 3 min 20 s" */
function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s} s` : s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function benchRow(b: BenchStatus): string[] {
  return [b.name, b.state, String(b.hubsLeft), b.lastSeen === null ? 'never' : time(b.lastSeen), b.missingForMs === null ? '' : duration(b.missingForMs), b.timeoutS === null ? 'none' : `${b.timeoutS} s`];
}

export function statusText(st: CampaignStatus): string {
  const out: string[] = [];
  out.push(`campaign ${st.name}: ${st.state}${st.reason ? ` (${st.reason})` : ''}; ${st.runs} run(s)`);
  out.push('');
  out.push(table(['STAGE', 'STATE', 'HUBS', 'TARGETS', 'SUCCESS', 'GATE'], st.stages.map((s) => [s.name, s.state, hubCountText(s), String(s.targets), `${s.successRate.toFixed(1)}%`, stageGateText(s)])));
  out.push('');
  if (st.benches.length) {
    const missing = st.benches.filter((b) => b.missingForMs !== null);
    if (missing.length) out.push(`missing: ${missing.map((b) => `bench ${b.name} for ${duration(b.missingForMs!)}`).join(', ')}`);
    out.push(table(['BENCH', 'STATE', 'HUBS LEFT', 'LAST SEEN', 'MISSING FOR', 'TIMEOUT'], st.benches.map(benchRow)));
    out.push('');
  }
  const head = ['STAGE', 'VARIANT', 'REGION', 'TARGETS', ...COUNT_HEADS.map((h) => h.toUpperCase()), 'SUCCESS'];
  const rows = st.groups.map((g) => [g.stage, g.variant, g.region, ...countCells(g)]);
  rows.push(['all', '', '', ...countCells(st.totals)]);
  out.push(table(head, rows));
  out.push('');
  if (st.failures.length === 0) out.push('no failures');
  else {
    out.push(`${st.failures.length} failure(s):`);
    out.push(table(['HUB', 'STAGE', 'VARIANT', 'REGION', 'TARGET', 'REASON', 'AT'], st.failures.map((f) => [f.hub, f.stage, f.variant, f.region, failureTarget(f), f.reason, time(f.at)])));
  }
  return out.join('\n');
}
