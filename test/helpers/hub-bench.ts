// An emulated hub (NodeHub) with the HAN simulator as its radio and a HubClient on its host link, all
// over real pseudo-terminals: the bench the integration tests drive.
import { EventEmitter } from 'events';
import { NodeHub, NodeHubOptions } from '../../firmware/node/node-hub';
import { HubClient } from '../../host-tools/link/hub-client';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { parseDeviceSpec } from '../../host-tools/sim/device-spec';
import { ClientQuirks, ClientTiming, SimDeviceState } from '../../host-tools/sim/ota-client';
import { HanSimulator, startSimulator, StartedSimulator } from '../../host-tools/sim/han-simulator';

export interface Bench {
  client: HubClient;
  sim: HanSimulator;
  hub: NodeHub;
  close(): Promise<void>;
}

export interface BenchOptions {
  /** Every simulated client's quirks and timing. */
  quirks?: Partial<ClientQuirks>;
  timing?: Partial<ClientTiming>;
  /** The hub's config, and its clock. */
  hub?: Pick<NodeHubOptions, 'config' | 'clock'>;
}

/** `devices` as for `chub sim --device`, e.g. "PPMID:000D6F0000000001:hw=9". */
export async function startBench(devices: string[], timeScale = 0.05, opts: BenchOptions = {}): Promise<Bench> {
  let host: PtyPair | undefined;
  let sim: StartedSimulator | undefined;
  let hub: NodeHub | undefined;
  let client: HubClient | undefined;
  const close = async () => {
    await client?.close();
    await hub?.close();
    await sim?.close();
    host?.close();
  };
  try {
    host = await openPtyPair('host');
    sim = await startSimulator({ devices: devices.map((d, i) => ({ ...parseDeviceSpec(d, i), quirks: opts.quirks })), timeScale, timing: opts.timing });
    hub = await NodeHub.open({ ...opts.hub, hostPort: host.a, radioPort: sim.radioPath, onError: (m) => console.error(m) });
    client = await HubClient.open(host.b);
    return { client, sim: sim.sim, hub, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** The first `event` whose value passes `pred`, or an error naming `what` after `ms`. */
export function waitFor<T>(emitter: EventEmitter, event: string, pred: (v: T) => boolean, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const on = (v: T) => {
      if (!pred(v)) return;
      done();
      resolve(v);
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const done = () => {
      clearTimeout(timer);
      emitter.off(event, on);
    };
    emitter.on(event, on);
  });
}

/** Collects every value of `event` whose value passes `pred` until `n` have arrived. */
export function collect<T>(emitter: EventEmitter, event: string, pred: (v: T) => boolean, n: number, ms: number, what: string): Promise<T[]> {
  const got: T[] = [];
  return waitFor<T>(emitter, event, (v) => pred(v) && got.push(v) >= n, ms, what).then(() => got);
}

/** Resolves once the simulated device is (or becomes) in a state that passes `pred`. */
export function deviceReaches(sim: HanSimulator, eui: string, pred: (s: SimDeviceState) => boolean, ms: number, what: string): Promise<SimDeviceState> {
  const now = sim.devices().find((d) => d.eui === eui);
  if (now && pred(now)) return Promise.resolve(now);
  return waitFor<SimDeviceState>(sim, 'device', (s) => s.eui === eui && pred(s), ms, what);
}
