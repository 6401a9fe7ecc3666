// What a hub worker (device image or hub firmware) is given by the runner.
import { Plan } from './campaign-plan';
import { CampaignStore } from './campaign-store';
import { FleetLinks } from './fleet-links';
import { HubFlasher } from './hub-flasher';

export interface HubWork {
  hubId: string;
  plan: Plan;
  store: CampaignStore;
  links: FleetLinks;
  flasher: HubFlasher;
  log(msg: string): void;
  /** True once the run must stop (interrupted or aborted): the worker leaves the hub as it is, to be resumed. */
  stopping(): boolean;
}

/** How a worker left its hub: finished (every target final) or stopped early, to be resumed. */
export type WorkEnd = 'finished' | 'stopped';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
