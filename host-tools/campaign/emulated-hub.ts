// A fleet hub with `port: emulated`: the hub core run by Node (NodeHub) with the HAN simulator as its
// radio, both on fresh pseudo-terminals, its devices simulated as the inventory describes them.
// Its state directory outlives it, so a restarted runner (or a "flash") finds the hub's images, jobs and
// alerts as a board would find them in flash, and each simulated device runs the firmware version it last
// ran (a real device keeps its firmware too). Other device state (an image held, a download) is lost when
// the hub stops, which real devices would not lose: see docs/campaigns.md.
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_CONFIG } from '../../firmware/core/hub';
import { NodeHub } from '../../firmware/node/node-hub';
import { openPtyPair, PtyPair } from '../serial/pty-pair';
import { parseDeviceSpec } from '../sim/device-spec';
import { startSimulator, StartedSimulator } from '../sim/han-simulator';
import { FleetHub } from './fleet-inventory';

/** Where an emulated hub keeps the firmware version it was last "flashed" with. */
const FIRMWARE_FILE = 'firmware.json';
/** The version each simulated device runs: {eui: fileVersion}. */
const DEVICES_FILE = 'sim-devices.json';

export interface EmulatedHubOptions {
  stateDir: string;
  timeScale: number;
  onError?: (msg: string) => void;
}

export class EmulatedHub {
  private constructor(
    readonly hub: FleetHub,
    /** The host-link end `chub` opens. */
    readonly port: string,
    readonly fw: string,
    private parts: { host: PtyPair; sim: StartedSimulator; node: NodeHub },
  ) {}

  static async start(hub: FleetHub, opts: EmulatedHubOptions): Promise<EmulatedHub> {
    fs.mkdirSync(opts.stateDir, { recursive: true });
    const fw = readJson<{ fw?: string }>(opts.stateDir, FIRMWARE_FILE)?.fw ?? hub.fw ?? DEFAULT_CONFIG.fw;
    const running = readJson<Record<string, number>>(opts.stateDir, DEVICES_FILE) ?? {};
    const specs = hub.devices.map((d, i) => {
      const hw = d.sim?.hw;
      const version = running[d.eui] ?? d.sim?.version;
      const opt = [hw !== undefined ? `:hw=${hw}` : '', version !== undefined ? `:version=${version}` : ''].join('');
      return parseDeviceSpec(`${d.type}:${d.eui}${opt}`, i);
    });
    let host: PtyPair | undefined;
    let sim: StartedSimulator | undefined;
    try {
      host = await openPtyPair('host');
      sim = await startSimulator({ devices: specs, timeScale: opts.timeScale });
      sim.sim.on('device', (d) => {
        // A device rebooting into its held image comes up running it, even if the bench stops meanwhile.
        const v = d.state === 'rebooting' && d.heldVersion !== undefined ? d.heldVersion : d.fileVersion;
        if (running[d.eui] === v) return;
        running[d.eui] = v;
        fs.writeFileSync(path.join(opts.stateDir, DEVICES_FILE), JSON.stringify(running));
      });
      const node = await NodeHub.open({ hostPort: host.a, radioPort: sim.radioPath, stateDir: opts.stateDir, config: { fw }, onError: opts.onError });
      return new EmulatedHub(hub, host.b, fw, { host, sim, node });
    } catch (e) {
      await sim?.close();
      host?.close();
      throw e;
    }
  }

  /** "Flashes" new hub firmware: records the version and restarts the hub with it (on new ports). */
  async flash(version: string, opts: EmulatedHubOptions): Promise<EmulatedHub> {
    fs.writeFileSync(path.join(opts.stateDir, FIRMWARE_FILE), JSON.stringify({ fw: version }));
    await this.close();
    return EmulatedHub.start(this.hub, opts);
  }

  async close(): Promise<void> {
    await this.parts.node.close();
    await this.parts.sim.close();
    this.parts.host.close();
  }
}

function readJson<T>(dir: string, file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as T;
  } catch {
    return undefined; // not written yet
  }
}
