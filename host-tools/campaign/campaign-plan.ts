// The campaign plan (plan.yaml): what to deploy, to which hubs and devices, in which stages, gated how.
// Paths in a plan are relative to the plan file. Loading checks everything a run would trip over later.
import * as path from 'path';
import { normaliseEui } from '../../firmware/core/bytes';
import { OtaHeader } from '../../firmware/core/image-header';
import { ServableImage, servableImage } from '../commands/upload';
import { UsageError } from '../link/port-option';
import { DEVICE_TYPES, DeviceType, Fleet, loadFleet } from './fleet-inventory';
import { ConfigError, Field, readYamlFile } from './yaml-fields';

export const STAGE_KINDS = ['validate', 'pilot', 'mass'] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

/** Failure classes a gate can limit: GBCS response codes 1-3 of 0x8F89, and `other` (hub offline, timeouts, activation). */
export const FAILURE_CLASSES = ['1', '2', '3', 'other'] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

export interface Gate {
  /** Percent of a stage's targets that must end in their goal stage. */
  minSuccessRate: number;
  /** At most this many failures of each class. */
  maxFailures: Partial<Record<FailureClass, number>>;
  /** A stage with fewer targets proves nothing: its gate fails. */
  minDevices: number;
}

export type PilotSize = { count: number } | { percent: number };

export interface StagePlan {
  name: string;
  kind: StageKind;
  /** validate: the named test hubs. */
  hubs?: string[];
  /** pilot: hubs per hub variant. */
  perVariant?: PilotSize;
  /** pilot and mass: only hubs in these regions (default all). */
  regions?: string[];
  gate: Gate;
}

export interface DeviceImageDeploy {
  kind: 'device-image';
  /** Absolute path of the OTA file. */
  image: string;
  /** Name of the image on the hubs. */
  name: string;
  header: OtaHeader;
  bytes: Uint8Array;
  /** SHA-256 of `bytes`: each job.start names it, so a hub serves only this image. */
  sha256: Uint8Array;
  deviceTypes: DeviceType[];
  /** HCALCSs activate the image once transferred (otherwise they hold it, and Transferred is their goal). */
  activate: boolean;
}

export interface HubFirmwareDeploy {
  kind: 'hub-firmware';
  /** Absolute path of the firmware bundle. */
  bundle: string;
  /** The version the hub must report after flashing. */
  version: string;
}

export type Deploy = DeviceImageDeploy | HubFirmwareDeploy;

export interface Target {
  variants?: string[];
  regions?: string[];
  /** Only these devices (EUI-64s). */
  devices?: string[];
}

/** A machine with some of the fleet's hubs on its ports, and a runner of its own (`--bench NAME`). */
export interface BenchPlan {
  /** '' for the one bench of a plan without `benches`: the plan's `fleet`, one runner. */
  name: string;
  /** Absolute path of its fleet inventory. */
  fleetFile: string;
  /** Seconds a missing bench may hold a stage open before its hubs of the stage count as not reached; null: for ever. */
  timeoutS: number | null;
}

export interface Plan {
  file: string;
  /** The plan file's text, so a resumed run can tell whether it changed. */
  text: string;
  name: string;
  /** The plan's `fleet` as one unnamed bench, or its `benches`. */
  benches: BenchPlan[];
  deploy: Deploy;
  target: Target;
  stages: StagePlan[];
  /** Hubs worked on at once. */
  concurrency: number;
  /** A hub's devices not in a final stage after this long are failed as timed out. */
  hubTimeoutS: number;
  /** Version reads after activation: how often and how many before the device counts as failed. */
  confirm: { intervalS: number; tries: number };
  /** Pause the campaign after this many failures in a row (0: never). */
  pauseAfterConsecutiveFailures: number;
}

const IMAGE_NAME = /^[A-Za-z0-9._-]{1,24}$/;
const BENCH_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const DEFAULT_GATE: Gate = { minSuccessRate: 100, maxFailures: {}, minDevices: 1 };

function gate(f: Field, base: Gate): Gate {
  if (!f.present) return base;
  f.mapping(['minSuccessRate', 'maxFailures', 'minDevices']);
  const g: Gate = { ...base, maxFailures: { ...base.maxFailures } };
  if (f.child('minSuccessRate').present) g.minSuccessRate = f.child('minSuccessRate').number(0, 100, false);
  if (f.child('minDevices').present) g.minDevices = f.child('minDevices').number(0);
  const mf = f.child('maxFailures');
  if (mf.present) {
    mf.mapping([...FAILURE_CLASSES]);
    for (const c of FAILURE_CLASSES) if (mf.child(c).present) g.maxFailures[c] = mf.child(c).number(0);
  }
  return g;
}

function pilotSize(f: Field): PilotSize {
  if (typeof f.value === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(f.value)) {
    const percent = parseFloat(f.value);
    if (!(percent > 0 && percent <= 100)) f.fail(`want a percentage above 0% and at most 100%, not ${f.value}`);
    return { percent };
  }
  if (typeof f.value === 'string') f.fail(`want a count of hubs (2) or a percentage ("10%"), not "${f.value}"`);
  return { count: f.number(1) };
}

function stage(f: Field, defaultGate: Gate): StagePlan {
  f.mapping(['name', 'kind', 'hubs', 'perVariant', 'regions', 'gate']);
  const name = f.required('name').string();
  const kindField = f.child('kind');
  if (!kindField.present && !(STAGE_KINDS as readonly string[]).includes(name)) kindField.fail(`is required when the name is not one of ${STAGE_KINDS.join(', ')}`);
  const kind = kindField.present ? kindField.oneOf(STAGE_KINDS) : (name as StageKind);
  const s: StagePlan = { name, kind, gate: gate(f.child('gate'), defaultGate) };
  const only = (key: string, kinds: StageKind[]) => {
    if (f.child(key).present && !kinds.includes(kind)) f.child(key).fail(`does not apply to a ${kind} stage`);
  };
  only('hubs', ['validate']);
  only('perVariant', ['pilot']);
  only('regions', ['pilot', 'mass']);
  if (kind === 'validate') s.hubs = f.required('hubs').stringList();
  if (kind === 'pilot') s.perVariant = pilotSize(f.required('perVariant'));
  if (f.child('regions').present) s.regions = f.child('regions').stringList();
  return s;
}

function deploy(f: Field, dir: string): Deploy {
  f.mapping(['image', 'name', 'devices', 'activate', 'hubFirmware', 'version']);
  const has = (k: string) => f.child(k).present;
  if (has('image') === has('hubFirmware')) f.fail('give either image (a device firmware OTA file) or hubFirmware (a hub firmware bundle)');
  if (has('hubFirmware')) {
    for (const k of ['name', 'devices', 'activate']) if (has(k)) f.child(k).fail('applies to device images only');
    return { kind: 'hub-firmware', bundle: path.resolve(dir, f.child('hubFirmware').string()), version: f.required('version').string() };
  }
  if (has('version')) f.child('version').fail('applies to hub firmware only: a device image carries its version in its header');
  const imageField = f.child('image');
  const image = path.resolve(dir, imageField.string());
  let servable: ServableImage;
  try {
    servable = servableImage(image);
  } catch (e) {
    return imageField.fail((e as Error).message);
  }
  const nameField = f.child('name');
  const name = nameField.present ? nameField.string() : path.basename(image);
  if (!IMAGE_NAME.test(name)) (nameField.present ? nameField : imageField).fail(`image name "${name}" is not 1-24 of A-Z a-z 0-9 . _ - (set deploy.name)`);
  const types = f.child('devices');
  return {
    kind: 'device-image',
    image,
    name,
    header: servable.header,
    bytes: servable.bytes,
    sha256: servable.sha256,
    deviceTypes: types.present ? types.list().map((t) => t.oneOf(DEVICE_TYPES)) : [...DEVICE_TYPES],
    activate: has('activate') ? f.child('activate').boolean() : false,
  };
}

function target(f: Field): Target {
  if (!f.present) return {};
  f.mapping(['variants', 'regions', 'devices']);
  const t: Target = {};
  if (f.child('variants').present) t.variants = f.child('variants').stringList();
  if (f.child('regions').present) t.regions = f.child('regions').stringList();
  if (f.child('devices').present) t.devices = f.child('devices').list().map((d) => d.eui());
  return t;
}

function bench(f: Field, dir: string): BenchPlan {
  f.mapping(['name', 'fleet', 'timeout']);
  const nameField = f.required('name');
  const name = nameField.string();
  if (!BENCH_NAME.test(name)) nameField.fail(`"${name}" is not a bench name (1-64 of A-Z a-z 0-9 . _ -)`);
  return { name, fleetFile: path.resolve(dir, f.required('fleet').string()), timeoutS: f.child('timeout').present ? f.child('timeout').number(1) : null };
}

/** The plan's `fleet` (one runner), or its `benches`, each with its fleet file: never both. */
function benches(root: Field, dir: string): BenchPlan[] {
  const fleet = root.child('fleet');
  const list = root.child('benches');
  if (fleet.present === list.present) root.fail('give either fleet (one runner for the whole fleet) or benches (several benches, each with its fleet file)');
  if (fleet.present) return [{ name: '', fleetFile: path.resolve(dir, fleet.string()), timeoutS: null }];
  const items = list.list();
  if (items.length === 0) list.fail('lists no benches');
  const out = items.map((b) => bench(b, dir));
  out.forEach((b, i) => {
    const j = out.findIndex((o) => o.name === b.name);
    if (j !== i) items[i].child('name').fail(`"${b.name}" is already the name of benches[${j}]`);
  });
  return out;
}

export function parsePlan(root: Field, text: string): Plan {
  root.mapping(['name', 'fleet', 'benches', 'deploy', 'target', 'stages', 'gate', 'concurrency', 'hubTimeout', 'confirm', 'pause']);
  const dir = path.dirname(path.resolve(root.file));
  const defaultGate = gate(root.child('gate'), DEFAULT_GATE);
  const stagesField = root.required('stages');
  const stages = stagesField.list().map((s) => stage(s, defaultGate));
  if (stages.length === 0) stagesField.fail('lists no stages');
  stages.forEach((s, i) => {
    const j = stages.findIndex((o) => o.name === s.name);
    if (j !== i) stagesField.list()[i].child('name').fail(`"${s.name}" is already the name of stages[${j}]`);
  });
  const confirm = root.child('confirm');
  const pause = root.child('pause');
  if (confirm.present) confirm.mapping(['interval', 'tries']);
  if (pause.present) pause.mapping(['afterConsecutiveFailures']);
  return {
    file: root.file,
    text,
    name: root.required('name').string(),
    benches: benches(root, dir),
    deploy: deploy(root.required('deploy'), dir),
    target: target(root.child('target')),
    stages,
    concurrency: root.child('concurrency').present ? root.child('concurrency').number(1, 1000) : 4,
    hubTimeoutS: root.child('hubTimeout').present ? root.child('hubTimeout').number(1) : 1800,
    confirm: {
      intervalS: confirm.child('interval').present ? confirm.child('interval').number(0.1, 3600, false) : 10,
      tries: confirm.child('tries').present ? confirm.child('tries').number(1, 100) : 3,
    },
    pauseAfterConsecutiveFailures: pause.child('afterConsecutiveFailures').present ? pause.child('afterConsecutiveFailures').number(0) : 0,
  };
}

/** Checks the plan's references into the fleet (every bench's): validate hubs, target variants, regions and devices exist. */
export function checkPlanAgainstFleet(plan: Plan, fleets: Fleet[], root: Field): void {
  const hubs = fleets.flatMap((f) => f.hubs);
  const hubIds = new Set(hubs.map((h) => h.id));
  const variants = new Set(hubs.map((h) => h.variant));
  const regions = new Set(hubs.map((h) => h.region));
  const euis = new Set(hubs.flatMap((h) => h.devices.map((d) => d.eui)));
  const fleetName = fleets.map((f) => path.basename(f.file)).join(', ');
  const known = (f: Field, names: Set<string>, what: string) => {
    f.list().forEach((item) => {
      const v = item.string();
      if (!names.has(what === 'device' ? (normaliseEui(v) ?? v) : v)) item.fail(`no ${what} "${v}" in ${fleetName} (known: ${[...names].slice(0, 8).join(', ')}${names.size > 8 ? ', …' : ''})`);
    });
  };
  const stagesField = root.child('stages').list();
  plan.stages.forEach((s, i) => {
    if (s.hubs) known(stagesField[i].child('hubs'), hubIds, 'hub');
    if (s.regions) known(stagesField[i].child('regions'), regions, 'region');
  });
  const t = root.child('target');
  if (plan.target.variants) known(t.child('variants'), variants, 'variant');
  if (plan.target.regions) known(t.child('regions'), regions, 'region');
  if (plan.target.devices) known(t.child('devices'), euis, 'device');
}

export interface BenchFleet {
  bench: string;
  fleet: Fleet;
}

export interface LoadedPlan {
  plan: Plan;
  /** This runner's bench ('' without benches). */
  bench: string;
  /** This runner's fleet: its bench's. */
  fleet: Fleet;
  /** Every bench's fleet: the campaign's stages are assigned over all of them. */
  fleets: BenchFleet[];
}

/** The bench this runner is: named by --bench when the plan has benches, else none. */
function chooseBench(plan: Plan, name: string | undefined): BenchPlan {
  const named = plan.benches.filter((b) => b.name !== '');
  const list = named.map((b) => b.name).join(', ');
  if (named.length === 0) {
    if (name !== undefined) throw new UsageError(`--bench ${name}: ${plan.file} has no benches (its fleet is run by one runner); see docs/campaigns.md to share a campaign between benches`);
    return plan.benches[0];
  }
  if (name === undefined) throw new UsageError(`${plan.file} is shared by benches (${list}): say which this runner is with --bench NAME`);
  const b = named.find((x) => x.name === name);
  if (!b) throw new UsageError(`--bench ${name}: no such bench in ${plan.file} (benches: ${list})`);
  return b;
}

/** A hub or a device is on one bench only (ports may repeat: each bench is its own machine). */
function checkAcrossBenches(fleets: BenchFleet[]): void {
  const hubOf = new Map<string, string>();
  const deviceOf = new Map<string, string>();
  for (const { bench, fleet } of fleets) {
    fleet.hubs.forEach((h, i) => {
      const other = hubOf.get(h.id);
      if (other !== undefined) throw new ConfigError(fleet.file, `hubs[${i}].id`, `"${h.id}" is also a hub of bench ${other}`);
      hubOf.set(h.id, bench);
      h.devices.forEach((d, j) => {
        const on = deviceOf.get(d.eui);
        if (on !== undefined) throw new ConfigError(fleet.file, `hubs[${i}].devices[${j}].eui`, `${d.eui} is also a device of ${on}`);
        deviceOf.set(d.eui, `hub ${h.id} of bench ${bench}`);
      });
    });
  }
}

/**
 * Loads and checks a plan and its fleet, or with benches every bench's fleet; `bench` is this runner's
 * (required when the plan has benches), and `fleetFile` overrides its fleet file.
 */
export function loadPlan(file: string, fleetFile?: string, benchName?: string): LoadedPlan {
  const { text, root } = readYamlFile(file);
  const plan = parsePlan(root, text);
  const mine = chooseBench(plan, benchName);
  if (fleetFile) mine.fleetFile = path.resolve(fleetFile);
  const fleets = plan.benches.map((b) => ({ bench: b.name, fleet: loadFleet(b.fleetFile) }));
  checkAcrossBenches(fleets);
  checkPlanAgainstFleet(plan, fleets.map((f) => f.fleet), root);
  return { plan, bench: mine.name, fleet: fleets.find((f) => f.bench === mine.name)!.fleet, fleets };
}
