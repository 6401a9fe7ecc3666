// The campaign's HTML page, rendered from its view (campaign-view.ts). `chub campaign report` writes it as one
// self-contained file (inline CSS and SVG, nothing fetched) for people who were not at the bench; `chub
// campaign serve` serves the same page with a script that swaps in each newer rendering of the view.
import { time } from '../format';
import { CampaignStore } from './campaign-store';
import { CampaignView, readView, ViewTable } from './campaign-view';
import { escapeHtml } from './progress-chart';

/** Counts and percentages, aligned right. */
const NUMBER = /^\d+(\.\d+)?%?$/;

function htmlTable(t: ViewTable, id: string): string {
  const th = t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const td = (c: string, i: number) => {
    const attrs = i === t.bar ? ` class="n bar" style="--p: ${escapeHtml(c)}"` : NUMBER.test(c) ? ' class="n"' : '';
    return `<td${attrs}>${escapeHtml(c)}</td>`;
  };
  const trs = t.rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('\n');
  return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table>`;
}

/** Everything the view shows: what the live page replaces when the view changes. */
export function viewHtml(v: CampaignView): string {
  const failures = v.failures.rows.length ? htmlTable(v.failures, 'failures') : '<p id="failures">No failures.</p>';
  return `<h1>Campaign ${escapeHtml(v.name)}</h1>
<p class="state" id="state">${escapeHtml(v.state)}</p>
<p id="summary">${escapeHtml(v.summary)} As of ${escapeHtml(time(v.asOf))}.</p>
<h2>Progress</h2>
${v.chart}
<h2>Stages and gates</h2>
${htmlTable(v.stages, 'stages')}
<h2>Progress per bench</h2>
${htmlTable(v.benches, 'benches')}
<h2>Targets per stage, variant and region</h2>
${htmlTable(v.groups, 'groups')}
<h2>Failures by response code</h2>
${htmlTable(v.failureClasses, 'failure-classes')}
<h2>Failures</h2>
${failures}`;
}

/** The whole page; `live` (the live page's indicator and script) goes around the view. */
export function campaignPage(v: CampaignView, live?: { head: string; tail: string }): string {
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Campaign ${escapeHtml(v.name)}</title>
<style>
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; }
th { background: #f3f3f3; }
td.n { text-align: right; }
td.bar { background: linear-gradient(90deg, #b7e4c7 var(--p), transparent var(--p)); min-width: 8em; }
.state { font-weight: bold; }
#live { float: right; font-size: 13px; color: #555; }
</style></head><body>
${live?.head ?? ''}<div id="view">
${viewHtml(v)}
</div>
${live?.tail ?? ''}</body></html>
`;
}

export async function reportFromStore(store: CampaignStore, now = Date.now()): Promise<string> {
  return campaignPage(await readView(store, now));
}
