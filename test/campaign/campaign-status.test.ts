// What campaign status and the HTML report show, from a campaign's recorded state.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { reportFromStore } from '../../host-tools/campaign/campaign-report';
import { readStatus } from '../../host-tools/campaign/campaign-status';
import { CampaignStore } from '../../host-tools/campaign/campaign-store';
import { openCampaignStore } from '../../host-tools/campaign/open-campaign-store';
import { cumulative } from '../../host-tools/campaign/progress-chart';
import { TargetHub } from '../../host-tools/campaign/stage-assignment';
import { evaluateGate, stageOutcome } from '../../host-tools/campaign/stage-gate';
import { statusText } from '../../host-tools/campaign/status-text';

let dir: string;
let store: CampaignStore;
const eui = (n: number) => n.toString(16).padStart(16, '0').toUpperCase();
const hub = (id: string, variant: string, region: string, first: number): TargetHub => ({
  id,
  variant,
  region,
  units: [0, 1, 2].map((i) => ({ eui: eui(first + i), type: i === 1 ? 'HCALCS' : 'PPMID', goal: 'confirmed' })),
});

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-status-'));
  store = await openCampaignStore(path.join(dir, 'c.db'));
  await store.initialise({ name: 'ppmid-v2 <test>', text: 'x', deploy: 'image fw crc32 0', stages: [{ name: 'pilot' }, { name: 'mass' }] }, [[hub('n1', 'A', 'North', 0x10), hub('s1', 'B', 'South', 0x20)], [hub('n2', 'A', 'North', 0x30)]], 0);
  await store.stageStarted(0, 1000);
  await store.hubStarted('n1', 1000);
  await store.hubStarted('s1', 1000);
  for (const e of [0x10, 0x11, 0x12, 0x20]) await store.advance(e < 0x20 ? 'n1' : 's1', eui(e), { stage: 'confirmed' }, 5000);
  await store.advance('s1', eui(0x21), { stage: 'failed', code: 2, reason: '0x8F89 response 2 Hardware Version Mismatch' }, 3000);
  await store.advance('s1', eui(0x22), { stage: 'transferring', percent: 50 }, 4000);
  await store.hubFinished('n1', null, 5000);
  await store.stageFinished(0, evaluateGate({ minSuccessRate: 98, maxFailures: { 2: 0 }, minDevices: 1 }, stageOutcome((await store.units()).filter((u) => u.hubId !== 'n2'))), 6000);
  await store.setState('gate-failed', 'gate after stage pilot failed');
});
afterAll(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('status counts targets per tracking stage, per campaign stage, variant and region', async () => {
  const st = await readStatus(store);
  expect(st).toMatchObject({ name: 'ppmid-v2 <test>', state: 'gate-failed', runs: 0 });
  expect(st.totals).toMatchObject({ targets: 9, succeeded: 4 });
  expect(st.totals.counts).toMatchObject({ pending: 3, confirmed: 4, failed: 1, transferring: 1 });
  expect(st.groups.map((g) => [g.stage, g.variant, g.region, g.targets, g.counts.confirmed, g.counts.failed])).toEqual([
    ['pilot', 'A', 'North', 3, 3, 0],
    ['pilot', 'B', 'South', 3, 1, 1],
    ['mass', 'A', 'North', 3, 0, 0],
  ]);
  expect(st.stages[0]).toMatchObject({ name: 'pilot', state: 'gate-failed', hubs: { done: 1, running: 1 }, gate: { passed: false } });
  expect(st.failures).toEqual([{ hub: 's1', stage: 'pilot', variant: 'B', region: 'South', eui: eui(0x21), type: 'HCALCS', code: 2, reason: '0x8F89 response 2 Hardware Version Mismatch', at: 3000 }]);
});

test('the text status has the stage, group and failure tables', async () => {
  const text = statusText(await readStatus(store));
  expect(text).toContain('campaign ppmid-v2 <test>: gate-failed (gate after stage pilot failed)');
  expect(text).toMatch(/pilot\s+gate-failed\s+1\/2 done, 1 running\s+6\s+66\.7%\s+FAILED: success 66\.7% \(4\/6\) < 98%; 1 failure\(s\) with response code 2/);
  expect(text).toContain('1 failure(s):');
  expect(text).toMatch(/s1\s+pilot\s+B\s+South\s+0000000000000021 HCALCS\s+0x8F89 response 2 Hardware Version Mismatch/);
});

test('the chart counts targets into a stage over time', async () => {
  expect(cumulative(await store.transitions(), 'confirmed')).toEqual([1, 2, 3, 4].map((n) => ({ t: 5000, n })));
});

test('the HTML report is one self-contained page with the same tables and a progress chart', async () => {
  const html = await reportFromStore(store, 7000);
  expect(html).toContain('<svg');
  expect(html).toContain('Version confirmed (4)');
  expect(html).toContain('<h2>Failures</h2>');
  expect(html).toContain('0x8F89 response 2 Hardware Version Mismatch');
  // Nothing is fetched: no scripts, stylesheets or images from elsewhere.
  expect(html).not.toMatch(/<script|<link|<img|src=|href=/i);
  // Names from the plan are escaped.
  expect(html).toContain('ppmid-v2 &lt;test&gt;');
  expect(html).not.toContain('ppmid-v2 <test>');
});
