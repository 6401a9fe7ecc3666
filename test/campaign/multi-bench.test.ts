// One campaign shared by several benches on PostgreSQL, through the real `chub` binary: one runner per bench
// (`--bench`), each with its own fleet file of emulated hubs. The hubs run in this process, so they outlive a
// runner the test kills. Stages and gates are campaign-wide: each gate is decided once, over every bench, and
// no hub of a stage starts before the gate of the stage before it.
import { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { CampaignStore } from '../../host-tools/campaign/campaign-store';
import { openCampaignStore } from '../../host-tools/campaign/open-campaign-store';
import { makeImage } from '../helpers/images';
import { PostgresCluster, skipWithoutPostgres, startPostgresCluster } from '../helpers/postgres-cluster';
import { chub, fleetYaml, HubSpec, onHub, RunningHub, spawnChub, startHub } from './fleet-bench';

const TIME_SCALE = 0.05;
const IMAGE = 'fw-v2';
const TRANSFER_ALERTS = [0x8f8a, 0x8f89];

let dir: string;
let cluster: PostgresCluster;
const hubs: RunningHub[] = [];
let nextEui = 0x500;

/** Starts hubs with a PPMID and an HCALCS each, on bench `bench` (ids `${prefix}1`…). */
async function benchHubs(prefix: string, n: number, region = 'North'): Promise<RunningHub[]> {
  const specs: HubSpec[] = Array.from({ length: n }, (_, i) => ({
    id: `${prefix}${i + 1}`,
    variant: 'A',
    region,
    devices: (['PPMID', 'HCALCS'] as const).map((type) => ({ eui: `000D6F00000${(nextEui++).toString(16).padStart(5, '0')}`.toUpperCase(), type })),
  }));
  const started = await Promise.all(specs.map((s) => startHub(s, TIME_SCALE)));
  hubs.push(...started);
  return started;
}

/** Writes a plan shared by `benches` (each with its fleet file) under a fresh directory; returns its path. */
function planFor(name: string, benches: { name: string; hubs: (HubSpec & { port: string })[]; timeout?: number }[], plan: object): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  for (const b of benches) fs.writeFileSync(path.join(d, `bench-${b.name}.yaml`), fleetYaml(b.hubs));
  const list = benches.map((b) => ({ name: b.name, fleet: `bench-${b.name}.yaml`, ...(b.timeout ? { timeout: b.timeout } : {}) }));
  fs.writeFileSync(path.join(d, 'plan.yaml'), stringify({ name, benches: list, deploy: { image: '../fw-v2.ota', name: IMAGE }, confirm: { interval: 1, tries: 5 }, ...plan }));
  return path.join(d, 'plan.yaml');
}

const runners: ChildProcess[] = [];

interface Runner {
  proc: ChildProcess;
  /** All it printed so far, stdout and stderr. */
  said(): string;
  /** Resolves when it has printed a line matching `re`. */
  says(re: RegExp, ms?: number): Promise<void>;
  exited: Promise<number>;
}

function runner(plan: string, bench: string, db: string): Runner {
  const proc = spawnChub(['campaign', 'run', plan, '--bench', bench, '--db', db]);
  runners.push(proc);
  let out = '';
  const waiters: (() => void)[] = [];
  const take = (d: Buffer) => {
    out += d;
    for (const w of waiters) w();
  };
  proc.stdout!.on('data', take);
  proc.stderr!.on('data', take);
  const exited = new Promise<number>((resolve) => proc.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : 0))));
  const says = (re: RegExp, ms = 60000) =>
    new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`bench ${bench}'s runner did not print ${re} within ${ms} ms; it said:\n${out}`)), ms);
      const check = () => {
        if (!re.test(out)) return;
        clearTimeout(t);
        resolve();
      };
      waiters.push(check);
      check();
    });
  return { proc, said: () => out, says, exited };
}

async function ended(r: Runner): Promise<{ code: number; said: string }> {
  return { code: await r.exited, said: r.said() };
}

/** Every hub's devices each got one job and one recorded transfer alert, and no alert was left unacknowledged. */
async function nothingRepeatedNothingLost(store: CampaignStore, on: RunningHub[]): Promise<void> {
  const alerts = await store.alerts();
  for (const h of on) {
    const euis = h.devices.map((d) => d.eui).sort();
    expect({ hub: h.id, ...(await onHub(h, IMAGE)) }).toEqual({ hub: h.id, jobs: euis, held: [] });
    expect(alerts.filter((a) => a.hubId === h.id && TRANSFER_ALERTS.includes(a.code)).map((a) => a.eui).sort()).toEqual(euis);
  }
}

/** Each hub's summary line, printed once a runner finishes it, appears once across all runners. */
function hubsFinishedOnce(said: string[], ids: string[]): void {
  const all = said.join('\n');
  for (const id of ids) expect({ hub: id, times: all.split('\n').filter((l) => l.includes(` ${id} (A, North): `)).length }).toEqual({ hub: id, times: 1 });
}

/** Resolves once the campaign database shows `cond` (looked at every 50 ms; before the runner made its tables, it does not). */
async function until(db: string, what: string, cond: (s: CampaignStore) => Promise<boolean>, ms = 60000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await withStore(db, cond).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function withStore<T>(db: string, fn: (s: CampaignStore) => Promise<T>): Promise<T> {
  const s = await openCampaignStore(db, { readonly: true });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

test('a plan with benches needs --bench and a database every bench reaches', async () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-multi-bench-usage-'));
  try {
    fs.writeFileSync(path.join(d, 'fw-v2.ota'), makeImage({ fileVersion: 2, size: 1024 }));
    const fleet = (id: string, eui: string) => fleetYaml([{ id, variant: 'A', region: 'North', port: path.join(d, `${id}-port`), devices: [{ eui, type: 'PPMID' }] }]);
    fs.writeFileSync(path.join(d, 'bench-a.yaml'), fleet('a1', '000D6F00000EEEE1'));
    fs.writeFileSync(path.join(d, 'bench-b.yaml'), fleet('b1', '000D6F00000EEEE2'));
    const plan = path.join(d, 'plan.yaml');
    const benches = [{ name: 'a', fleet: 'bench-a.yaml' }, { name: 'b', fleet: 'bench-b.yaml', timeout: 600 }];
    fs.writeFileSync(plan, stringify({ name: 'p', benches, deploy: { image: 'fw-v2.ota' }, stages: [{ name: 'mass' }] }));
    expect(await chub(['campaign', 'run', plan])).toMatchObject({ code: 2, stderr: `chub: ${plan} is shared by benches (a, b): say which this runner is with --bench NAME\n` });
    expect(await chub(['campaign', 'run', plan, '--bench', 'c'])).toMatchObject({ code: 2, stderr: `chub: --bench c: no such bench in ${plan} (benches: a, b)\n` });
    const sqlite = await chub(['campaign', 'run', plan, '--bench', 'a']);
    expect(sqlite).toMatchObject({ code: 2, stderr: expect.stringContaining(`${plan} is shared by benches, which need a campaign database they all reach: --db postgres://`) });
    // Refused before anything was stored: no campaign file is left beside the plan.
    expect(fs.readdirSync(d).sort()).toEqual(['bench-a.yaml', 'bench-b.yaml', 'fw-v2.ota', 'plan.yaml']);
  } finally {
    fs.rmSync(d, { recursive: true, force: true });
  }
});

(skipWithoutPostgres() ? describe.skip : describe)('several benches, one campaign on PostgreSQL', () => {
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-multi-bench-'));
    fs.writeFileSync(path.join(dir, 'fw-v2.ota'), makeImage({ fileVersion: 2, size: 8 * 1024 }));
    cluster = await startPostgresCluster();
  }, 60000);
  afterAll(async () => {
    // A failed test may leave runners behind.
    for (const p of runners) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(hubs.map((h) => h.close()));
    await cluster?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a hub is claimed by one runner at a time; a finished hub by none; a dead runner\'s claims pass on', async () => {
    const db = await cluster.newDatabase();
    const one = await openCampaignStore(db);
    const two = await openCampaignStore(db);
    try {
      const units = [{ eui: '000D6F00000FFFF1', type: 'PPMID' as const, goal: 'confirmed' as const }];
      const plan = { name: 'claims', text: 'x', deploy: 'x', stages: [{ name: 'mass' }], benches: [{ name: 'a', timeoutS: null }] };
      await one.initialise(plan, [[{ id: 'h1', bench: 'a', variant: 'A', region: 'North', units }, { id: 'h2', bench: 'a', variant: 'A', region: 'North', units: [{ ...units[0], eui: '000D6F00000FFFF2' }] }]], 1000);
      const claimed = await Promise.all([one.claimHub('h1'), two.claimHub('h1')]);
      expect(claimed.filter((c) => c !== null)).toHaveLength(1);
      expect(await one.claimHub('h1')).toBeNull(); // this process holds it, or the other one does
      const held = claimed.find((c) => c !== null)!;
      await held.release();
      expect(await two.claimHub('h1')).not.toBeNull();
      await two.hubFinished('h2', null, 2000);
      expect(await one.claimHub('h2')).toBeNull();
      // A runner's claims end with its connection, as when it is killed.
      await two.close();
      expect(await one.claimHub('h1')).not.toBeNull();
    } finally {
      await one.close();
    }
  });

  test('two benches (and a second runner on one bench\'s fleet, by mistake) finish every stage: each hub run once, each gate decided once', async () => {
    const a = await benchHubs('a', 4);
    const b = await benchHubs('b', 2);
    const plan = planFor('two-benches', [
      { name: 'a', hubs: a },
      { name: 'b', hubs: b },
    ], { concurrency: 1, stages: [{ name: 'validate', hubs: ['a1', 'b1'] }, { name: 'mass' }] });
    const db = await cluster.newDatabase();

    const a1 = runner(plan, 'a', db);
    // Bench a finishes its part of the stage and waits for b, which has not come yet.
    await a1.says(/stage validate: waiting for bench b \(missing for \d+ s; 1 hub\(s\) left\)/);
    const others = [runner(plan, 'a', db), runner(plan, 'b', db)];
    const results = await Promise.all([a1, ...others].map(ended));
    for (const r of results) expect(r).toEqual({ code: 0, said: expect.stringContaining('campaign two-benches is complete') });
    const said = results.map((r) => r.said);

    hubsFinishedOnce(said, [...a, ...b].map((h) => h.id));
    await withStore(db, async (store) => {
      const stages = await store.stages();
      expect(stages.map((s) => [s.name, s.state])).toEqual([
        ['validate', 'passed'],
        ['mass', 'passed'],
      ]);
      // Each gate was decided by one run; the runners that read it say who decided it (after the last gate, a
      // runner may find the campaign complete instead).
      for (const s of stages) {
        const lines = said.join('\n').split('\n').filter((l) => l.includes(`gate after ${s.name}: passed`));
        expect(lines.filter((l) => !l.includes(`(decided by ${s.gateBy})`))).toHaveLength(1);
      }
      expect(said.join('\n').split('\n').filter((l) => l.includes('gate after validate: passed'))).toHaveLength(3);
      // No hub of the mass stage started before the validate gate was decided.
      for (const h of await store.hubs(1)) expect(h.started!).toBeGreaterThanOrEqual(stages[0].finished!);
      expect((await store.runs()).map((r) => [r.bench, r.outcome]).sort()).toEqual([
        ['a', 'done'],
        ['a', 'done'],
        ['b', 'done'],
      ]);
      expect((await store.units()).map((u) => u.stage).sort()).toEqual([...Array(6).fill('confirmed'), ...Array(6).fill('transferred')]);
      await nothingRepeatedNothingLost(store, [...a, ...b]);
    });
  }, 120000);

  test('a bench that never comes is listed as missing; with a bench timeout its hubs count as not reached', async () => {
    const here = await benchHubs('m', 1);
    const away = (id: string) => [{ id, variant: 'A', region: 'North', devices: [{ eui: `000D6F00000${(nextEui++).toString(16).padStart(5, '0')}`.toUpperCase(), type: 'PPMID' as const }], port: path.join(dir, `${id}-port`) }];
    const stages = [{ name: 'mass' }];

    const waits = planFor('no-timeout', [
      { name: 'here', hubs: here },
      { name: 'away', hubs: away('w1') },
    ], { stages });
    const db = await cluster.newDatabase();
    const r = runner(waits, 'here', db);
    await r.says(/stage mass: waiting for bench away \(missing for \d+ s; 1 hub\(s\) left\)/);
    const status = await chub(['campaign', 'status', '--db', db, '--json']);
    expect(status.code).toBe(0);
    const benches = JSON.parse(status.stdout).benches;
    expect(benches).toEqual([
      { name: 'away', state: 'missing', hubsLeft: 1, lastSeen: null, missingForMs: expect.any(Number), timeoutS: null },
      { name: 'here', state: 'running', hubsLeft: 0, lastSeen: expect.any(Number), missingForMs: null, timeoutS: null },
    ]);
    expect((await chub(['campaign', 'status', '--db', db])).stdout).toMatch(/missing: bench away for \d+ s/);
    r.proc.kill('SIGINT');
    expect(await r.exited).toBe(1);

    const gives = planFor('timeout', [
      { name: 'here', hubs: await benchHubs('t', 1) },
      { name: 'away', hubs: away('w2'), timeout: 1 },
    ], { stages, gate: { minSuccessRate: 50 } });
    const db2 = await cluster.newDatabase();
    const done = await ended(runner(gives, 'here', db2));
    expect(done).toEqual({ code: 0, said: expect.stringContaining('campaign timeout is complete') });
    await withStore(db2, async (store) => {
      expect(await store.hub('w2')).toMatchObject({ state: 'failed', error: expect.stringMatching(/^not reached: bench away missing for \d+ s, past its timeout of 1 s$/) });
      expect((await store.units('w2')).map((u) => u.stage)).toEqual(['failed']);
    });
  }, 90000);

  test('a runner killed mid-stage and run again resumes beside the other bench: nothing repeated, no alert lost', async () => {
    const a = await benchHubs('k', 3);
    const b = await benchHubs('l', 2);
    const plan = planFor('killed', [
      { name: 'a', hubs: a },
      { name: 'b', hubs: b },
    ], { concurrency: 1, stages: [{ name: 'mass' }] });
    const db = await cluster.newDatabase();
    const first = runner(plan, 'a', db);
    const other = runner(plan, 'b', db);
    // Killed while one of its hubs has transfers under way (or versions to confirm) and another is still to do.
    await until(db, 'a transfer on bench a', async (s) => {
      const moving = (await s.units()).some((u) => u.hubId.startsWith('k') && ['transferring', 'transferred', 'activated'].includes(u.stage));
      return moving && (await s.hub('k3')).state === 'pending';
    });
    first.proc.kill('SIGKILL');
    await first.exited;
    const again = runner(plan, 'a', db);
    const results = await Promise.all([again, other].map(ended));
    for (const r of results) expect(r).toEqual({ code: 0, said: expect.stringContaining('campaign killed is complete') });
    expect(results[0].said).toContain('resuming campaign killed (bench a, run 2)');
    await withStore(db, async (store) => {
      expect((await store.runs()).map((r) => [r.bench, r.outcome]).sort()).toEqual([
        ['a', 'done'],
        ['a', 'killed'],
        ['b', 'done'],
      ]);
      expect((await store.units()).map((u) => u.stage).sort()).toEqual([...Array(5).fill('confirmed'), ...Array(5).fill('transferred')]);
      await nothingRepeatedNothingLost(store, [...a, ...b]);
    });
  }, 120000);
});
