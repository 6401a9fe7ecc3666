// How the runner and `chub fleet status` reach the hubs of a fleet: a HubClient on the hub's port, after
// starting the hub first if it is emulated (it then runs until closeAll). Emulated hubs belong to the
// fleet, not to a campaign: their state is kept next to the fleet file, so every campaign and every
// `chub fleet status` over that fleet finds the same hubs.
import * as path from 'path';
import { HubClient } from '../link/hub-client';
import { EmulatedHub, EmulatedHubOptions } from './emulated-hub';
import { EMULATED, Fleet, FleetHub } from './fleet-inventory';

/** fleet.yaml → fleet.emulated/ beside it. */
function emulatedStateRoot(fleetFile: string): string {
  const f = path.resolve(fleetFile);
  return path.join(path.dirname(f), `${path.basename(f, path.extname(f))}.emulated`);
}

export class FleetLinks {
  private emulated = new Map<string, Promise<EmulatedHub>>();

  /** `stateRoot`: where emulated hubs keep their state, one directory per hub id. */
  constructor(
    readonly fleet: Fleet,
    private onError: (msg: string) => void = () => undefined,
    private stateRoot = emulatedStateRoot(fleet.file),
  ) {}

  hub(id: string): FleetHub {
    const h = this.fleet.hubs.find((x) => x.id === id);
    if (!h) throw new Error(`hub ${id} is not in ${this.fleet.file} any more`);
    return h;
  }

  private options(id: string): EmulatedHubOptions {
    return { stateDir: path.join(this.stateRoot, id), timeScale: this.fleet.timeScale, onError: (m) => this.onError(`${id}: ${m}`) };
  }

  /** The serial port of the hub's host link (starting the hub if it is emulated). */
  async port(id: string): Promise<string> {
    const h = this.hub(id);
    if (h.port !== EMULATED) return h.port;
    let e = this.emulated.get(id);
    if (!e) {
      e = EmulatedHub.start(h, this.options(id));
      this.emulated.set(id, e);
      // A hub that failed to start may be tried again.
      e.catch(() => this.emulated.delete(id));
    }
    return (await e).port;
  }

  async open(id: string, timeoutMs?: number): Promise<HubClient> {
    return HubClient.open(await this.port(id), timeoutMs);
  }

  /** Restarts an emulated hub with new firmware (see EmulatedHub.flash). */
  async flashEmulated(id: string, version: string): Promise<void> {
    await this.port(id);
    const restarted = (await this.emulated.get(id)!).flash(version, this.options(id));
    this.emulated.set(id, restarted);
    restarted.catch(() => this.emulated.delete(id));
    await restarted;
  }

  async closeAll(): Promise<void> {
    const all = [...this.emulated.values()];
    this.emulated.clear();
    await Promise.all(all.map((p) => p.then((e) => e.close(), () => undefined)));
  }
}
