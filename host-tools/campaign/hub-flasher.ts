// Writing new hub firmware to a hub. The runner closes its link first and checks the version the hub
// reports afterwards, so a flasher only has to get the bundle onto the hub and restart it.
import { execFile } from 'child_process';
import * as path from 'path';
import { EMULATED, FleetHub } from './fleet-inventory';
import { FleetLinks } from './fleet-links';

export interface HubFlasher {
  /** `version` is what the bundle carries; only an emulated hub, which runs no bundle, needs telling. */
  flash(hub: FleetHub, bundle: string, version: string): Promise<void>;
}

const CHUB = path.resolve(__dirname, '..', 'bin', 'chub');
/** Writing a bundle to a board's Storage over 115200 baud and rebooting takes a while. */
const FLASH_TIMEOUT_MS = 10 * 60 * 1000;

function chub(args: string[], timeout: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(CHUB, args, { timeout }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

/** Real boards: `chub flash --board B --port CONSOLE --host-port P --bundle FILE`. A hub without a separate
 *  `console` in the fleet file has its console on the host link port. */
export class ChubFlashCommand implements HubFlasher {
  private usable?: Promise<string | null>;

  /** Why `chub flash` cannot flash a chosen bundle here, or null if it can. */
  private check(): Promise<string | null> {
    this.usable ??= chub(['flash', '--help'], 30000).then((r) => {
      if (r.code !== 0) return 'this checkout has no `chub flash` command (real boards are issue 6)';
      if (!r.out.includes('--bundle')) return '`chub flash` here takes no --bundle, so it cannot flash the bundle the plan names';
      return null;
    });
    return this.usable;
  }

  async flash(hub: FleetHub, bundle: string): Promise<void> {
    const why = await this.check();
    if (why) throw new Error(`cannot flash hub ${hub.id}: ${why}`);
    const r = await chub(['flash', '--board', hub.board, '--port', hub.console ?? hub.port, '--host-port', hub.port, '--bundle', bundle], FLASH_TIMEOUT_MS);
    if (r.code !== 0) throw new Error(`chub flash failed on hub ${hub.id} (exit ${r.code}): ${r.out.split('\n').slice(-3).join(' ')}`);
  }
}

/** Emulated hubs are restarted with the new version (see EmulatedHub.flash); real ones go to `chub flash`. */
export class FleetFlasher implements HubFlasher {
  private boards = new ChubFlashCommand();
  constructor(private links: FleetLinks) {}

  flash(hub: FleetHub, bundle: string, version: string): Promise<void> {
    return hub.port === EMULATED ? this.links.flashEmulated(hub.id, version) : this.boards.flash(hub, bundle);
  }
}
