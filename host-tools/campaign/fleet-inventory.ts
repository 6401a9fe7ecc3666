// The fleet inventory (fleet.yaml): every hub, where to reach it, what it is, where it is and which HAN
// devices it serves. Hubs with `port: emulated` are run by chub itself with a simulated HAN.
import { Field, readYamlFile } from './yaml-fields';

export const EMULATED = 'emulated';
export const DEVICE_TYPES = ['PPMID', 'HCALCS'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

/** Settings of a simulated device on an emulated hub (as `chub sim --device TYPE:EUI:hw=N:version=N`). */
export interface SimSettings {
  hw?: number;
  version?: number;
}

export interface FleetDevice {
  eui: string;
  type: DeviceType;
  sim?: SimSettings;
}

export interface FleetHub {
  id: string;
  /** Serial port of the hub's host link, or EMULATED. */
  port: string;
  /** Serial port of the board's console (REPL), where `chub flash` writes firmware, when it is not `port`. */
  console?: string;
  board: string;
  variant: string;
  region: string;
  /** Emulated hubs only: the firmware version they start with. */
  fw?: string;
  devices: FleetDevice[];
}

export interface Fleet {
  file: string;
  /** Emulated hubs' simulated HANs run their delays × this (0.05 is 20 times faster than real time). */
  timeScale: number;
  hubs: FleetHub[];
}

const HUB_ID = /^[A-Za-z0-9._-]{1,64}$/;

function device(f: Field, emulated: boolean): FleetDevice {
  f.mapping(['eui', 'type', 'sim']);
  const d: FleetDevice = { eui: f.required('eui').eui(), type: f.required('type').oneOf(DEVICE_TYPES) };
  const sim = f.child('sim');
  if (sim.present) {
    if (!emulated) sim.fail(`only hubs with port: ${EMULATED} have simulated devices`);
    sim.mapping(['hw', 'version']);
    d.sim = {};
    if (sim.child('hw').present) d.sim.hw = sim.child('hw').number(0, 0xffff);
    if (sim.child('version').present) d.sim.version = sim.child('version').number(0, 0xffffffff);
  }
  return d;
}

function hub(f: Field): FleetHub {
  f.mapping(['id', 'port', 'console', 'board', 'variant', 'region', 'fw', 'devices']);
  const idField = f.required('id');
  const id = idField.string();
  if (!HUB_ID.test(id)) idField.fail(`"${id}" is not a hub id (1-64 of A-Z a-z 0-9 . _ -)`);
  const port = f.required('port').string();
  const emulated = port === EMULATED;
  const h: FleetHub = {
    id,
    port,
    board: f.child('board').present ? f.child('board').string() : emulated ? 'node' : f.required('board').string(),
    variant: f.required('variant').string(),
    region: f.required('region').string(),
    devices: f.child('devices').present ? f.child('devices').list().map((d) => device(d, emulated)) : [],
  };
  if (f.child('console').present) {
    if (emulated) f.child('console').fail(`an emulated hub has no console to flash`);
    h.console = f.child('console').string();
  }
  if (f.child('fw').present) {
    if (!emulated) f.child('fw').fail(`only hubs with port: ${EMULATED} take a starting firmware version; a real hub reports its own`);
    h.fw = f.child('fw').string();
  }
  return h;
}

export function parseFleet(root: Field): Fleet {
  root.mapping(['hubs', 'emulation']);
  const emulation = root.child('emulation');
  let timeScale = 1;
  if (emulation.present) {
    emulation.mapping(['timeScale']);
    if (emulation.child('timeScale').present) timeScale = emulation.child('timeScale').number(0.001, 100, false);
  }
  const hubsField = root.required('hubs');
  const items = hubsField.list();
  if (items.length === 0) hubsField.fail('lists no hubs');
  const hubs = items.map(hub);
  // A hub id names one hub; a device is served by one hub; a port reaches one hub.
  const seen = { id: new Map<string, number>(), eui: new Map<string, string>(), port: new Map<string, string>() };
  hubs.forEach((h, i) => {
    const first = seen.id.get(h.id);
    if (first !== undefined) items[i].child('id').fail(`"${h.id}" is already the id of hubs[${first}]`);
    seen.id.set(h.id, i);
    if (h.port !== EMULATED) {
      const other = seen.port.get(h.port);
      if (other) items[i].child('port').fail(`${h.port} is already the port of hub ${other}`);
      seen.port.set(h.port, h.id);
    }
    h.devices.forEach((d, j) => {
      const other = seen.eui.get(d.eui);
      if (other) items[i].child('devices').list()[j].child('eui').fail(`${d.eui} is already a device of hub ${other}`);
      seen.eui.set(d.eui, h.id);
    });
  });
  return { file: root.file, timeScale, hubs };
}

export function loadFleet(file: string): Fleet {
  return parseFleet(readYamlFile(file).root);
}
