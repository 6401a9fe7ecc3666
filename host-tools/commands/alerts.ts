// `chub alerts`: GBCS firmware alerts the hub holds until the host acknowledges them.
import { Command } from 'commander';
import { Alert } from '../link/hub-protocol';
import { alertLine, printJson } from '../format';
import { withHub, withPort } from '../link/port-option';
import { idArgs } from './id-args';

export function register(program: Command): void {
  // `alerts ack 3 --json`: options after the subcommand are the subcommand's (positional options, cli.ts).
  const alerts = withPort(program.command('alerts'))
    .description('list held alerts: 0x8F8A transfer succeeded, 0x8F89 failed, 0x8F8B version read')
    .option('--ack', 'acknowledge the listed alerts (the hub then forgets them)')
    .option('--json', 'print the alerts as JSON')
    .addHelpText('after', '\nExamples:\n  $ chub alerts\n  $ chub alerts --ack --json\n  $ chub alerts ack 3 4')
    .action(async (opts) => {
      await withHub(opts, async (hub) => {
        const list = (await hub.request('alert.list')).alerts as unknown as Alert[];
        const acked = opts.ack && list.length ? ((await hub.request('alert.ack', { ids: list.map((a) => a.id) })).acked as number) : undefined;
        if (opts.json) return printJson(opts.ack ? { alerts: list, acked: acked ?? 0 } : list);
        if (list.length === 0) console.log('(no alerts held)');
        for (const a of list) console.log(alertLine(a));
        if (acked !== undefined) console.log(`acknowledged ${acked}`);
      });
    });

  withPort(alerts.command('ack <id...>'))
    .description('acknowledge alerts by id (repeating an ack is harmless)')
    .option('--json', 'print {"acked": n}')
    .addHelpText('after', '\nExample:\n  $ chub alerts ack 3 4')
    .action(async (ids: string[], opts) => {
      const nums = idArgs(ids, 'alert', 0);
      await withHub(opts, async (hub) => {
        const acked = (await hub.request('alert.ack', { ids: nums })).acked as number;
        if (opts.json) printJson({ acked });
        else console.log(`acknowledged ${acked} of ${nums.length}`);
      });
    });
}
