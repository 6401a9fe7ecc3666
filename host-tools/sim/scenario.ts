// Scenario files (YAML): the devices behind one hub, their profiles and links, faults at given times, and
// what must come out. Everything is checked at load, and an error names the file and the key
// (docs/simulator.md has the schema and examples live in host-tools/sim/scenarios/).
import * as fs from 'fs';
import * as path from 'path';
import YAML from 'yaml';
import { normaliseEui } from '../../firmware/core/bytes';
import { DEFAULT_CONFIG, HubConfig } from '../../firmware/core/hub';
import { ImageOptions } from '../image/image-builder';
import { DEFAULT_FILE_VERSION, DEFAULT_HARDWARE_VERSION, DEFAULT_IMAGE_TYPE, DEFAULT_MANUFACTURER_CODE } from './defaults';
import { FIRST_NWK, parseNumber } from './device-spec';
import { parseDuration } from './durations';
import { SimDeviceConfig } from './han-simulator';
import { ClientState, SimDeviceType } from './ota-client';
import { PROFILES } from './profiles';
import { LinkSpec } from './radio-link';

export class ScenarioError extends Error {}

export interface DeviceExpectation {
  result?: 'success' | 'failed' | 'none';
  responseCode?: number;
  maxTimeMs?: number;
  /** The device at the end of the run: its client state, running version and held version (null: none). */
  state?: ClientState;
  fileVersion?: number;
  heldVersion?: number | null;
}

export interface ScenarioDevice extends SimDeviceConfig {
  profile: string;
  /** In the hub's device log (and given a job); an unlisted device must get nothing. */
  listed: boolean;
  /** Its job may install the same or an older version. */
  force: boolean;
  expect: DeviceExpectation;
}

/** `atMs` counts from the jobs' start. */
export type Fault =
  | { atMs: number; kind: 'reboot'; eui: string }
  | { atMs: number; kind: 'outage'; eui: string; forMs: number }
  | { atMs: number; kind: 'hub-reset' }
  | { atMs: number; kind: 'radio-reset' };

export type ImageSource = { kind: 'built'; options: ImageOptions } | { kind: 'file'; path: string };

export interface Scenario {
  name: string;
  file: string;
  seed: number;
  /** Virtual time the run may take at most. */
  durationMs: number;
  /** When the host starts the transfer jobs. */
  startMs: number;
  image: ImageSource;
  hub: Partial<HubConfig>;
  link: Partial<LinkSpec>;
  devices: ScenarioDevice[];
  faults: Fault[];
  expect: { allSucceed?: boolean; maxTimeMs?: number; maxEfficiency?: number };
}

const DEFAULTS = { seed: 1, durationMs: 2 * 3600 * 1000, startMs: 5000, imageSize: 40 * 1024, imageVersion: 2 };

/** Reads, parses and checks a scenario file. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioError(`${file}: ${(e as Error).message}`);
  }
  return parseScenario(text, file);
}

export function parseScenario(text: string, file: string): Scenario {
  const doc = YAML.parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) throw new ScenarioError(`${file}: not valid YAML: ${doc.errors[0].message}`);
  return checkScenario(doc.toJS(), file);
}

type Obj = { [key: string]: unknown };

/** Checks values at a key path, failing with the file and the key. */
class Checker {
  constructor(readonly file: string) {}

  fail(key: string, want: string, got?: unknown): never {
    const was = arguments.length > 2 ? `, got ${describe(got)}` : '';
    throw new ScenarioError(`${this.file}: ${key}: ${want}${was}`);
  }

  map(v: unknown, key: string, allowed: string[]): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'want a mapping', v);
    for (const k of Object.keys(v as Obj)) if (allowed.indexOf(k) < 0) this.fail(join(key, k), `unknown key (known here: ${allowed.join(', ')})`);
    return v as Obj;
  }

  list(v: unknown, key: string): unknown[] {
    if (!Array.isArray(v)) this.fail(key, 'want a list', v);
    return v as unknown[];
  }

  num(v: unknown, key: string, min: number, max: number, integer = false): number {
    const n = typeof v === 'string' ? parseNumber(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n)))
      this.fail(key, `want ${integer ? 'an integer' : 'a number'} from ${min} to ${max}`, v);
    return n as number;
  }

  fraction(v: unknown, key: string): number {
    return this.num(v, key, 0, 1);
  }

  bool(v: unknown, key: string): boolean {
    if (typeof v !== 'boolean') this.fail(key, 'want true or false', v);
    return v as boolean;
  }

  str(v: unknown, key: string): string {
    if (typeof v !== 'string' || v === '') this.fail(key, 'want a non-empty string', v);
    return v as string;
  }

  oneOf<T extends string>(v: unknown, key: string, options: readonly T[]): T {
    if (typeof v !== 'string' || options.indexOf(v as T) < 0) this.fail(key, `want one of ${options.join(', ')}`, v);
    return v as T;
  }

  /** "30s", "5m", "1h30m", "250ms", or a number of milliseconds. */
  duration(v: unknown, key: string): number {
    const ms = typeof v === 'number' ? v : typeof v === 'string' ? parseDuration(v) : null;
    if (ms === null || !(ms >= 0) || !Number.isFinite(ms)) this.fail(key, 'want a duration such as 500ms, 30s, 5m or 1h', v);
    return ms as number;
  }

  eui(v: unknown, key: string): string {
    const e = typeof v === 'string' ? normaliseEui(v) : null;
    if (e === null) this.fail(key, 'want an EUI-64 (16 hex digits)', v);
    return e as string;
  }
}

function join(key: string, sub: string | number): string {
  return typeof sub === 'number' ? `${key}[${sub}]` : key ? `${key}.${sub}` : sub;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + '...' : s;
}

function checkScenario(raw: unknown, file: string): Scenario {
  const c = new Checker(file);
  const top = c.map(raw ?? {}, '', ['name', 'description', 'seed', 'duration', 'start', 'image', 'hub', 'link', 'devices', 'faults', 'expect']);
  const image = checkImage(c, top.image, path.dirname(file));
  const link = top.link === undefined ? {} : checkLink(c, top.link, 'link');
  if (top.devices === undefined) c.fail('devices', 'want a list of devices (at least one)');
  const devices = checkDevices(c, top.devices, image);
  const euis = new Set(devices.map((d) => d.eui));
  return {
    name: top.name === undefined ? path.basename(file).replace(/\.ya?ml$/, '') : c.str(top.name, 'name'),
    file,
    seed: top.seed === undefined ? DEFAULTS.seed : c.num(top.seed, 'seed', 0, 0xffffffff, true),
    durationMs: top.duration === undefined ? DEFAULTS.durationMs : c.duration(top.duration, 'duration'),
    startMs: top.start === undefined ? DEFAULTS.startMs : c.duration(top.start, 'start'),
    image,
    hub: top.hub === undefined ? {} : checkHub(c, top.hub),
    link,
    devices,
    faults: top.faults === undefined ? [] : c.list(top.faults, 'faults').map((f, i) => checkFault(c, f, join('faults', i), euis)),
    expect: top.expect === undefined ? {} : checkExpect(c, top.expect),
  };
}

function checkImage(c: Checker, raw: unknown, dir: string): ImageSource {
  const key = 'image';
  const keys = ['file', 'size', 'fileVersion', 'manufacturerCode', 'imageType', 'minHardwareVersion', 'maxHardwareVersion'];
  const m = raw === undefined ? {} : c.map(raw, key, keys);
  if (m.file !== undefined) {
    const others = Object.keys(m).filter((k) => k !== 'file');
    if (others.length > 0) c.fail(join(key, others[0]), 'not with image.file: the file says it');
    return { kind: 'file', path: path.resolve(dir, c.str(m.file, join(key, 'file'))) };
  }
  const opt = (k: string, bits: number) => (m[k] === undefined ? undefined : c.num(m[k], join(key, k), 0, 2 ** bits - 1, true));
  const options: ImageOptions = {
    manufacturerCode: opt('manufacturerCode', 16) ?? DEFAULT_MANUFACTURER_CODE,
    imageType: opt('imageType', 16) ?? DEFAULT_IMAGE_TYPE,
    fileVersion: opt('fileVersion', 32) ?? DEFAULTS.imageVersion,
    size: m.size === undefined ? DEFAULTS.imageSize : c.num(m.size, join(key, 'size'), 256, 16 * 1024 * 1024, true),
    seed: 1,
  };
  const min = opt('minHardwareVersion', 16);
  const max = opt('maxHardwareVersion', 16);
  if ((min === undefined) !== (max === undefined)) c.fail(join(key, min === undefined ? 'minHardwareVersion' : 'maxHardwareVersion'), 'give both hardware versions or neither');
  if (min !== undefined) Object.assign(options, { minHardwareVersion: min, maxHardwareVersion: max });
  return { kind: 'built', options };
}

/** Only numeric fields of the hub's own configuration, whatever they are today. */
function checkHub(c: Checker, raw: unknown): Partial<HubConfig> {
  const defaults = DEFAULT_CONFIG as unknown as Obj;
  const numeric = Object.keys(defaults).filter((k) => typeof defaults[k] === 'number');
  const m = c.map(raw, 'hub', numeric);
  const out: Obj = {};
  for (const k of Object.keys(m)) out[k] = c.num(m[k], join('hub', k), 0, Number.MAX_SAFE_INTEGER);
  return out as Partial<HubConfig>;
}

function checkLink(c: Checker, raw: unknown, key: string): Partial<LinkSpec> {
  const m = c.map(raw, key, ['loss', 'burst', 'duplicate', 'reorder', 'latency', 'lqi']);
  const out: Partial<LinkSpec> = {};
  if (m.loss !== undefined) out.loss = c.fraction(m.loss, join(key, 'loss'));
  if (m.duplicate !== undefined) out.duplicate = c.fraction(m.duplicate, join(key, 'duplicate'));
  if (m.reorder !== undefined) out.reorder = c.fraction(m.reorder, join(key, 'reorder'));
  if (m.latency !== undefined) out.latencyMs = c.duration(m.latency, join(key, 'latency'));
  if (m.lqi !== undefined) out.lqi = c.num(m.lqi, join(key, 'lqi'), 0, 255, true);
  if (m.burst !== undefined) {
    const bk = join(key, 'burst');
    const b = c.map(m.burst, bk, ['every', 'length']);
    if (b.every === undefined || b.length === undefined) c.fail(bk, 'want both every and length (mean time between bursts and mean burst length)');
    const everyMs = c.duration(b.every, join(bk, 'every'));
    if (everyMs <= 0) c.fail(join(bk, 'every'), 'want a duration above zero', b.every);
    out.burst = { everyMs, lengthMs: c.duration(b.length, join(bk, 'length')) };
  }
  return out;
}

const DEVICE_KEYS = ['type', 'eui', 'count', 'profile', 'link', 'join', 'joinSpacing', 'hardwareVersion', 'fileVersion', 'maxDataSize', 'listed', 'force', 'expect'];
/** Devices without an EUI get one from here up, in file order. */
const AUTO_EUI_BASE = 0x000d6f0000000000n;

function checkDevices(c: Checker, raw: unknown, image: ImageSource): ScenarioDevice[] {
  const groups = c.list(raw, 'devices');
  if (groups.length === 0) c.fail('devices', 'want at least one device');
  const out: ScenarioDevice[] = [];
  const seen = new Map<string, string>();
  groups.forEach((g, gi) => {
    const key = join('devices', gi);
    const m = c.map(g, key, DEVICE_KEYS);
    if (m.type === undefined) c.fail(join(key, 'type'), 'want PPMID or HCALCS');
    const type = c.oneOf<SimDeviceType>(m.type, join(key, 'type'), ['PPMID', 'HCALCS']);
    const count = m.count === undefined ? 1 : c.num(m.count, join(key, 'count'), 1, 1000, true);
    const profile = m.profile === undefined ? 'normal' : c.oneOf(m.profile, join(key, 'profile'), Object.keys(PROFILES));
    const first = m.eui === undefined ? null : BigInt('0x' + c.eui(m.eui, join(key, 'eui')));
    const link = { ...PROFILES[profile].link, ...(m.link === undefined ? {} : checkLink(c, m.link, join(key, 'link'))) };
    const joinMs = m.join === undefined ? undefined : c.duration(m.join, join(key, 'join'));
    const spacing = m.joinSpacing === undefined ? 0 : c.duration(m.joinSpacing, join(key, 'joinSpacing'));
    if (m.joinSpacing !== undefined && joinMs === undefined) c.fail(join(key, 'joinSpacing'), 'needs join (when the first device of the group joins)');
    const id = image.kind === 'built' ? image.options : { manufacturerCode: DEFAULT_MANUFACTURER_CODE, imageType: DEFAULT_IMAGE_TYPE };
    for (let i = 0; i < count; i++) {
      const index = out.length;
      const eui = ((first === null ? AUTO_EUI_BASE + BigInt(index + 1) : first + BigInt(i)) & 0xffffffffffffffffn).toString(16).toUpperCase().padStart(16, '0');
      const where = count > 1 ? `${key} (device ${i + 1} of ${count})` : key;
      if (seen.has(eui)) c.fail(join(where, 'eui'), `${eui} is already used by ${seen.get(eui)}`);
      seen.set(eui, where);
      const d: ScenarioDevice = {
        eui,
        nwk: FIRST_NWK + index,
        type,
        manufacturerCode: id.manufacturerCode,
        imageType: id.imageType,
        fileVersion: m.fileVersion === undefined ? DEFAULT_FILE_VERSION : c.num(m.fileVersion, join(key, 'fileVersion'), 0, 0xffffffff, true),
        hardwareVersion: m.hardwareVersion === undefined ? DEFAULT_HARDWARE_VERSION : c.num(m.hardwareVersion, join(key, 'hardwareVersion'), 0, 0xffff, true),
        profile,
        listed: m.listed === undefined ? true : c.bool(m.listed, join(key, 'listed')),
        force: m.force === undefined ? false : c.bool(m.force, join(key, 'force')),
        link,
        quirks: PROFILES[profile].quirks,
        expect: m.expect === undefined ? {} : checkDeviceExpect(c, m.expect, join(key, 'expect')),
      };
      if (m.maxDataSize !== undefined) d.maxDataSize = c.num(m.maxDataSize, join(key, 'maxDataSize'), 1, 255, true);
      if (joinMs !== undefined) d.joinAtMs = joinMs + i * spacing;
      out.push(d);
    }
  });
  return out;
}

const CLIENT_STATES: readonly ClientState[] = ['idle', 'querying', 'downloading', 'verifying', 'holding', 'rebooting'];

function checkDeviceExpect(c: Checker, raw: unknown, key: string): DeviceExpectation {
  const m = c.map(raw, key, ['result', 'responseCode', 'maxTime', 'state', 'fileVersion', 'heldVersion']);
  const e: DeviceExpectation = {};
  if (m.result !== undefined) e.result = c.oneOf(m.result, join(key, 'result'), ['success', 'failed', 'none'] as const);
  if (m.responseCode !== undefined) e.responseCode = c.num(m.responseCode, join(key, 'responseCode'), 0, 255, true);
  if (m.maxTime !== undefined) e.maxTimeMs = c.duration(m.maxTime, join(key, 'maxTime'));
  if (m.state !== undefined) e.state = c.oneOf(m.state, join(key, 'state'), CLIENT_STATES);
  if (m.fileVersion !== undefined) e.fileVersion = c.num(m.fileVersion, join(key, 'fileVersion'), 0, 0xffffffff, true);
  if (m.heldVersion !== undefined) e.heldVersion = m.heldVersion === 'none' ? null : c.num(m.heldVersion, join(key, 'heldVersion'), 0, 0xffffffff, true);
  return e;
}

const FAULT_KINDS = ['reboot', 'outage', 'hubReset', 'radioReset'];

function checkFault(c: Checker, raw: unknown, key: string, euis: Set<string>): Fault {
  const m = c.map(raw, key, ['at', ...FAULT_KINDS, 'for']);
  if (m.at === undefined) c.fail(join(key, 'at'), 'want the time of the fault');
  const atMs = c.duration(m.at, join(key, 'at'));
  const kinds = FAULT_KINDS.filter((k) => m[k] !== undefined);
  if (kinds.length !== 1) c.fail(key, `want exactly one of ${FAULT_KINDS.join(', ')}`, kinds);
  const device = (k: string) => {
    const eui = c.eui(m[k], join(key, k));
    if (!euis.has(eui)) c.fail(join(key, k), 'no device in this scenario has that EUI', m[k]);
    return eui;
  };
  if (kinds[0] !== 'outage' && m.for !== undefined) c.fail(join(key, 'for'), 'only an outage lasts for a time');
  switch (kinds[0]) {
    case 'reboot':
      return { atMs, kind: 'reboot', eui: device('reboot') };
    case 'outage':
      if (m.for === undefined) c.fail(join(key, 'for'), 'want how long the outage lasts');
      return { atMs, kind: 'outage', eui: device('outage'), forMs: c.duration(m.for, join(key, 'for')) };
    case 'hubReset':
      if (m.hubReset !== true) c.fail(join(key, 'hubReset'), 'want true', m.hubReset);
      return { atMs, kind: 'hub-reset' };
    default:
      if (m.radioReset !== true) c.fail(join(key, 'radioReset'), 'want true', m.radioReset);
      return { atMs, kind: 'radio-reset' };
  }
}

function checkExpect(c: Checker, raw: unknown): Scenario['expect'] {
  const m = c.map(raw, 'expect', ['allSucceed', 'maxTime', 'maxEfficiency']);
  const e: Scenario['expect'] = {};
  if (m.allSucceed !== undefined) e.allSucceed = c.bool(m.allSucceed, 'expect.allSucceed');
  if (m.maxTime !== undefined) e.maxTimeMs = c.duration(m.maxTime, 'expect.maxTime');
  if (m.maxEfficiency !== undefined) e.maxEfficiency = c.num(m.maxEfficiency, 'expect.maxEfficiency', 1, 1e9);
  return e;
}
