// `chub devices`: the hub's device log (whitelist). Only devices in it are given firmware.
import { Command, Option } from 'commander';
import { normaliseEui } from '../../firmware/core/bytes';
import { Device } from '../link/hub-protocol';
import { deviceTable, printJson } from '../format';
import { UsageError, withHub, withPort } from '../link/port-option';

/** The EUI-64 in canonical form, or a usage error naming what was given. */
export function euiArg(eui: string): string {
  const norm = normaliseEui(eui);
  if (norm === null) throw new UsageError(`not an EUI-64: "${eui}" (want 16 hex digits, e.g. 000D6F0000000001)`);
  return norm;
}

export function register(program: Command): void {
  const devices = program
    .command('devices')
    .description("manage the hub's device log (only listed devices get firmware)")
    .addHelpText('after', '\nExamples:\n  $ chub devices add 000D6F0000000001 --type PPMID\n  $ chub devices list --json\n  $ chub devices remove 000D6F0000000001');

  withPort(devices.command('add <eui>'))
    .description('add a HAN device to the device log')
    .addOption(new Option('-t, --type <type>', 'device type').choices(['PPMID', 'HCALCS']).makeOptionMandatory())
    .option('--json', 'print the device as JSON')
    .addHelpText('after', '\nExample:\n  $ chub devices add 000D6F0000000002 --type HCALCS')
    .action(async (eui: string, opts) => {
      const norm = euiArg(eui);
      await withHub(opts, async (hub) => {
        const r = await hub.request('dev.add', { eui: norm, type: opts.type });
        if (opts.json) printJson(r.device);
        else console.log(`added ${norm} (${opts.type})`);
      });
    });

  withPort(devices.command('list'))
    .description('list the device log')
    .option('--json', 'print the devices as JSON')
    .addHelpText('after', '\nExample:\n  $ chub devices list --json')
    .action(async (opts) => {
      await withHub(opts, async (hub) => {
        const list = (await hub.request('dev.list')).devices as unknown as Device[];
        if (opts.json) printJson(list);
        else console.log(deviceTable(list));
      });
    });

  withPort(devices.command('remove <eui>'))
    .alias('rm')
    .description('remove a device from the device log')
    .addHelpText('after', '\nExample:\n  $ chub devices remove 000D6F0000000001')
    .action(async (eui: string, opts) => {
      const norm = euiArg(eui);
      await withHub(opts, async (hub) => {
        await hub.request('dev.rm', { eui: norm });
        console.log(`removed ${norm}`);
      });
    });
}
