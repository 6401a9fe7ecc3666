// `chub distribute`: start firmware transfers of a stored image to HAN devices, optionally waiting.
import { Command } from 'commander';
import { Device } from '../../firmware/core/device-log';
import { PAGE as JOB_START_BATCH } from '../../firmware/core/hub';
import { Job } from '../../firmware/core/transfer-jobs';
import { jobTable, printJson } from '../format';
import { interrupted } from '../interrupted';
import { repeatable } from '../repeatable';
import { withHub, withPort } from '../link/port-option';
import { euiArg } from './devices';
import { transferring, watchJobs } from './monitor';

export function register(program: Command): void {
  withPort(program.command('distribute'))
    .description('start transferring a stored image to devices (PPMID: runs it at once; HCALCS: holds it for chub activate)')
    .requiredOption('-i, --image <name>', 'image name on the hub (see chub status)')
    .requiredOption('-d, --device <eui>', 'target device; repeat for more', repeatable, [])
    .option('--force', 'send even to a device that already runs this version')
    .option('--wait', 'show progress and end when every transfer has finished (exit 1 if any failed)')
    .option('--json', 'print the jobs as JSON (with --wait: their final state)')
    .addHelpText('after', '\nExample:\n  $ chub distribute --image fw-v2 --device 000D6F0000000001 --device 000D6F0000000002 --wait')
    .action(async (opts) => {
      const devices = (opts.device as string[]).map(euiArg);
      await withHub(opts, async (hub) => {
        // Read first: after a Ctrl-C the hub may be gone too, and the final table still wants the types.
        const known = (await hub.request('dev.list')).devices as unknown as Device[];
        let jobs: Job[] = [];
        // The hub takes a few devices per job.start (its reply must fit one host-link frame).
        for (let i = 0; i < devices.length; i += JOB_START_BATCH) {
          const r = await hub.request('job.start', { image: opts.image, devices: devices.slice(i, i + JOB_START_BATCH), force: !!opts.force });
          jobs = jobs.concat(r.jobs as unknown as Job[]);
        }
        if (opts.wait) {
          if (!opts.json) console.log(`distributing ${opts.image} to ${devices.length} device(s)`);
          const watched = await watchJobs(hub, { ids: jobs.map((j) => j.id), untilDone: true, mode: opts.json ? 'quiet' : undefined, stop: interrupted() });
          jobs = jobs.map((j) => watched.find((w) => w.id === j.id) ?? j);
          if (jobs.some((j) => j.state === 'failed')) process.exitCode = 1;
          else if (jobs.some(transferring)) process.exitCode = 1; // interrupted before the end
        }
        if (opts.json) printJson(jobs);
        else console.log(jobTable(jobs, known));
      });
    });
}
