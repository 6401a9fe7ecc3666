// Campaigns over hubs the runner emulates itself (`port: emulated`), and the campaign commands as a user
// types them: HCALCSs left holding their image, the pause rule with resume and abort, hub firmware.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { loadPlan } from '../../host-tools/campaign/campaign-plan';
import { runCampaign } from '../../host-tools/campaign/campaign-runner';
import { openCampaignStore } from '../../host-tools/campaign/open-campaign-store';
import { FleetHub } from '../../host-tools/campaign/fleet-inventory';
import { FleetLinks } from '../../host-tools/campaign/fleet-links';
import { fleetStatus } from '../../host-tools/campaign/fleet-status';
import { FleetFlasher, HubFlasher } from '../../host-tools/campaign/hub-flasher';
import { makeImage } from '../helpers/images';
import { chub, fleetYaml, startHub } from './fleet-bench';

const OLD_HARDWARE = 0x20;
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-emulated-campaign-'));
  fs.writeFileSync(path.join(dir, 'fw-v2.ota'), makeImage({ fileVersion: 2, size: 8 * 1024, minHardwareVersion: 1, maxHardwareVersion: 3 }));
  fs.writeFileSync(path.join(dir, 'hub.js'), '// a hub firmware bundle\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let eui = 0x100;
function hub(id: string, devices: { type: 'PPMID' | 'HCALCS'; hw?: number }[], variant = 'A', region = 'North') {
  return { id, port: 'emulated', variant, region, devices: devices.map((d) => ({ eui: `000D6F000000${(eui++).toString(16).padStart(4, '0')}`.toUpperCase(), type: d.type, ...(d.hw ? { sim: { hw: d.hw } } : {}) })) };
}

/** Writes fleet and plan files under a fresh directory; returns the plan's path. */
function files(name: string, hubs: object[], plan: object): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d);
  fs.writeFileSync(path.join(d, 'fleet.yaml'), stringify({ emulation: { timeScale: 0.05 }, hubs }));
  fs.writeFileSync(path.join(d, 'plan.yaml'), stringify({ name, fleet: 'fleet.yaml', confirm: { interval: 1, tries: 5 }, ...plan }));
  return path.join(d, 'plan.yaml');
}

/** Runs a plan in this process, as `chub campaign run` would. */
async function run(planFile: string, flasherFor?: (links: FleetLinks) => HubFlasher) {
  const { plan, fleet } = loadPlan(planFile);
  const db = planFile.replace(/\.yaml$/, '.campaign.db');
  const store = await openCampaignStore(db);
  const links = new FleetLinks(fleet);
  const log: string[] = [];
  try {
    const outcome = await runCampaign({ plan, fleet, store, links, log: (m) => log.push(m), flasher: flasherFor?.(links) });
    return { outcome, log, units: await store.units(), hubs: await store.hubs(), status: await fleetStatus(links, 5000) };
  } finally {
    await links.closeAll();
    await store.close();
  }
}

test('HCALCSs the plan does not activate end Transferred, holding the image; PPMIDs run it', async () => {
  const p = files('holding', [hub('h1', [{ type: 'PPMID' }, { type: 'HCALCS' }, { type: 'HCALCS' }])], { deploy: { image: '../fw-v2.ota', name: 'fw-v2' }, stages: [{ name: 'mass' }] });
  const r = await run(p);
  expect(r.outcome.result).toBe('done');
  expect(r.units.map((u) => [u.type, u.stage])).toEqual([
    ['PPMID', 'confirmed'],
    ['HCALCS', 'transferred'],
    ['HCALCS', 'transferred'],
  ]);
  // The hubs are started again for the fleet status: the devices kept the versions they ran.
  expect(r.status[0].devices.map((d) => [d.type, d.fileVersion])).toEqual([
    ['PPMID', 2],
    ['HCALCS', 1],
    ['HCALCS', 1],
  ]);
});

test('the pause rule stops starting hubs after failures in a row; resume goes on, abort ends it for good', async () => {
  const hubs = [hub('bad', [{ type: 'PPMID', hw: OLD_HARDWARE }, { type: 'PPMID', hw: OLD_HARDWARE }, { type: 'PPMID', hw: OLD_HARDWARE }]), hub('good-1', [{ type: 'PPMID' }]), hub('good-2', [{ type: 'PPMID' }])];
  const plan = { deploy: { image: '../fw-v2.ota', name: 'fw-v2' }, concurrency: 1, pause: { afterConsecutiveFailures: 3 }, gate: { minSuccessRate: 0 }, stages: [{ name: 'mass' }] };
  const p = files('paused', hubs, plan);
  const first = await chub(['campaign', 'run', p]);
  expect(first.code).toBe(1);
  expect(first.stdout).toContain('campaign paused is paused: 3 failures in a row (the plan pauses after 3); chub campaign resume goes on');
  const status = JSON.parse((await chub(['campaign', 'status', p, '--json'])).stdout);
  expect(status).toMatchObject({ state: 'paused', totals: { counts: { failed: 3, pending: 2 } } });
  // run does not undo a pause; resume does.
  expect((await chub(['campaign', 'run', p])).code).toBe(1);
  const resumed = await chub(['campaign', 'resume', p]);
  expect(resumed.code).toBe(0);
  expect(resumed.stdout).toContain('campaign paused is complete');

  const q = files('aborted', hubs.map((h) => ({ ...h, id: `${h.id}-b`, devices: h.devices.map((d) => ({ ...d, eui: d.eui.replace(/^000D6F00/, '000D6F01') })) })), plan);
  expect((await chub(['campaign', 'run', q])).code).toBe(1);
  const abort = await chub(['campaign', 'abort', q, '--reason', 'old displays cannot take it']);
  expect(abort).toMatchObject({ code: 0, stdout: 'campaign aborted aborted\n' });
  const again = await chub(['campaign', 'run', q]);
  expect(again.code).toBe(1);
  expect(again.stdout).toContain('campaign aborted was aborted: old displays cannot take it');
  const resume = await chub(['campaign', 'resume', q]);
  expect(resume.code).toBe(2);
  expect(resume.stderr).toContain('only a paused campaign can be resumed');
}, 60000);

test('hub firmware: emulated hubs restart on the new version; a hub already on it is not flashed again', async () => {
  const hubs = [hub('lab', [{ type: 'PPMID' }]), hub('n1', [{ type: 'PPMID' }]), hub('n2', [], 'B')];
  const p = files('hub-fw', hubs, { deploy: { hubFirmware: '../hub.js', version: '0.2.0' }, stages: [{ name: 'validate', hubs: ['lab'] }, { name: 'mass' }] });
  const flashed: string[] = [];
  class Counting extends FleetFlasher {
    flash(h: FleetHub, bundle: string, version: string) {
      flashed.push(h.id);
      return super.flash(h, bundle, version);
    }
  }
  const counting = (links: FleetLinks) => new Counting(links);
  const r = await run(p, counting);
  expect(r.outcome.result).toBe('done');
  expect(flashed.sort()).toEqual(['lab', 'n1', 'n2']);
  expect(r.units.map((u) => [u.hubId, u.type, u.stage])).toEqual([
    ['lab', 'HUB', 'confirmed'],
    ['n1', 'HUB', 'confirmed'],
    ['n2', 'HUB', 'confirmed'],
  ]);
  expect(r.status.map((h) => h.fw)).toEqual(['0.2.0', '0.2.0', '0.2.0']);

  // The same deployment as a new campaign: every hub already reports 0.2.0.
  fs.copyFileSync(p, p.replace('plan.yaml', 'again.yaml'));
  flashed.length = 0;
  const again = await run(p.replace('plan.yaml', 'again.yaml'), counting);
  expect(again.outcome.result).toBe('done');
  expect(flashed).toEqual([]);
});

test('a real hub is flashed with chub flash; where this checkout has none, the hub fails saying so', async () => {
  const h = await startHub({ id: 'board-1', variant: 'A', region: 'North', devices: [] }, 0.05);
  try {
    const d = path.join(dir, 'real');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'fleet.yaml'), fleetYaml([h]));
    fs.writeFileSync(path.join(d, 'plan.yaml'), stringify({ name: 'real', fleet: 'fleet.yaml', deploy: { hubFirmware: '../hub.js', version: '0.2.0' }, stages: [{ name: 'mass' }] }));
    const r = await run(path.join(d, 'plan.yaml'));
    expect(r.outcome.result).toBe('gate-failed');
    expect(r.hubs[0]).toMatchObject({ state: 'failed', error: expect.stringMatching(/cannot flash hub board-1: |chub flash failed on hub board-1/) });
  } finally {
    await h.close();
  }
}, 60000);

test('a plan with a mistake is a usage error (exit 2) naming the file and key', async () => {
  const p = files('broken', [hub('h1', [{ type: 'PPMID' }])], { deploy: { image: '../fw-v2.ota' }, stages: [{ name: 'pilot', perVariant: '10 percent' }] });
  const r = await chub(['campaign', 'run', p]);
  expect(r.code).toBe(2);
  expect(r.stderr).toBe(`chub: ${p}: stages[0].perVariant: want a count of hubs (2) or a percentage ("10%"), not "10 percent"\n`);
  expect(fs.existsSync(p.replace(/\.yaml$/, '.campaign.db'))).toBe(false);
});

// Each --help is a fresh process: run them side by side.
test.concurrent.each([
  [['fleet', 'status'], ['--timeout', '--json']],
  [['campaign', 'run'], ['--db', '--fleet', '--json']],
  [['campaign', 'status'], ['--db', '--json']],
  [['campaign', 'report'], ['--db', '--output']],
  [['campaign', 'pause'], ['--db']],
  [['campaign', 'resume'], ['--db', '--fleet', '--json']],
  [['campaign', 'abort'], ['--db', '--reason']],
])('chub %j --help shows its options and an example', async (cmd, options) => {
  const r = await chub([...cmd, '--help']);
  expect(r.code).toBe(0);
  for (const o of options) expect(r.stdout).toContain(o);
  expect(r.stdout).toMatch(/Examples?:\n\s+\$ chub /);
});
