// `chub fleet status`: each hub of the inventory asked for its firmware version and device log, side by side
// with what the inventory says it serves.
import { Device } from '../link/hub-protocol';
import { runPool } from './async-pool';
import { FleetLinks } from './fleet-links';

export interface DeviceStatus {
  eui: string;
  type: string;
  inInventory: boolean;
  inDeviceLog: boolean;
  joined: boolean;
  fileVersion?: number;
  lastSeen?: number;
}

export interface HubStatus {
  id: string;
  variant: string;
  region: string;
  board: string;
  port: string;
  online: boolean;
  /** Why the hub could not be reached. */
  error?: string;
  fw?: string;
  devices: DeviceStatus[];
}

/** Inventory devices first (in the device log or not), then devices only the hub's log has. */
function mergeDevices(inventory: { eui: string; type: string }[], log: Device[] | undefined): DeviceStatus[] {
  const listed = new Map((log ?? []).map((d) => [d.eui, d]));
  const fromLog = (d: Device | undefined) => ({ joined: d?.nwk !== undefined, fileVersion: d?.fileVersion, lastSeen: d?.lastSeen });
  const known = inventory.map((d) => ({ eui: d.eui, type: d.type, inInventory: true, inDeviceLog: listed.has(d.eui), ...fromLog(listed.get(d.eui)) }));
  const extra = (log ?? []).filter((d) => !inventory.some((i) => i.eui === d.eui)).map((d) => ({ eui: d.eui, type: d.type, inInventory: false, inDeviceLog: true, ...fromLog(d) }));
  return [...known, ...extra];
}

export async function fleetStatus(links: FleetLinks, timeoutMs: number, concurrency = 16): Promise<HubStatus[]> {
  const out: HubStatus[] = [];
  await runPool(
    links.fleet.hubs,
    concurrency,
    async (h) => {
      const s: HubStatus = { id: h.id, variant: h.variant, region: h.region, board: h.board, port: h.port, online: false, devices: [] };
      let log: Device[] | undefined;
      try {
        const c = await links.open(h.id, timeoutMs);
        try {
          s.online = true;
          s.fw = c.info.fw;
          log = (await c.request('dev.list', {}, timeoutMs)).devices as unknown as Device[];
        } finally {
          await c.close();
        }
      } catch (e) {
        s.error = (e as Error).message;
      }
      s.devices = mergeDevices(h.devices, log);
      out.push(s);
    },
    () => true,
  );
  // Inventory order, whatever order the hubs answered in.
  return links.fleet.hubs.map((h) => out.find((s) => s.id === h.id)!);
}
