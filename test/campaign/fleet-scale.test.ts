// A roll-out at fleet scale through the real `chub` binary: 22 emulated hubs (2 lab hubs and 20 in three
// regions) with 3-5 simulated devices each. Every long-range hub has a device whose hardware the image does
// not fit (0x8F89 code 2), and one hub never answers. The hubs run in this process, so they outlive the
// runner, which is killed with SIGKILL in the middle of a stage and then run again.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { Job } from '../../host-tools/link/hub-protocol';
import { openCampaignStore } from '../../host-tools/campaign/open-campaign-store';
import { HubClient } from '../../host-tools/link/hub-client';
import { makeImage } from '../helpers/images';
import { chub, fleetYaml, HubSpec, RunningHub, spawnChub, startHub } from './fleet-bench';

const TIME_SCALE = 0.05;
const IMAGE_SIZE = 12 * 1024;
const REGIONS = ['North', 'Central', 'South'];
const VARIANTS = ['single-band', 'dual-band', 'long-range'];
/** Hardware version outside the images' 0x0001-0x0003. */
const OLD_HARDWARE = 0x20;
const OFFLINE = 'f19';

function spec(id: string, variant: string, region: string, n: number, count: number): HubSpec {
  const devices = Array.from({ length: count }, (_, j) => ({
    eui: `000D6F00${n.toString(16).padStart(4, '0')}${j.toString(16).padStart(4, '0')}`.toUpperCase(),
    type: (j % 2 === 1 ? 'HCALCS' : 'PPMID') as 'PPMID' | 'HCALCS',
    hw: variant === 'long-range' && j === count - 1 ? OLD_HARDWARE : undefined,
  }));
  return { id, variant, region, devices };
}

const SPECS: HubSpec[] = [
  spec('lab-1', 'single-band', 'Lab', 1, 3),
  spec('lab-2', 'dual-band', 'Lab', 2, 3),
  ...Array.from({ length: 20 }, (_, i) => spec(`f${String(i).padStart(2, '0')}`, VARIANTS[i % 3], REGIONS[Math.floor(i / 7)], 0x10 + i, [3, 4, 5, 4, 3][i % 5])),
];
const targets = (ids: string[]) => SPECS.filter((s) => ids.includes(s.id)).flatMap((s) => s.devices);
const mismatched = SPECS.flatMap((s) => s.devices.filter((d) => d.hw === OLD_HARDWARE).map((d) => d.eui));

function plan(name: string, image: string, gate: object): string {
  return stringify({
    name,
    fleet: 'fleet.yaml',
    deploy: { image, name: path.basename(image, '.ota'), activate: true },
    concurrency: 6,
    hubTimeout: 120,
    confirm: { interval: 1, tries: 5 },
    gate,
    stages: [
      { name: 'validate', hubs: ['lab-1', 'lab-2'], gate: { minSuccessRate: 100 } },
      { name: 'pilot', perVariant: 1 },
      { name: 'mass-north', kind: 'mass', regions: ['North'] },
      { name: 'mass-rest', kind: 'mass' },
    ],
  });
}

let dir: string;
let hubs: RunningHub[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-fleet-scale-'));
  hubs = await Promise.all(SPECS.filter((s) => s.id !== OFFLINE).map((s) => startHub(s, TIME_SCALE)));
  const ports = [...hubs, { ...SPECS.find((s) => s.id === OFFLINE)!, port: path.join(dir, 'no-such-port') }];
  fs.writeFileSync(path.join(dir, 'fleet.yaml'), fleetYaml(SPECS.map((s) => ports.find((p) => p.id === s.id)!)));
  for (const v of [2, 3]) fs.writeFileSync(path.join(dir, `fw-v${v}.ota`), makeImage({ fileVersion: v, size: IMAGE_SIZE, minHardwareVersion: 1, maxHardwareVersion: 3 }));
  // A: hardware mismatches are tolerated (the old displays stay on v1); B: none is.
  fs.writeFileSync(path.join(dir, 'plan-a.yaml'), plan('fleet-a', 'fw-v2.ota', { minSuccessRate: 75, maxFailures: { 1: 0, 3: 0, other: 5 }, minDevices: 3 }));
  fs.writeFileSync(path.join(dir, 'plan-b.yaml'), plan('fleet-b', 'fw-v3.ota', { minSuccessRate: 75, maxFailures: { 2: 0 } }));
}, 60000);

afterAll(async () => {
  await Promise.all(hubs.map((h) => h.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function jobsOn(h: RunningHub): Promise<Job[]> {
  const c = await HubClient.open(h.port);
  try {
    expect((await c.request('alert.list')).alerts).toEqual([]); // every alert was recorded, then acknowledged
    return (await c.request('job.list')).jobs as unknown as Job[];
  } finally {
    await c.close();
  }
}

/** Waits until the campaign database says a mass stage is under way with transfers in flight. */
async function midStage(db: string, stage: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (fs.existsSync(db)) {
      const s = await openCampaignStore(db, { readonly: true });
      try {
        const hubIds = new Set((await s.hubs(stage)).map((h) => h.id));
        const moving = (await s.units()).filter((u) => hubIds.has(u.hubId) && ['on_hub', 'transferring', 'transferred', 'activated'].includes(u.stage));
        const finished = (await s.hubs(stage)).filter((h) => h.state === 'done' || h.state === 'failed');
        if (moving.length >= 3 && finished.length < hubIds.size - 2) return;
      } catch {
        // the runner is still creating the tables
      } finally {
        await s.close();
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`stage ${stage} did not get under way within ${ms} ms`);
}

test('a campaign killed mid-stage resumes to the end without doing anything twice; every device ends final', async () => {
  const db = path.join(dir, 'a.db');
  const args = ['campaign', 'run', path.join(dir, 'plan-a.yaml'), '--db', db];
  const t0 = Date.now();
  const first = spawnChub(args);
  let firstErr = '';
  let firstOut = '';
  first.stderr!.on('data', (d) => (firstErr += d));
  first.stdout!.on('data', (d) => (firstOut += d));
  const exited = new Promise((r) => first.once('exit', r));
  try {
    await midStage(db, 3, 90000);
  } catch (e) {
    throw new Error(`${(e as Error).message}; the runner said:\n${firstOut}${firstErr}`);
  } finally {
    first.kill('SIGKILL');
  }
  await exited;
  const killedAt = Date.now();
  const before = await openCampaignStore(db, { readonly: true });
  const doneBeforeKill = (await before.hubs()).filter((h) => h.state === 'done').map((h) => h.id);
  await before.close();
  expect(firstErr).toBe('');

  const second = await chub(args, 140000);
  expect({ code: second.code, stderr: second.stderr, stdout: second.stdout }).toMatchObject({ code: 0, stderr: '' });
  expect(second.stdout).toContain('resuming campaign fleet-a (run 2)');
  expect(second.stdout).toContain('campaign fleet-a is complete');
  const total = Date.now() - t0;

  const store = await openCampaignStore(db, { readonly: true });
  try {
    expect((await store.runs()).map((r) => r.outcome)).toEqual(['killed', 'done']);
    expect((await store.stages()).map((s) => [s.name, s.state])).toEqual([
      ['validate', 'passed'],
      ['pilot', 'passed'],
      ['mass-north', 'passed'],
      ['mass-rest', 'passed'],
    ]);
    // The pilot took one hub of each variant, so one long-range hub failed part of it, within the gate.
    const pilot = (await store.hubs(1)).map((h) => h.id);
    expect(pilot.map((id) => SPECS.find((s) => s.id === id)!.variant).sort()).toEqual([...VARIANTS].sort());
    expect((await store.units()).filter((u) => pilot.includes(u.hubId) && u.stage === 'failed').map((u) => u.code)).toEqual([2]);

    // Every device is recorded once, in a final stage: confirmed, or failed for the reasons built in.
    const units = await store.units();
    expect(units).toHaveLength(SPECS.reduce((n, s) => n + s.devices.length, 0));
    for (const u of units) {
      if (u.hubId === OFFLINE) expect(u).toMatchObject({ stage: 'failed', code: null, reason: expect.stringMatching(/^hub unreachable: /) });
      else if (mismatched.includes(u.eui)) expect(u).toMatchObject({ stage: 'failed', code: 2 });
      else expect(u).toMatchObject({ stage: 'confirmed', version: 2 });
    }
    // Each transfer ended in exactly one recorded alert, whichever runner saw it.
    const transferAlerts = (await store.alerts()).filter((a) => a.code === 0x8f8a || a.code === 0x8f89);
    expect(transferAlerts.map((a) => a.eui).sort()).toEqual(units.filter((u) => u.hubId !== OFFLINE).map((u) => u.eui).sort());
    // Hubs finished before the kill were left alone by the second run.
    for (const id of doneBeforeKill) for (const t of (await store.transitions()).filter((x) => x.hubId === id)) expect(t.t).toBeLessThan(killedAt);
    expect(doneBeforeKill.length).toBeGreaterThanOrEqual(2);

    // On the hubs themselves: one job per device for the image, and the devices run what the store says.
    for (const h of hubs) {
      const jobs = (await jobsOn(h)).filter((j) => j.image === 'fw-v2');
      expect(jobs.map((j) => j.eui).sort()).toEqual(h.devices.map((d) => d.eui).sort());
      for (const u of units.filter((x) => x.hubId === h.id)) {
        expect(jobs.find((j) => j.eui === u.eui)!.id).toBe(u.jobId);
        expect(h.sim.devices().find((d) => d.eui === u.eui)!.fileVersion).toBe(u.stage === 'confirmed' ? 2 : 1);
      }
    }
  } finally {
    await store.close();
  }
  console.log(`fleet-a: ${SPECS.length} hubs, ${targets(SPECS.map((s) => s.id)).length} devices, killed after ${killedAt - t0} ms, done after ${total} ms`);
}, 240000);

// The pilot's dual-band hub (5 devices) holds 10 jobs after both campaigns: more than one job.list reply can
// carry, so the runner follows that hub by its events and alerts.
test('a pilot that breaks the gate stops the campaign: the mass stages never start', async () => {
  const db = path.join(dir, 'b.db');
  const r = await chub(['campaign', 'run', path.join(dir, 'plan-b.yaml'), '--db', db, '--json'], 120000);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('chub: gate after stage pilot failed: 1 failure(s) with response code 2 (Hardware Version Mismatch) > 0 allowed; stage mass-north and later were not started');
  const out = JSON.parse(r.stdout);
  expect(out.outcome.result).toBe('gate-failed');
  expect(out.status.stages.map((s: { name: string; state: string }) => [s.name, s.state])).toEqual([
    ['validate', 'passed'],
    ['pilot', 'gate-failed'],
    ['mass-north', 'pending'],
    ['mass-rest', 'pending'],
  ]);

  const store = await openCampaignStore(db, { readonly: true });
  const massHubs = [...(await store.hubs(2)), ...(await store.hubs(3))].map((h) => h.id);
  try {
    for (const u of (await store.units()).filter((x) => massHubs.includes(x.hubId))) expect(u.stage).toBe('pending');
  } finally {
    await store.close();
  }
  // No mass hub was given the image, let alone a job.
  for (const h of hubs.filter((x) => massHubs.includes(x.id))) expect((await jobsOn(h)).filter((j) => j.image === 'fw-v3')).toEqual([]);

  // No hub complained of anything (job lists of a hub that ran two campaigns are paged, not dropped).
  for (const h of hubs) expect({ hub: h.id, errors: h.errors }).toEqual({ hub: h.id, errors: [] });

  // Running it again changes nothing: the gate holds.
  const again = await chub(['campaign', 'run', path.join(dir, 'plan-b.yaml'), '--db', db]);
  expect(again.code).toBe(1);
  expect(again.stdout).toContain('gate after stage pilot failed');

  const status = await chub(['campaign', 'status', '--db', db, '--json']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout).failures).toEqual([expect.objectContaining({ stage: 'pilot', variant: 'long-range', code: 2, reason: '0x8F89 response 2 Hardware Version Mismatch' })]);
  const html = path.join(dir, 'b.html');
  expect((await chub(['campaign', 'report', '--db', db, '-o', html])).code).toBe(0);
  expect(fs.readFileSync(html, 'utf8')).toContain('gate after stage pilot failed');
}, 180000);
