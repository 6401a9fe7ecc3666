// `chub jobs`: the hub's transfer jobs, and cancelling one.
import { Command } from 'commander';
import { Device, Job } from '../link/hub-protocol';
import { jobTable, printJson } from '../format';
import { withHub, withPort } from '../link/port-option';
import { idArgs } from './id-args';

export function register(program: Command): void {
  const jobs = withPort(program.command('jobs'))
    .description('list the transfer jobs the hub holds (unfinished, and the latest finished)')
    .option('--json', 'print the jobs as JSON')
    .addHelpText('after', '\nExamples:\n  $ chub jobs\n  $ chub jobs cancel 7')
    .action(async (opts) => {
      await withHub(opts, async (hub) => {
        const list = (await hub.request('job.list')).jobs as unknown as Job[];
        if (opts.json) return printJson(list);
        const devices = (await hub.request('dev.list')).devices as unknown as Device[];
        console.log(jobTable(list, devices));
      });
    });

  withPort(jobs.command('cancel <id...>'))
    .description(
      'cancel jobs by id: a queued or transferring job fails (alert 0x8F89, File Transfer Failure) and its device is sent no more blocks; ' +
        'a transferred or activating one ends without the hub activating its image',
    )
    .option('--json', 'print the cancelled jobs as JSON')
    .addHelpText('after', '\nExample:\n  $ chub jobs cancel 7 8')
    .action(async (ids: string[], opts) => {
      const nums = idArgs(ids, 'job', 1);
      await withHub(opts, async (hub) => {
        const done: Job[] = [];
        for (const id of nums) done.push((await hub.request('job.cancel', { id })).job as unknown as Job);
        if (opts.json) return printJson(done);
        for (const j of done) console.log(`job #${j.id} (${j.eui}): ${j.state}${j.state === 'failed' ? ' (alert 0x8F89 raised)' : ''}`);
      });
    });
}
