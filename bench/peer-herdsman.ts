// A peer on the same bench: zigbee-herdsman (the library under Zigbee2MQTT) as the OTA server, through its
// zstack adapter, against `chub sim` on a pty — the same simulated PPMIDs and HCALCSs, image, loss and seed as
// our hub core gets on the virtual bench (host-tools/sim/scenario-run.ts). Herdsman forms a network on the
// simulated stick, permits joining, interviews every device and updates each with Device.updateOta.
//
// Herdsman serves one device per updateOta call, each at its own pace (Zigbee2MQTT's defaults: a 250 ms
// image block response delay, 50-byte blocks); nothing schedules a fleet. Zigbee2MQTT users update several
// devices by starting one update per device, which then run side by side: that is how the bench runs ten.
// `make bench` (bench/run.ts) includes it as `peer`; run alone, it prints its own JSON.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { Controller } from 'zigbee-herdsman';
import { setLogger } from 'zigbee-herdsman/dist/utils/logger';
import type { Device } from 'zigbee-herdsman/dist/controller/model';
import { buildImage } from '../host-tools/image/image-builder';
import { DEFAULT_IMAGE_TYPE, DEFAULT_MANUFACTURER_CODE } from '../host-tools/sim/defaults';
import { SimDeviceState } from '../host-tools/sim/ota-client';
import { parseScenario } from '../host-tools/sim/scenario';
import { runScenario } from '../host-tools/sim/scenario-run';

const CHUB = path.join(__dirname, '..', 'host-tools', 'bin', 'chub');
/** Zigbee2MQTT's OTA defaults (ota.image_block_response_delay, ota.default_maximum_data_size). */
export const Z2M_BLOCK_DELAY_MS = 250;
export const Z2M_BLOCK_SIZE = 50;
/** Herdsman at Zigbee2MQTT's pace moves about 200 B/s a device: a 200 kB image would take 17 minutes a run.
 *  The bench uses a 4 KiB image, and runs the simulator and herdsman's block delay 4× faster (scale 0.25);
 *  times are reported scaled back (÷ 0.25). Our hub gets the same image on the virtual bench, unscaled. */
const IMAGE_BYTES = 4096;
const TIME_SCALE = 0.25;
const SEED = 1;
const CASES = [1, 10].flatMap((devices) => [0, 0.1].map((loss) => ({ devices, loss })));
/** The simulated devices run version 1; the image is version 2. */
const NEW_VERSION = 2;

export interface PeerDevice {
  type: 'PPMID' | 'HCALCS';
  eui: string;
}

/** The devices of a bench run: PPMIDs then HCALCSs, half each, EUIs as scenario files number them. */
export function benchDevices(n: number): PeerDevice[] {
  return Array.from({ length: n }, (_, i) => ({ type: i < Math.ceil(n / 2) ? 'PPMID' : 'HCALCS', eui: (0x000d6f0000000001 + i).toString(16).toUpperCase().padStart(16, '0') }));
}

/** `chub sim` serving a fresh pty; its JSON lines report every device state change. */
export interface ChubSim {
  radioPath: string;
  /** Resolves with the device's state once `ok` holds for it. */
  until(eui: string, ok: (s: SimDeviceState) => boolean): Promise<SimDeviceState>;
  stop(): Promise<void>;
}

export async function startChubSim(devices: PeerDevice[], o: { timeScale: number; loss: number; seed: number }): Promise<ChubSim> {
  const args = ['sim', '--json', '--time-scale', String(o.timeScale), '--loss', String(o.loss), '--seed', String(o.seed), ...devices.flatMap((d) => ['--device', `${d.type}:${d.eui}`])];
  const child: ChildProcess = spawn(process.execPath, [CHUB, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const waiters: { eui: string; ok: (s: SimDeviceState) => boolean; resolve: (s: SimDeviceState) => void }[] = [];
  const latest = new Map<string, SimDeviceState>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const radioPath = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`chub sim exited (${code}) before it printed its radio port`)));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { radio?: string; device?: SimDeviceState };
      if (msg.radio) resolve(msg.radio);
      const s = msg.device;
      if (!s) return;
      latest.set(s.eui, s);
      for (const w of waiters.filter((x) => x.eui === s.eui && x.ok(s))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(s);
      }
    });
  });
  return {
    radioPath,
    until: (eui, ok) => {
      const now = latest.get(eui);
      if (now && ok(now)) return Promise.resolve(now);
      return new Promise((resolve) => waiters.push({ eui, ok, resolve }));
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

/** Starts herdsman's controller (zstack adapter) on the simulated stick: it forms a network of its own. */
export async function startHerdsman(radioPath: string, dir: string): Promise<Controller> {
  const c = new Controller({
    network: { panID: 0x1a62, channelList: [11], extendedPanID: [0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd], networkKey: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13] },
    transport: { path: radioPath, adapter: 'zstack', baudRate: 115200 },
    databasePath: path.join(dir, 'database.db'),
    databaseBackupPath: path.join(dir, 'database.db.backup'),
    backupPath: path.join(dir, 'coordinator_backup.json'),
    adapter: { disableLED: false },
    // Zigbee2MQTT with no block or pass list lets every device in.
    acceptJoiningDeviceHandler: () => Promise.resolve(true),
  });
  await c.start();
  return c;
}

/** Permits joining and resolves once every device has joined and been interviewed. */
export async function joinAndInterview(c: Controller, euis: string[]): Promise<Device[]> {
  const want = new Set(euis.map((e) => '0x' + e.toLowerCase()));
  const done = new Promise<Device[]>((resolve, reject) => {
    const got: Device[] = [];
    c.on('deviceInterview', (e) => {
      if (!want.has(e.device.ieeeAddr) || e.status === 'started') return;
      if (e.status === 'failed') return reject(new Error(`herdsman could not interview ${e.device.ieeeAddr}`));
      got.push(e.device);
      if (got.length === want.size) resolve(got);
    });
  });
  await c.permitJoin(254);
  return done;
}

/** Updates one device as Zigbee2MQTT does (Device.updateOta with a firmware file); resolves with the time
 *  (ms after `t0`) its Upgrade End Request was answered, when herdsman reports 100 %. */
export async function updateLikeZ2m(d: Device, file: string, o: { blockDelayMs: number; t0: number }): Promise<number> {
  let endAt = NaN;
  const settings = { requestTimeout: 150000, responseDelay: o.blockDelayMs, baseSize: Z2M_BLOCK_SIZE };
  await d.updateOta({ url: file }, undefined, undefined, {}, (percent) => {
    if (percent === 100) endAt = performance.now() - o.t0;
  }, settings);
  return endAt;
}

/** What a herdsman session reports, one JSON line each, in order. */
export type SessionEvent =
  | { network: { panID: number; channel: number } }
  | { interviewed: { ieee: string; model?: string; manufacturer?: string; type: string; manufacturerID?: number; endpoints: { id: number; profile?: number; in: number[]; out: number[] }[] }[] }
  /** Ms after the updates started at which each device's Upgrade End Request was answered (herdsman's 100 %). */
  | { updated: number[] }
  /** What herdsman said when asked for something the stick does not implement (an install code). */
  | { refused: string }
  | { error: string };

export interface SessionOptions {
  radioPath: string;
  euis: string[];
  image: string;
  blockDelayMs: number;
  /** Also ask for something the simulated stick does not implement, and report how herdsman fails. */
  tryUnsupported?: boolean;
}

/** Runs herdsman in a process of its own (it loads ES modules and its adapter with import(), which jest's
 *  module VM cannot; and its timers then never share a process with ours). Once the devices are interviewed
 *  it waits for `settled` before it updates them. Resolves with its events. */
export function runHerdsmanSession(o: SessionOptions, settled: () => Promise<unknown>): Promise<SessionEvent[]> {
  const tsNode = path.join(__dirname, '..', 'node_modules', 'ts-node', 'dist', 'bin.js');
  const child = spawn(process.execPath, [tsNode, '--transpile-only', '--swc', __filename, 'session', JSON.stringify(o)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: SessionEvent[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    const e = JSON.parse(line) as SessionEvent;
    events.push(e);
    if ('interviewed' in e) void settled().then(() => child.stdin!.end('update\n'));
  });
  return new Promise((resolve, reject) =>
    child.once('close', (code) => {
      const failed = events.find((e): e is { error: string } => 'error' in e);
      if (failed || code !== 0) reject(new Error(`herdsman session: ${failed ? failed.error : `exit ${code}`}${stderr ? `\n${stderr.slice(-2000)}` : ''}`));
      else resolve(events);
    }),
  );
}

/** The session itself (in its own process): start, join and interview, update every device at once. */
async function session(o: SessionOptions): Promise<void> {
  const say = (e: SessionEvent) => console.log(JSON.stringify(e));
  const log: string[] = [];
  const keep = (level: string) => (m: unknown, ns: string) => {
    log.push(`${level} ${ns} ${typeof m === 'function' ? (m as () => string)() : String(m)}`);
    if (log.length > 30) log.shift();
  };
  setLogger({ debug: keep('debug'), info: keep('info'), warning: keep('warning'), error: keep('error') });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-herdsman-'));
  let c: Controller | undefined;
  try {
    c = await startHerdsman(o.radioPath, dir);
    const p = await c.getNetworkParameters();
    say({ network: { panID: p.panID, channel: p.channel } });
    const devices = await joinAndInterview(c, o.euis);
    say({
      interviewed: devices.map((d) => ({
        ieee: d.ieeeAddr,
        model: d.modelID,
        manufacturer: d.manufacturerName,
        type: d.type,
        manufacturerID: d.manufacturerID,
        endpoints: d.endpoints.map((e) => ({ id: e.ID, profile: e.profileID, in: e.inputClusters, out: e.outputClusters })),
      })),
    });
    if (o.tryUnsupported) {
      // Install codes go to the stick as APP_CNF_BDB_ADD_INSTALLCODE, which the simulated stick does not implement.
      const refused = await c.addInstallCode('Z:000D6F00000000AA$I:83FED3407A939723A5C639B26916D505C3B5').then(
        () => 'accepted',
        (e: Error) => e.message,
      );
      say({ refused });
    }
    // The devices have just joined and may be busy with a query of their own; updates start once they settle.
    await new Promise((resolve) => readline.createInterface({ input: process.stdin }).once('line', resolve));
    const t0 = performance.now();
    say({ updated: await Promise.all(devices.map((d) => updateLikeZ2m(d, o.image, { blockDelayMs: o.blockDelayMs, t0 }))) });
  } catch (e) {
    say({ error: `${(e as Error).message}\n  last herdsman log lines:\n  ${log.join('\n  ')}` });
  } finally {
    if (c) await c.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0); // herdsman's own timers (database saves, backups) would keep the process alive
}

/** One herdsman run: total time (first update started → last Upgrade End answered) and each device's time,
 *  in seconds scaled back to real time. */
async function herdsmanRun(devices: PeerDevice[], loss: number, image: string): Promise<{ totalS: number; perDeviceS: number[] }> {
  const sim = await startChubSim(devices, { timeScale: TIME_SCALE, loss, seed: SEED });
  try {
    const settled = () => Promise.all(devices.map((d) => sim.until(d.eui, (s) => s.state === 'idle')));
    const events = await runHerdsmanSession({ radioPath: sim.radioPath, euis: devices.map((d) => d.eui), image, blockDelayMs: Z2M_BLOCK_DELAY_MS * TIME_SCALE }, settled);
    await Promise.all(devices.map((d) => sim.until(d.eui, (s) => s.fileVersion === NEW_VERSION)));
    const updated = events.find((e): e is { updated: number[] } => 'updated' in e);
    if (!updated) throw new Error('herdsman session ended without updating');
    const perDeviceS = updated.updated.map((ms) => ms / 1000 / TIME_SCALE);
    return { totalS: Math.max(...perDeviceS), perDeviceS };
  } finally {
    await sim.stop();
  }
}

/** Our hub on the virtual bench: the same devices, image, loss and seed; jobs start once all have joined. */
function hubRun(devices: PeerDevice[], loss: number): { totalS: number; perDeviceS: number[] } {
  // Devices join 200 ms apart and the jobs start once all are on the network, as in bench/sim-efficiency.ts.
  const groups = devices.map((d, i) => `  - { type: ${d.type}, eui: ${d.eui}, join: ${1000 + i * 200}ms }`).join('\n');
  const s = parseScenario(`image: { size: ${IMAGE_BYTES}, fileVersion: ${NEW_VERSION} }\nseed: ${SEED}\nstart: ${5000 + devices.length * 200}ms\nlink: { loss: ${loss} }\ndevices:\n${groups}\nexpect: { allSucceed: true }\n`, `peer-${devices.length}x-${loss}.yaml`);
  const { report } = runScenario(s);
  if (!report.ok || report.measuredMs === null) throw new Error(`hub, ${devices.length} devices at ${loss * 100}% loss: ${JSON.stringify(report.expectations.filter((e) => !e.ok))}`);
  return { totalS: report.measuredMs / 1000, perDeviceS: report.devices.map((d) => (d.timeMs as number) / 1000) };
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const mean = (xs: number[]) => xs.reduce((n, x) => n + x, 0) / xs.length;

export async function peerHerdsman() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-peer-image-'));
  const file = path.join(dir, 'fw.ota');
  fs.writeFileSync(file, buildImage({ manufacturerCode: DEFAULT_MANUFACTURER_CODE, imageType: DEFAULT_IMAGE_TYPE, fileVersion: NEW_VERSION, size: IMAGE_BYTES, seed: SEED }));
  const runs = [];
  try {
    for (const { devices: n, loss } of CASES) {
      const devices = benchDevices(n);
      const h = await herdsmanRun(devices, loss, file).catch((e: Error) => {
        throw new Error(`herdsman, ${n} devices at ${loss * 100}% loss: ${e.message}`);
      });
      const hub = hubRun(devices, loss);
      runs.push({
        devices: n,
        lossPerAttempt: loss,
        herdsman: { totalS: round(h.totalS, 1), meanPerDeviceS: round(mean(h.perDeviceS), 1), perDeviceS: h.perDeviceS.map((t) => round(t, 1)) },
        hub: { totalS: round(hub.totalS, 1), meanPerDeviceS: round(mean(hub.perDeviceS), 1), perDeviceS: hub.perDeviceS.map((t) => round(t, 1)) },
        /** How many times longer herdsman takes than our hub. */
        ratio: { total: round(h.totalS / hub.totalS), meanPerDevice: round(mean(h.perDeviceS) / mean(hub.perDeviceS)) },
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    what:
      `zigbee-herdsman 11.1.1 (zstack adapter, Device.updateOta at Zigbee2MQTT's defaults: ${Z2M_BLOCK_DELAY_MS} ms block response delay, ${Z2M_BLOCK_SIZE}-byte blocks; one update per device, all started together, as Zigbee2MQTT runs one update request per device) against \`chub sim\` on a pty, ` +
      `vs our hub core on the virtual bench with the same ${IMAGE_BYTES}-byte image, devices (half PPMID, half HCALCS), loss and seed ${SEED}. ` +
      `Scaled to keep the run short: the image (a real one is 200–300 kB), and herdsman's run at time scale ${TIME_SCALE} (simulator delays and the block delay), its times divided by ${TIME_SCALE}; ` +
      'herdsman time per device = its update started → its Upgrade End Request answered (100 %); hub time = jobs start → 0x8F8A; total = the last device; ratio = herdsman ÷ hub',
    runs,
  };
}

if (require.main === module && process.argv[2] === 'session') void session(JSON.parse(process.argv[3]) as SessionOptions);
else if (require.main === module)
  peerHerdsman().then(
    (r) => {
      console.log(JSON.stringify(r, null, 2));
      process.exit(0);
    },
    (e) => {
      console.error(`peer bench: ${(e as Error).message}`);
      process.exit(1);
    },
  );
