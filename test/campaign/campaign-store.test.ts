// The campaign database: what a killed runner relies on when it is run again. The same tests run on a SQLite
// file and on a real PostgreSQL server (a throwaway cluster).
import Database from 'better-sqlite3';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Alert } from '../../host-tools/link/hub-protocol';
import { CampaignStore } from '../../host-tools/campaign/campaign-store';
import { openCampaignStore } from '../../host-tools/campaign/open-campaign-store';
import { GateResult } from '../../host-tools/campaign/stage-gate';
import { TargetHub } from '../../host-tools/campaign/stage-assignment';
import { PostgresCluster, skipWithoutPostgres, startPostgresCluster } from '../helpers/postgres-cluster';

const PPMID = '000D6F0000000001';
const HCALCS = '000D6F0000000002';
const dirs: string[] = [];
let cluster: Promise<PostgresCluster> | undefined;

const BACKENDS = [
  {
    name: 'SQLite',
    available: true,
    fresh: async () => {
      dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), 'chub-store-')));
      return path.join(dirs[dirs.length - 1], 'c.db');
    },
  },
  { name: 'PostgreSQL', available: !skipWithoutPostgres(), fresh: async () => (await (cluster ??= startPostgresCluster())).newDatabase() },
];

afterAll(async () => {
  await (await cluster?.catch(() => undefined))?.stop();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const plan = { name: 'c', text: 'plan text', deploy: 'image fw crc32 0', stages: [{ name: 'pilot' }, { name: 'mass' }] };
const hub = (id: string): TargetHub => ({
  id,
  variant: 'A',
  region: 'North',
  units: [
    { eui: PPMID, type: 'PPMID', goal: 'confirmed' },
    { eui: HCALCS, type: 'HCALCS', goal: 'transferred' },
  ],
});

describe.each(BACKENDS.filter((b) => b.available))('on $name', (backend) => {
  let db: string;
  let store: CampaignStore;

  beforeEach(async () => {
    db = await backend.fresh();
    store = await openCampaignStore(db);
    await store.initialise(plan, [[hub('h1')], [hub('h2')]], 1000);
  });
  afterEach(() => store.close());

  test('a new campaign holds every target, pending, in its stage; it is created once', async () => {
    expect((await store.stages()).map((s) => [s.name, s.state])).toEqual([
      ['pilot', 'pending'],
      ['mass', 'pending'],
    ]);
    expect((await store.hubs(1)).map((h) => h.id)).toEqual(['h2']);
    expect((await store.units()).map((u) => [u.hubId, u.eui, u.stage])).toEqual([
      ['h1', PPMID, 'pending'],
      ['h1', HCALCS, 'pending'],
      ['h2', PPMID, 'pending'],
      ['h2', HCALCS, 'pending'],
    ]);
    expect(await store.initialise({ name: 'other', text: 'other plan', deploy: 'x', stages: [{ name: 'mass' }] }, [[hub('h3')]], 2000)).toBe(false);
    expect(await store.meta('plan')).toBe('plan text');
  });

  test('stages only advance, each is entered once, and progress only grows', async () => {
    await store.hubStarted('h1', 2000);
    expect(await store.advance('h1', PPMID, { stage: 'transferring', percent: 40 }, 2100)).toEqual(['on_hub', 'transferring']);
    expect(await store.advance('h1', PPMID, { stage: 'transferring', percent: 30 }, 2200)).toEqual([]);
    expect((await store.unit('h1', PPMID)).percent).toBe(40);
    expect(await store.advance('h1', PPMID, { stage: 'activated' }, 2300)).toEqual(['transferred', 'activated']);
    expect(await store.advance('h1', PPMID, { stage: 'transferring', percent: 90 }, 2400)).toEqual([]);
    expect(await store.unit('h1', PPMID)).toMatchObject({ stage: 'activated', percent: 40 });
    expect((await store.transitions()).filter((t) => t.eui === PPMID).map((t) => t.stage)).toEqual(['requested', 'on_hub', 'transferring', 'transferred', 'activated']);
  });

  test('an alert is recorded and acted on once, however often the hub shows it', async () => {
    const a: Alert = { id: 7, code: 0x8f89, eui: HCALCS, time: 5000, fileVersion: 0xfffffffe, responseCode: 2 };
    let effects = 0;
    const fails = () => {
      effects++;
      return { stage: 'failed' as const, code: 2, reason: 'Hardware Version Mismatch' };
    };
    expect(await store.recordAlert('h1', a, 5100, fails)).toBe(true);
    expect(await store.recordAlert('h1', a, 5200, fails)).toBe(false);
    // The same id with another time is another alert (the hub's state was wiped and its ids restarted).
    expect(await store.recordAlert('h1', { ...a, time: 9000 }, 9100, fails)).toBe(true);
    expect(effects).toBe(2);
    expect(await store.unit('h1', HCALCS)).toMatchObject({ stage: 'failed', code: 2, reason: 'Hardware Version Mismatch' });
    await store.alertsAcked('h1', [7], 9200);
    expect(await store.alerts('h1')).toHaveLength(2);
    expect(await store.lastAlert('h1', HCALCS, 0x8f89)).toEqual({ ...a, time: 9000 });
  });

  test('a hub that ends in error fails its unfinished targets with the reason, and keeps finished ones', async () => {
    await store.hubStarted('h1', 2000);
    await store.advance('h1', HCALCS, { stage: 'transferred' }, 2100);
    await store.hubFinished('h1', 'hub unreachable: no reply', 3000);
    expect((await store.units('h1')).map((u) => [u.eui, u.stage, u.reason])).toEqual([
      [PPMID, 'failed', 'hub unreachable: no reply'],
      [HCALCS, 'transferred', null],
    ]);
    expect(await store.hub('h1')).toMatchObject({ state: 'failed', error: 'hub unreachable: no reply' });
  });

  test('the outcomes for the pause rule are counted from the last resume', async () => {
    await store.hubStarted('h1', 2000);
    await store.advance('h1', PPMID, { stage: 'failed' }, 2100);
    await store.advance('h1', HCALCS, { stage: 'transferred' }, 2200);
    expect(await store.outcomesSince(0)).toEqual([false, true]);
    await store.setState('running', '', 2150);
    expect(await store.outcomesSince(Number(await store.meta('resumed')))).toEqual([true]);
  });

  test('one live runner at a time; a runner that died is taken over and its run marked killed', async () => {
    expect(await store.startRun(111, () => true, 1000)).toEqual({ seq: 1 });
    expect(await store.startRun(222, (pid) => pid === 111, 2000)).toEqual({ heldBy: 111 });
    expect(await store.startRun(222, () => false, 3000)).toEqual({ seq: 2 });
    expect((await store.runs()).map((r) => [r.pid, r.outcome])).toEqual([
      [111, 'killed'],
      [222, null],
    ]);
  });

  test('state survives closing and opening the database', async () => {
    await store.hubStarted('h1', 2000);
    await store.advance('h1', PPMID, { stage: 'confirmed', version: 2 }, 2100);
    await store.close();
    store = await openCampaignStore(db, { readonly: true, ifMissing: 'start it' });
    expect(await store.initialised()).toBe(true);
    expect(await store.unit('h1', PPMID)).toMatchObject({ stage: 'confirmed', version: 2 });
  });

  test('a database without a campaign is said to be one, not read', async () => {
    await expect(openCampaignStore(await backend.fresh(), { readonly: true, ifMissing: 'start the campaign with chub campaign run' })).rejects.toThrow(
      /^no campaign state at .+: start the campaign with chub campaign run$/,
    );
  });
});

test('a campaign file an older chub wrote (before benches) is read and goes on: the columns it lacks are added', async () => {
  dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), 'chub-store-')));
  const file = path.join(dirs[dirs.length - 1], 'old.campaign.db');
  // The tables as chub wrote them before benches (the campaign store at f84a585), with a campaign under way.
  const old = new Database(file);
  old.exec(`
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE stages (idx INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, gate TEXT, started INTEGER, finished INTEGER);
CREATE TABLE hubs (id TEXT PRIMARY KEY, stage_idx INTEGER NOT NULL, variant TEXT NOT NULL, region TEXT NOT NULL,
  state TEXT NOT NULL, fw TEXT, error TEXT, job_watermark INTEGER, started INTEGER, finished INTEGER);
CREATE TABLE runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL, started INTEGER NOT NULL, ended INTEGER, outcome TEXT);
INSERT INTO meta VALUES ('plan', 'plan text');
INSERT INTO stages VALUES (0, 'pilot', 'running', NULL, 1000, NULL);
INSERT INTO hubs VALUES ('hub-1', 0, 'A', 'North', 'done', '1.0', NULL, 3, 1000, 2000);
INSERT INTO runs (pid, started, ended, outcome) VALUES (4242, 1000, NULL, NULL);
`);
  old.close();
  // As `chub campaign status` opens it: reading only, the campaign must exist.
  const store = await openCampaignStore(file, { readonly: true, ifMissing: 'start it' });
  try {
    expect(await store.stages()).toEqual([expect.objectContaining({ name: 'pilot', state: 'running', gateBy: null })]);
    expect(await store.hubs()).toEqual([expect.objectContaining({ id: 'hub-1', bench: '', state: 'done', jobWatermark: 3 })]);
    expect(await store.runs()).toEqual([expect.objectContaining({ pid: 4242, host: '', bench: '', heartbeat: 0 })]);
  } finally {
    await store.close();
  }
});

// Two connections in one process race only on PostgreSQL: better-sqlite3 holds the thread while it waits for
// SQLite's write lock, which serialises writers across processes.
describe.each(BACKENDS.filter((b) => b.available && b.name === 'PostgreSQL'))('two connections on $name', (backend) => {
  test("a stage's gate is decided once, whichever connection gets there first", async () => {
    const [a, b] = await backend.fresh().then((db) => Promise.all([openCampaignStore(db), openCampaignStore(db)]));
    try {
      await a.initialise(plan, [[hub('h1')], [hub('h2')]], 1000);
      const gate = (passed: boolean): GateResult => ({ passed, successRate: passed ? 100 : 50, checks: [{ rule: 'success >= 98%', ok: passed }] });
      const decided = await Promise.all([a.stageFinished(0, gate(true), 4000), b.stageFinished(0, gate(false), 4000)]);
      expect(decided[1]).toEqual(decided[0]);
      const stored = (await b.stages())[0];
      expect(stored).toMatchObject({ gate: decided[0], state: decided[0].passed ? 'passed' : 'gate-failed' });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test('two runners starting at once: one runs, the other is told which process holds the campaign', async () => {
    const [a, b] = await backend.fresh().then((db) => Promise.all([openCampaignStore(db), openCampaignStore(db)]));
    try {
      await a.initialise(plan, [[hub('h1')], [hub('h2')]], 1000);
      const started = await Promise.all([a.startRun(111, () => true, 2000), b.startRun(222, () => true, 2000)]);
      expect(started.filter((r) => 'seq' in r)).toHaveLength(1);
      expect(started.find((r) => 'heldBy' in r)).toEqual({ heldBy: 'seq' in started[0] ? 111 : 222 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
