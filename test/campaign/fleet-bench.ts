// A fleet of emulated hubs for campaign tests, run by the test process itself (NodeHub + HAN simulator on
// ptys) so that they outlive a runner the test kills; and the real `chub` binary run as a user would.
import { ChildProcess, execFile, spawn } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { NodeHub } from '../../firmware/node/node-hub';
import { HubClient } from '../../host-tools/link/hub-client';
import { Alert, Job } from '../../host-tools/link/hub-protocol';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { parseDeviceSpec } from '../../host-tools/sim/device-spec';
import { HanSimulator, startSimulator, StartedSimulator } from '../../host-tools/sim/han-simulator';

export const CHUB = path.resolve(__dirname, '../../host-tools/bin/chub');

export interface HubSpec {
  id: string;
  variant: string;
  region: string;
  devices: { eui: string; type: 'PPMID' | 'HCALCS'; hw?: number }[];
}

export interface RunningHub extends HubSpec {
  /** The host-link end for chub. */
  port: string;
  sim: HanSimulator;
  /** What the emulated hub reported about itself (a board would log these on its console). */
  errors: string[];
  close(): Promise<void>;
}

export async function startHub(spec: HubSpec, timeScale: number): Promise<RunningHub> {
  let host: PtyPair | undefined;
  let sim: StartedSimulator | undefined;
  let hub: NodeHub | undefined;
  const errors: string[] = [];
  const close = async () => {
    await hub?.close();
    await sim?.close();
    host?.close();
  };
  try {
    host = await openPtyPair('host');
    const devices = spec.devices.map((d, i) => parseDeviceSpec(`${d.type}:${d.eui}${d.hw === undefined ? '' : `:hw=${d.hw}`}`, i));
    sim = await startSimulator({ devices, timeScale });
    hub = await NodeHub.open({ hostPort: host.a, radioPort: sim.radioPath, onError: (m) => errors.push(m) });
    return { ...spec, port: host.b, sim: sim.sim, errors, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** A fleet.yaml for hubs on real ports (the test's own hubs, or ports that are not there). */
export function fleetYaml(hubs: (HubSpec & { port: string })[]): string {
  return stringify({
    hubs: hubs.map((h) => ({ id: h.id, port: h.port, board: 'node', variant: h.variant, region: h.region, devices: h.devices.map((d) => ({ eui: d.eui, type: d.type })) })),
  });
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs chub to the end from a neutral directory; `env` adds to the environment. */
export function chub(args: string[], timeoutMs = 120000, env: Record<string, string> = {}): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    execFile(CHUB, args, { cwd: os.tmpdir(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** Starts chub in the background, for a test that stops it. */
export function spawnChub(args: string[]): ChildProcess {
  return spawn(CHUB, args, { cwd: os.tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface Background {
  proc: ChildProcess;
  /** All it printed so far, stdout and stderr. */
  said(): string;
  /** Its exit code; -1 if a signal ended it. */
  exited: Promise<number>;
}

/** chub in the background with what it prints kept, for a test that kills it or waits for it. */
export function backgroundChub(args: string[]): Background {
  const proc = spawnChub(args);
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number>((resolve) => proc.once('exit', (code) => resolve(code ?? -1)));
  return { proc, said: () => out, exited };
}

/** What the hub itself holds: its jobs for `image` (their devices, sorted: one each if nothing was repeated)
 *  and the alerts not yet acknowledged. */
export async function onHub(h: RunningHub, image: string): Promise<{ jobs: string[]; held: Alert[] }> {
  const c = await HubClient.open(h.port);
  try {
    const jobs = ((await c.request('job.list')).jobs as unknown as Job[]).filter((j) => j.image === image).map((j) => j.eui);
    return { jobs: jobs.sort(), held: (await c.request('alert.list')).alerts as unknown as Alert[] };
  } finally {
    await c.close();
  }
}
