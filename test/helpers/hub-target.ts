// The hubs an integration suite runs against, behind one interface (DESIGN: "the same test suite pointed
// at a real port"):
//   node      the hub core in this process (hub-bench.ts)
//   espruino  the compiled bundle on the Linux Espruino interpreter (`chub emulate --espruino`)
//   board     a real board on a bench: its host link on $CHUB_PORT, its radio UART wired to $CHUB_RADIO_PORT
// The HAN simulator always runs in this process behind the hub's radio port, so a test can watch the devices.
import * as fs from 'fs';
import { Alert, isFinal, Job } from '../../host-tools/link/hub-protocol';
import { BOARDS_DIR, loadBoard } from '../../host-tools/boards/board-file';
import { HubClient } from '../../host-tools/link/hub-client';
import { parseDeviceSpec } from '../../host-tools/sim/device-spec';
import { HanSimulator, startSimulator, StartedSimulator } from '../../host-tools/sim/han-simulator';
import { ClientTiming, DEFAULT_TIMING } from '../../host-tools/sim/ota-client';
import { Emulation, haveInterpreter, startEmulate } from './chub-emulate';
import { startBench } from './hub-bench';

export interface RunningHub {
  client: HubClient;
  sim: HanSimulator;
  stop(): Promise<void>;
}

export interface HubTarget {
  name: 'node' | 'espruino' | 'board';
  /** Boards this hub may say it is in `hello`, with the image mode each reports. */
  boards: { [board: string]: string };
  /** OTA image size for a suite's transfers: the interpreter runs the hub far slower than Node does. */
  imageBytes: number;
  /** Simulated HAN delays (device timeouts among them) × this: as fast as the hub keeps up with. */
  timeScale: number;
  /** Device timing other than the simulator's defaults (in simulated time, scaled as the rest). */
  timing?: Partial<ClientTiming>;
  /** Whether it can run on this machine; if not, says on the console what it needs. Throws where it must run. */
  canRun(suite: string): boolean;
  /** `devices` as for `chub sim --device`. */
  start(devices: string[]): Promise<RunningHub>;
}

const node: HubTarget = {
  name: 'node',
  boards: { node: 'stored' },
  imageBytes: 40 * 1024,
  timeScale: 0.05,
  canRun: () => true,
  async start(devices) {
    const bench = await startBench(devices, this.timeScale);
    return { client: bench.client, sim: bench.sim, stop: () => bench.close() };
  },
};

const espruino: HubTarget = {
  name: 'espruino',
  boards: { linux: 'stored' },
  imageBytes: 8 * 1024,
  // At 0.05 a device gives up on a block after 250 ms, which the interpreter serving two devices misses.
  timeScale: 0.25,
  // A device waits for an answer as long as a real one does (DEFAULT_TIMING's 5 s of real time, not 5 s × 0.25):
  // the interpreter is one process among others on a busy machine, and may stall that long.
  timing: { responseTimeoutMs: DEFAULT_TIMING.responseTimeoutMs / 0.25 },
  // haveInterpreter prints how to get it, and throws under CI, where this target must run.
  canRun: (suite) => haveInterpreter(suite),
  async start(devices) {
    const sim = await simulate(devices, this.timeScale, undefined, this.timing);
    let emu: Emulation | undefined;
    let client: HubClient | undefined;
    const stop = async () => {
      await client?.close();
      await emu?.stop();
      await sim.close();
    };
    try {
      // As a user runs it, with the radio on this process's simulator (--radio) instead of the built-in one.
      emu = await startEmulate(['--espruino', '--radio', sim.radioPath], 90000);
      // chub flash needs the console; a line without it (or naming another radio) is a broken `chub emulate`.
      if (!emu.console || emu.radio !== sim.radioPath) throw new Error(`chub emulate --espruino --json printed ${JSON.stringify({ port: emu.port, radio: emu.radio, console: emu.console })}`);
      client = await HubClient.open(emu.port);
      return { client, sim: sim.sim, stop };
    } catch (e) {
      await stop();
      throw e;
    }
  },
};

const BOARD_ENV = { host: 'CHUB_PORT', radio: 'CHUB_RADIO_PORT' };

const board: HubTarget = {
  name: 'board',
  // Any board file but the Linux interpreter's, in the image mode it says.
  boards: Object.fromEntries(
    fs
      .readdirSync(BOARDS_DIR)
      .filter((f) => f.endsWith('.json') && f !== 'linux.json')
      .map((f) => loadBoard(f.slice(0, -5)))
      .map((b) => [b.name, b.imageMode]),
  ),
  imageBytes: 8 * 1024,
  // Real time: the device timeouts a board meets on a real HAN.
  timeScale: 1,
  canRun(suite) {
    const missing = Object.values(BOARD_ENV).filter((v) => !process.env[v]);
    if (!missing.length) return true;
    console.warn(
      `\n*** SKIPPING ${suite}: set ${missing.join(' and ')} to run it against a real board ` +
        `(${BOARD_ENV.host}: the board's host link; ${BOARD_ENV.radio}: a USB-UART wired to its radio UART; see docs/hil.md)\n`,
    );
    return false;
  },
  async start(devices) {
    const host = process.env[BOARD_ENV.host] as string;
    const client = await HubClient.open(host);
    let sim: StartedSimulator | undefined;
    try {
      // Before the simulator starts: a device removed after it announced itself stays unknown to the hub
      // (when added again) until it next speaks.
      await clearBoard(client);
      // On the board's radio UART the simulator starts as a stick powering up: the hub registers with it.
      sim = await simulate(devices, this.timeScale, process.env[BOARD_ENV.radio]);
    } catch (e) {
      await client.close();
      await sim?.close();
      throw e;
    }
    const started = sim;
    return {
      client,
      sim: started.sim,
      async stop() {
        await client.close();
        await started.close();
      },
    };
  },
};

export const HUB_TARGETS: HubTarget[] = [node, espruino, board];

function simulate(devices: string[], timeScale: number, port?: string, timing?: Partial<ClientTiming>): Promise<StartedSimulator> {
  return startSimulator({ devices: devices.map((d, i) => parseDeviceSpec(d, i)), timeScale, port, timing });
}

/**
 * A board keeps its device log, images, jobs and alerts in flash from run to run; a suite expects a hub
 * with none. Finished jobs cannot be removed (suites look only at the jobs they started); an unfinished
 * one from an interrupted run blocks its device, so that is an error saying so.
 */
async function clearBoard(hub: HubClient): Promise<void> {
  const unfinished = ((await hub.request('job.list')).jobs as unknown as Job[]).filter((j) => !isFinal(j));
  if (unfinished.length) {
    const list = unfinished.map((j) => `${j.eui} ${j.image} ${j.state}`).join(', ');
    throw new Error(`the board on ${hub.path} has unfinished transfer jobs from an earlier run (${list}); see "A run that stopped half-way" in docs/hil.md`);
  }
  const alerts = (await hub.request('alert.list')).alerts as unknown as Alert[];
  if (alerts.length) await hub.request('alert.ack', { ids: alerts.map((a) => a.id) });
  for (const d of (await hub.request('dev.list')).devices as unknown as { eui: string }[]) await hub.request('dev.rm', { eui: d.eui });
  for (const i of (await hub.request('img.list')).images as unknown as { name: string }[]) await hub.request('img.rm', { name: i.name });
}

/**
 * The targets named in $CHUB_TARGETS (e.g. "board": a bench runner need not have the Espruino interpreter,
 * which CI otherwise requires), else all of them.
 */
export function chosenTargets(env: NodeJS.ProcessEnv = process.env): HubTarget[] {
  const names = (env.CHUB_TARGETS ?? '').split(',').map((n) => n.trim()).filter(Boolean);
  const unknown = names.filter((n) => !HUB_TARGETS.some((t) => t.name === n));
  if (unknown.length) throw new Error(`CHUB_TARGETS: unknown target ${unknown.join(', ')} (known: ${HUB_TARGETS.map((t) => t.name).join(', ')})`);
  return names.length ? HUB_TARGETS.filter((t) => names.includes(t.name)) : HUB_TARGETS;
}

/**
 * describe(`<suite> on the <target> hub`, body) for each chosen target, so every test name (and the JUnit
 * report) says which hub it ran on. A target that cannot run here is a describe.skip: jest's summary counts
 * its tests as skipped. One that must run but cannot (CI without the interpreter) is a failing test, and the
 * other targets still run.
 */
export function describeEachTarget(suite: string, body: (target: HubTarget) => void): void {
  for (const target of chosenTargets()) {
    const title = `${suite} on the ${target.name} hub`;
    let runs: boolean;
    try {
      runs = target.canRun(title);
    } catch (e) {
      describe(title, () => test('can run here', () => {
        throw e;
      }));
      continue;
    }
    (runs ? describe : describe.skip)(title, () => body(target));
  }
}
