// Fleet inventories and campaign plans are checked when loaded: a mistake is an error naming the file and
// the key, before anything touches a hub.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadPlan } from '../../host-tools/campaign/campaign-plan';
import { loadFleet } from '../../host-tools/campaign/fleet-inventory';
import { ConfigError } from '../../host-tools/campaign/yaml-fields';
import { UsageError } from '../../host-tools/link/port-option';
import { makeImage } from '../helpers/images';

const EXAMPLES = path.resolve(__dirname, '../../docs/examples');
let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-campaign-files-'));
  for (const f of ['fleet.yaml', 'plan.yaml']) fs.copyFileSync(path.join(EXAMPLES, f), path.join(dir, f));
  fs.writeFileSync(path.join(dir, 'ppmid-v2.ota'), makeImage({ fileVersion: 2, size: 16 * 1024 }));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    return e as ConfigError;
  }
  throw new Error('no error');
}

test('the example fleet and plan in docs/examples load', () => {
  const { plan, fleet } = loadPlan(path.join(dir, 'plan.yaml'));
  expect(fleet.hubs).toHaveLength(8);
  expect(fleet.timeScale).toBe(0.05);
  expect(plan.stages.map((s) => `${s.name}:${s.kind}`)).toEqual(['validate:validate', 'pilot:pilot', 'mass-north:mass', 'mass-central:mass', 'mass-south:mass']);
  expect(plan.deploy).toMatchObject({ kind: 'device-image', name: 'ppmid-v2', activate: true, header: { fileVersion: 2 } });
  // Stage gates start from the plan's gate.
  expect(plan.stages[0].gate).toEqual({ minSuccessRate: 100, maxFailures: { 1: 0, 2: 1, 3: 0 }, minDevices: 2 });
});

const HUB = 'hubs:\n  - id: h1\n    port: /dev/ttyACM0\n    board: pico\n    variant: A\n    region: North\n';

test.each([
  ['an unknown key', HUB + '    regoin: South\n', 'hubs[0].regoin: unknown key (known: id, port, console, board, variant, region, fw, devices)'],
  ['a missing key', 'hubs:\n  - { id: h1, port: emulated, variant: A }\n', 'hubs[0].region: is required'],
  ['a bad EUI', HUB + '    devices: [{ eui: 12345XYZ, type: PPMID }]\n', 'hubs[0].devices[0].eui: "12345XYZ" is not an EUI-64 (16 hex digits)'],
  ['an all-digit EUI YAML reads as a number', HUB + '    devices: [{ eui: 0000000000000001, type: PPMID }]\n', 'hubs[0].devices[0].eui: 1 is a number to YAML: quote the EUI-64'],
  ['a bad device type', HUB + '    devices: [{ eui: 000D6F0000000001, type: IHD }]\n', 'hubs[0].devices[0].type: want one of PPMID, HCALCS, not "IHD"'],
  ['sim settings on a real hub', HUB + '    devices: [{ eui: 000D6F0000000001, type: PPMID, sim: { hw: 9 } }]\n', 'hubs[0].devices[0].sim: only hubs with port: emulated have simulated devices'],
  [
    'a device on two hubs',
    HUB + '    devices: [{ eui: 000D6F0000000001, type: PPMID }]\n  - { id: h2, port: emulated, variant: A, region: North, devices: [{ eui: 000d6f0000000001, type: PPMID }] }\n',
    'hubs[1].devices[0].eui: 000D6F0000000001 is already a device of hub h1',
  ],
  ['two hubs on one port', HUB + '  - { id: h2, port: /dev/ttyACM0, board: pico, variant: A, region: North }\n', 'hubs[1].port: /dev/ttyACM0 is already the port of hub h1'],
  ['YAML that does not parse', 'hubs: [\n', 'not valid YAML'],
])('a fleet with %s is refused, naming the file and key', (_what, text, message) => {
  const file = write('bad-fleet.yaml', text);
  const e = errorOf(() => loadFleet(file));
  expect(e).toBeInstanceOf(ConfigError);
  expect(e).toBeInstanceOf(UsageError); // so chub exits 2
  expect(e.message).toContain(`${file}: `);
  expect(e.message).toContain(message);
});

const PLAN = 'name: p\nfleet: fleet.yaml\ndeploy: { image: ppmid-v2.ota }\n';

test.each([
  ['a validate hub not in the fleet', PLAN + 'stages:\n  - { name: validate, hubs: [lab-single-1, lab-9] }\n', 'stages[0].hubs[1]: no hub "lab-9" in fleet.yaml'],
  ['a region not in the fleet', PLAN + 'stages:\n  - { name: mass, regions: [Nort] }\n', 'stages[0].regions[0]: no region "Nort" in fleet.yaml'],
  ['a stage kind it cannot guess', PLAN + 'stages:\n  - { name: first-wave }\n', 'stages[0].kind: is required when the name is not one of validate, pilot, mass'],
  ['a pilot size that is neither count nor percentage', PLAN + 'stages:\n  - { name: pilot, perVariant: some }\n', 'stages[0].perVariant: want a count of hubs (2) or a percentage ("10%"), not "some"'],
  ['a key of another stage kind', PLAN + 'stages:\n  - { name: mass, perVariant: 2 }\n', 'stages[0].perVariant: does not apply to a mass stage'],
  ['a gate on an unknown failure class', PLAN + 'gate: { maxFailures: { 4: 0 } }\nstages: [{ name: mass }]\n', 'gate.maxFailures.4: unknown key (known: 1, 2, 3, other)'],
  ['two things to deploy', 'name: p\nfleet: fleet.yaml\ndeploy: { image: ppmid-v2.ota, hubFirmware: hub.js, version: 1 }\nstages: [{ name: mass }]\n', 'deploy: give either image'],
  ['an image that is not there', 'name: p\nfleet: fleet.yaml\ndeploy: { image: nope.ota }\nstages: [{ name: mass }]\n', 'deploy.image: cannot read'],
  ['a fleet that is not there', 'name: p\nfleet: nofleet.yaml\ndeploy: { image: ppmid-v2.ota }\nstages: [{ name: mass }]\n', 'nofleet.yaml: cannot read'],
])('a plan with %s is refused, naming the file and key', (_what, text, message) => {
  const file = write('bad-plan.yaml', text);
  const e = errorOf(() => loadPlan(file));
  expect(e).toBeInstanceOf(ConfigError);
  expect(e.message).toContain(message);
});
