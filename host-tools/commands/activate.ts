// `chub activate`: tell a device holding a transferred image (an HCALCS) to run it, now or at a set time.
import { Command } from 'commander';
import { printJson, time, version } from '../format';
import { Job } from '../link/hub-protocol';
import { UsageError, withHub, withPort } from '../link/port-option';
import { euiArg } from './devices';

function isoTime(s: string): number {
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new UsageError(`--at: not an ISO time: "${s}" (e.g. 2026-12-01T02:00:00Z)`);
  return t;
}

export function register(program: Command): void {
  withPort(program.command('activate'))
    .description('activate the firmware a device holds (HCALCS); confirm with chub version')
    .requiredOption('-d, --device <eui>', 'the device to activate')
    .option('--at <iso-time>', 'when to activate (default: now)')
    .option('--json', 'print the job as JSON')
    .addHelpText('after', '\nExamples:\n  $ chub activate --device 000D6F0000000002\n  $ chub activate --device 000D6F0000000002 --at 2026-12-01T02:00:00Z')
    .action(async (opts) => {
      const eui = euiArg(opts.device);
      const at = opts.at === undefined ? undefined : isoTime(opts.at);
      await withHub(opts, async (hub) => {
        const r = await hub.request('activate', at === undefined ? { eui } : { eui, at });
        const job = r.job as unknown as Job | undefined;
        if (opts.json) return printJson(job ?? {});
        const what = job ? `activation of ${version(job.fileVersion)}` : 'activation';
        console.log(`${eui}: ${what} requested for ${at === undefined ? 'now' : time(at)}; confirm with: chub version --device ${eui}`);
      });
    });
}
