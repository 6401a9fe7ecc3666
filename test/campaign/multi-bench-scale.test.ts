// Issue 17's scale test: a fleet of emulated hubs with three devices each, split over three benches whose
// runners (the real `chub`, one process each) share one PostgreSQL campaign through validate, pilot and mass.
// One runner is SIGKILLed in the middle of the mass stage and started again. Then every device is in exactly
// one final stage, each transfer has one alert recorded (and one job on its hub), each gate was decided once,
// and the status's counts add up. The same fleet then takes a second image from one runner on SQLite, which
// cannot be shared by benches.
// `make test` runs 60 hubs; CHUB_SCALE_HUBS=300 (make soak-campaign) runs the full size. The hubs run
// in this process (NodeHub and the HAN simulator on ptys), so they outlive the runner that is killed; short
// images on a fast radio (time scale 0.05) keep a hub's part of a stage to a few seconds.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { runPool } from '../../host-tools/campaign/async-pool';
import { CampaignStatus } from '../../host-tools/campaign/campaign-status';
import { CampaignStore } from '../../host-tools/campaign/campaign-store';
import { DEVICE_STAGES } from '../../host-tools/campaign/device-stage';
import { openCampaignStore } from '../../host-tools/campaign/open-campaign-store';
import { makeImage } from '../helpers/images';
import { PostgresCluster, skipWithoutPostgres, startPostgresCluster } from '../helpers/postgres-cluster';
import { Background, backgroundChub, chub, fleetYaml, HubSpec, onHub, RunningHub, startHub } from './fleet-bench';

const HUBS = Number(process.env.CHUB_SCALE_HUBS ?? 60);
const BENCHES = ['north', 'central', 'south'];
const VARIANTS = ['single-band', 'dual-band'];
/** Hubs each runner works at once: 12 in flight across the default fleet, 30 across 300 hubs (60 overload 2 cores). */
const CONCURRENCY = Math.max(4, Math.round(HUBS / 30));
/** Simulated delays × 0.05, timeouts too: at 0.02 a device waits 100 ms for its Upgrade End Response, which the
 *  hubs' one event loop, under 300 hubs on a busy machine, does not always give it in 5 tries; it then keeps its
 *  old firmware. */
const TIME_SCALE = 0.05;
const IMAGE_SIZE = 2 * 1024;
/** Every tenth hub has a display whose hardware the images do not fit: it fails with 0x8F89 code 2. */
const OLD_HARDWARE = 0x20;
const TRANSFER_ALERTS = [0x8f8a, 0x8f89];
/** Generous for a busy 2-core machine: a stage of the 60-hub fleet takes well under a minute. */
const TIMEOUT_MS = 240000 + HUBS * 2000;

const SPECS: HubSpec[] = Array.from({ length: HUBS }, (_, i) => ({
  id: `${BENCHES[i % 3]}-${String(Math.floor(i / 3) + 1).padStart(3, '0')}`,
  variant: VARIANTS[Math.floor(i / 3) % 2],
  region: BENCHES[i % 3],
  devices: (['PPMID', 'HCALCS', 'PPMID'] as const).map((type, j) => ({
    eui: `000D6F01${i.toString(16).padStart(4, '0')}${j.toString(16).padStart(4, '0')}`.toUpperCase(),
    type,
    hw: i % 10 === 9 && j === 2 ? OLD_HARDWARE : undefined,
  })),
}));
const DEVICES = SPECS.flatMap((s) => s.devices);
const MISMATCHED = DEVICES.filter((d) => d.hw === OLD_HARDWARE).map((d) => d.eui);
/** The validate stage: each bench's first hub. */
const LAB = SPECS.slice(0, 3).map((s) => s.id);

let dir: string;
let cluster: PostgresCluster | undefined;
let hubs: RunningHub[] = [];
const runners: Background[] = [];

function plan(name: string, image: string, where: object): string {
  return stringify({
    name,
    // HCALCSs run the image too: one left holding it would refuse the next campaign's transfer (BUSY).
    deploy: { image, name: path.basename(image, '.ota'), activate: true },
    concurrency: CONCURRENCY,
    hubTimeout: 300,
    // A loaded machine can hold a device's reboot into the image for seconds: reads are given 20 s.
    confirm: { interval: 1, tries: 20 },
    // Hardware mismatches are expected; any other failure breaks the gate.
    gate: { minSuccessRate: 80, maxFailures: { 1: 0, 3: 0, other: 0 } },
    stages: [{ name: 'validate', hubs: LAB }, { name: 'pilot', perVariant: 2 }, { name: 'mass' }],
    ...where,
  });
}

function runner(args: string[]): Background {
  const r = backgroundChub(args);
  runners.push(r);
  return r;
}

/** Resolves once the store shows `cond`, looked at every 100 ms (before the first runner made the tables, it does not). */
async function until(store: CampaignStore, what: string, cond: () => Promise<boolean>, ms = TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * What must hold after a campaign over the whole fleet, however its runners went: every device is in exactly
 * one final stage (the right one), every transfer has one alert recorded and one job on its hub, no alert is
 * left on a hub, every gate passed, and the status's counts add up.
 */
async function everyDeviceFinalOnce(store: CampaignStore, image: string, version: number, status: CampaignStatus): Promise<void> {
  const units = await store.units();
  expect(units.map((u) => u.eui).sort()).toEqual(DEVICES.map((d) => d.eui).sort());
  for (const u of units) {
    if (MISMATCHED.includes(u.eui)) expect(u).toMatchObject({ stage: 'failed', code: 2 });
    else expect(u).toMatchObject({ stage: 'confirmed', version });
  }
  // Entered once: a target that was confirmed never also failed, nor the other way round.
  const finals = new Map<string, string[]>();
  for (const t of await store.transitions()) if (t.stage === 'failed' || t.stage === 'confirmed') finals.set(t.eui, [...(finals.get(t.eui) ?? []), t.stage]);
  for (const u of units) expect({ eui: u.eui, finals: finals.get(u.eui) }).toEqual({ eui: u.eui, finals: [u.stage] });

  const transfers = (await store.alerts()).filter((a) => TRANSFER_ALERTS.includes(a.code));
  expect(transfers.map((a) => a.eui).sort()).toEqual(DEVICES.map((d) => d.eui).sort());
  for (const a of transfers) expect(a.code).toBe(MISMATCHED.includes(a.eui) ? 0x8f89 : 0x8f8a);
  await runPool(hubs, 16, async (h) => expect({ hub: h.id, ...(await onHub(h, image)) }).toEqual({ hub: h.id, jobs: h.devices.map((d) => d.eui).sort(), held: [] }), () => true);

  expect(status.stages.map((s) => [s.name, s.state, s.gate?.passed])).toEqual([
    ['validate', 'passed', true],
    ['pilot', 'passed', true],
    ['mass', 'passed', true],
  ]);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const t = status.totals;
  expect(t.targets).toBe(DEVICES.length);
  expect(sum(DEVICE_STAGES.map((s) => t.counts[s]))).toBe(t.targets);
  expect(t.succeeded + t.counts.failed).toBe(t.targets);
  expect(t.counts.failed).toBe(MISMATCHED.length);
  expect(status.failures.map((f) => f.eui).sort()).toEqual([...MISMATCHED].sort());
  expect(sum(status.stages.map((s) => s.targets))).toBe(t.targets);
  expect(sum(status.stages.map((s) => s.succeeded))).toBe(t.succeeded);
  expect(sum(status.stages.map((s) => s.hubs.done))).toBe(HUBS);
  expect(sum(status.groups.map((g) => g.targets))).toBe(t.targets);
  for (const s of DEVICE_STAGES) expect({ stage: s, n: sum(status.groups.map((g) => g.counts[s])) }).toEqual({ stage: s, n: t.counts[s] });
}

async function statusOf(db: string): Promise<CampaignStatus> {
  const r = await chub(['campaign', 'status', '--db', db, '--json']);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  return JSON.parse(r.stdout) as CampaignStatus;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-multi-bench-scale-'));
  for (const v of [2, 3]) fs.writeFileSync(path.join(dir, `fw-v${v}.ota`), makeImage({ fileVersion: v, size: IMAGE_SIZE, minHardwareVersion: 1, maxHardwareVersion: 3 }));
  // A few at a time: each hub starts two socat processes.
  await runPool(SPECS, 20, async (s) => void hubs.push(await startHub(s, TIME_SCALE)), () => true);
  hubs = SPECS.map((s) => hubs.find((h) => h.id === s.id)!);
  const benches = BENCHES.map((b, i) => {
    fs.writeFileSync(path.join(dir, `bench-${b}.yaml`), fleetYaml(hubs.filter((_, j) => j % 3 === i)));
    return { name: b, fleet: `bench-${b}.yaml` };
  });
  fs.writeFileSync(path.join(dir, 'plan-benches.yaml'), plan('scale-benches', 'fw-v2.ota', { benches }));
  fs.writeFileSync(path.join(dir, 'fleet.yaml'), fleetYaml(hubs));
  fs.writeFileSync(path.join(dir, 'plan-one.yaml'), plan('scale-one', 'fw-v3.ota', { fleet: 'fleet.yaml', concurrency: CONCURRENCY * 3 }));
}, 120000);

afterAll(async () => {
  // A failed test may leave runners behind.
  for (const r of runners) if (r.proc.exitCode === null && r.proc.signalCode === null) r.proc.kill('SIGKILL');
  await Promise.all(hubs.map((h) => h.close()));
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

(skipWithoutPostgres() ? test.skip : test)(
  `${HUBS} hubs on three benches, one PostgreSQL campaign: a runner SIGKILLed mid-stage and restarted; every device final once`,
  async () => {
    cluster = await startPostgresCluster();
    const db = await cluster.newDatabase();
    const args = (bench: string) => ['campaign', 'run', path.join(dir, 'plan-benches.yaml'), '--bench', bench, '--db', db];
    const t0 = Date.now();
    const first = BENCHES.map((b) => runner(args(b)));
    const watch = await openCampaignStore(db, { readonly: true });
    let killedAt = 0;
    let atKill = '';
    try {
      // Killed mid-stage: some of its mass hubs done, transfers under way on others, a third still to start.
      const victim = BENCHES[1];
      await until(watch, `bench ${victim}'s mass stage getting under way`, async () => {
        const mine = (await watch.hubs(2)).filter((h) => h.bench === victim);
        const ids = new Set(mine.map((h) => h.id));
        const moving = (await watch.units()).filter((u) => ids.has(u.hubId) && ['transferring', 'transferred', 'activated'].includes(u.stage));
        return mine.some((h) => h.state === 'done') && moving.length > 0 && mine.filter((h) => h.state === 'pending').length >= mine.length / 3;
      });
      first[1].proc.kill('SIGKILL');
      await first[1].exited;
      killedAt = Date.now() - t0;
      const mass = await watch.hubs(2);
      const n = (state: string) => mass.filter((h) => h.bench === victim && h.state === state).length;
      atKill = `bench ${victim}'s mass hubs ${n('done')} done, ${n('running')} running, ${n('pending')} pending`;
      const again = runner(args(victim));
      const results = await Promise.all([first[0], again, first[2]].map(async (r) => ({ code: await r.exited, said: r.said() })));
      for (const r of results) expect(r).toEqual({ code: 0, said: expect.stringContaining('campaign scale-benches is complete') });
      expect(results[1].said).toContain(`resuming campaign scale-benches (bench ${victim}, run 2)`);
      const total = Date.now() - t0;

      expect((await watch.runs()).map((r) => [r.bench, r.outcome]).sort()).toEqual([...BENCHES.map((b) => [b, 'done']), [victim, 'killed']].sort());
      // Each gate was decided by one run: the other runners (and the restarted one, for the mass gate) say who.
      const said = [...first, again].map((r) => r.said()).join('\n').split('\n');
      for (const s of await watch.stages()) {
        expect(s.gateBy).toMatch(/^bench \w+, run \d+$/);
        expect({ stage: s.name, decidedHere: said.filter((l) => l.includes(`gate after ${s.name}: passed`) && !l.includes('(decided by')).length }).toEqual({ stage: s.name, decidedHere: 1 });
      }
      await everyDeviceFinalOnce(watch, 'fw-v2', 2, await statusOf(db));
      console.log(`scale, PostgreSQL: ${HUBS} hubs, ${DEVICES.length} devices, 3 runners × ${CONCURRENCY} hubs at once; runner killed after ${killedAt} ms (${atKill}); done after ${total} ms`);
    } finally {
      await watch.close();
    }
  },
  TIMEOUT_MS,
);

test(`the same ${HUBS} hubs from one runner on SQLite`, async () => {
  const db = path.join(dir, 'one.db');
  const t0 = Date.now();
  const r = await chub(['campaign', 'run', path.join(dir, 'plan-one.yaml'), '--db', db], TIMEOUT_MS);
  expect({ code: r.code, stderr: r.stderr, stdout: r.code ? r.stdout : '' }).toEqual({ code: 0, stderr: '', stdout: '' });
  expect(r.stdout).toContain('campaign scale-one is complete');
  const total = Date.now() - t0;
  const store = await openCampaignStore(db, { readonly: true });
  try {
    await everyDeviceFinalOnce(store, 'fw-v3', 3, await statusOf(db));
  } finally {
    await store.close();
  }
  console.log(`scale, SQLite: ${HUBS} hubs, ${DEVICES.length} devices, 1 runner × ${CONCURRENCY * 3} hubs at once; done after ${total} ms`);
}, TIMEOUT_MS);
