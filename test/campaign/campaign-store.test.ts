// The campaign database: what a killed runner relies on when it is run again.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Alert } from '../../host-tools/link/hub-protocol';
import { CampaignStore } from '../../host-tools/campaign/campaign-store';
import { TargetHub } from '../../host-tools/campaign/stage-assignment';

const PPMID = '000D6F0000000001';
const HCALCS = '000D6F0000000002';
let dir: string;
let store: CampaignStore;

const hub = (id: string): TargetHub => ({
  id,
  variant: 'A',
  region: 'North',
  units: [
    { eui: PPMID, type: 'PPMID', goal: 'confirmed' },
    { eui: HCALCS, type: 'HCALCS', goal: 'transferred' },
  ],
});

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-store-'));
  store = CampaignStore.open(path.join(dir, 'c.db'));
  store.initialise({ name: 'c', text: 'plan text', deploy: 'image fw crc32 0', stages: [{ name: 'pilot' }, { name: 'mass' }] }, [[hub('h1')], [hub('h2')]], 1000);
});
afterEach(() => {
  store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('a new campaign holds every target, pending, in its stage', () => {
  expect(store.stages().map((s) => [s.name, s.state])).toEqual([
    ['pilot', 'pending'],
    ['mass', 'pending'],
  ]);
  expect(store.hubs(1).map((h) => h.id)).toEqual(['h2']);
  expect(store.units().map((u) => [u.hubId, u.eui, u.stage])).toEqual([
    ['h1', PPMID, 'pending'],
    ['h1', HCALCS, 'pending'],
    ['h2', PPMID, 'pending'],
    ['h2', HCALCS, 'pending'],
  ]);
});

test('stages only advance, each is entered once, and progress only grows', () => {
  store.hubStarted('h1', 2000);
  expect(store.advance('h1', PPMID, { stage: 'transferring', percent: 40 }, 2100)).toEqual(['on_hub', 'transferring']);
  expect(store.advance('h1', PPMID, { stage: 'transferring', percent: 30 }, 2200)).toEqual([]);
  expect(store.unit('h1', PPMID).percent).toBe(40);
  expect(store.advance('h1', PPMID, { stage: 'activated' }, 2300)).toEqual(['transferred', 'activated']);
  expect(store.advance('h1', PPMID, { stage: 'transferring', percent: 90 }, 2400)).toEqual([]);
  expect(store.unit('h1', PPMID)).toMatchObject({ stage: 'activated', percent: 40 });
  expect(store.transitions().filter((t) => t.eui === PPMID).map((t) => t.stage)).toEqual(['requested', 'on_hub', 'transferring', 'transferred', 'activated']);
});

test('an alert is recorded and acted on once, however often the hub shows it', () => {
  const a: Alert = { id: 7, code: 0x8f89, eui: HCALCS, time: 5000, fileVersion: 2, responseCode: 2 };
  let effects = 0;
  expect(store.recordAlert('h1', a, 5100, () => effects++)).toBe(true);
  expect(store.recordAlert('h1', a, 5200, () => effects++)).toBe(false);
  // The same id with another time is another alert (the hub's state was wiped and its ids restarted).
  expect(store.recordAlert('h1', { ...a, time: 9000 }, 9100, () => effects++)).toBe(true);
  expect(effects).toBe(2);
  store.alertsAcked('h1', [7], 9200);
  expect(store.alerts('h1')).toHaveLength(2);
  expect(store.lastAlert('h1', HCALCS, 0x8f89)).toMatchObject({ time: 9000 });
});

test('a hub that ends in error fails its unfinished targets with the reason, and keeps finished ones', () => {
  store.hubStarted('h1', 2000);
  store.advance('h1', HCALCS, { stage: 'transferred' }, 2100);
  store.hubFinished('h1', 'hub unreachable: no reply', 3000);
  expect(store.units('h1').map((u) => [u.eui, u.stage, u.reason])).toEqual([
    [PPMID, 'failed', 'hub unreachable: no reply'],
    [HCALCS, 'transferred', null],
  ]);
  expect(store.hub('h1')).toMatchObject({ state: 'failed', error: 'hub unreachable: no reply' });
});

test('the outcomes for the pause rule are counted from the last resume', () => {
  store.hubStarted('h1', 2000);
  store.advance('h1', PPMID, { stage: 'failed' }, 2100);
  store.advance('h1', HCALCS, { stage: 'transferred' }, 2200);
  expect(store.outcomesSince(0)).toEqual([false, true]);
  store.setState('running', '', 2150);
  expect(store.outcomesSince(Number(store.meta('resumed')))).toEqual([true]);
});

test('one live runner at a time; a runner that died is taken over and its run marked killed', () => {
  const first = store.startRun(111, () => true, 1000);
  expect(first).toEqual({ seq: 1 });
  expect(store.startRun(222, (pid) => pid === 111, 2000)).toEqual({ heldBy: 111 });
  expect(store.startRun(222, () => false, 3000)).toEqual({ seq: 2 });
  expect(store.runs().map((r) => [r.pid, r.outcome])).toEqual([
    [111, 'killed'],
    [222, null],
  ]);
});

test('state survives closing and opening the file', () => {
  store.hubStarted('h1', 2000);
  store.advance('h1', PPMID, { stage: 'confirmed', version: 2 }, 2100);
  store.close();
  store = CampaignStore.open(path.join(dir, 'c.db'));
  expect(store.initialised).toBe(true);
  expect(store.unit('h1', PPMID)).toMatchObject({ stage: 'confirmed', version: 2 });
});
