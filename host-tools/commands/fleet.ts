// `chub fleet status`: every hub of a fleet inventory (fleet.yaml), whether it answers, its firmware
// version and its devices. Emulated hubs are started for it, from their state beside the fleet file.
// docs/campaigns.md describes the inventory.
import { Command } from 'commander';
import { loadFleet } from '../campaign/fleet-inventory';
import { FleetLinks } from '../campaign/fleet-links';
import { fleetStatus, HubStatus } from '../campaign/fleet-status';
import { printJson, table, time, version } from '../format';
import { UsageError } from '../link/port-option';

function hubTable(hubs: HubStatus[]): string {
  return table(
    ['HUB', 'VARIANT', 'REGION', 'BOARD', 'PORT', 'STATE', 'FIRMWARE', 'DEVICES'],
    hubs.map((h) => [h.id, h.variant, h.region, h.board, h.port, h.online ? 'online' : 'OFFLINE', h.fw ?? '-', `${h.devices.filter((d) => d.joined).length}/${h.devices.length} joined`]),
  );
}

function deviceTable(hubs: HubStatus[]): string {
  const rows = hubs.flatMap((h) =>
    h.devices.map((d) => [
      h.id,
      d.eui,
      d.type,
      !h.online ? '?' : d.inDeviceLog ? 'yes' : 'NO',
      d.inInventory ? 'yes' : 'NO',
      d.joined ? 'yes' : 'no',
      version(d.fileVersion),
      d.lastSeen === undefined ? '-' : time(d.lastSeen),
    ]),
  );
  return rows.length ? table(['HUB', 'DEVICE', 'TYPE', 'IN LOG', 'IN INVENTORY', 'JOINED', 'VERSION', 'LAST SEEN'], rows) : '(no devices)';
}

export function register(program: Command): void {
  const fleet = program
    .command('fleet')
    .description('the hubs of a fleet inventory (fleet.yaml: id, port or emulated, board, variant, region, devices)')
    .addHelpText('after', '\nExample:\n  $ chub fleet status docs/examples/fleet.yaml');

  fleet
    .command('status <fleet.yaml>')
    .description('ask every hub for its firmware version and device log (exit 1 if a hub does not answer)')
    .option('--timeout <seconds>', 'how long to wait for each hub', '5')
    .option('--json', 'print the hubs and their devices as JSON')
    .addHelpText('after', '\nExamples:\n  $ chub fleet status fleet.yaml\n  $ chub fleet status fleet.yaml --json --timeout 2')
    .action(async (file: string, opts) => {
      const seconds = Number(opts.timeout);
      if (!(seconds > 0)) throw new UsageError(`--timeout: want a positive number of seconds, not "${opts.timeout}"`);
      const f = loadFleet(file);
      const links = new FleetLinks(f, (m) => console.error(m));
      let hubs: HubStatus[];
      try {
        hubs = await fleetStatus(links, seconds * 1000);
      } finally {
        await links.closeAll();
      }
      if (opts.json) printJson(hubs);
      else {
        console.log(hubTable(hubs));
        for (const h of hubs.filter((x) => x.error)) console.log(`  ${h.id}: ${h.error}`);
        console.log(`\n${deviceTable(hubs)}`);
        const offline = hubs.filter((h) => !h.online).length;
        console.log(`\n${hubs.length - offline} of ${hubs.length} hub(s) online`);
      }
      if (hubs.some((h) => !h.online)) process.exitCode = 1;
    });
}
