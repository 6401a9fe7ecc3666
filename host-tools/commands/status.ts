// `chub status`: what the hub is, holds and is doing, on one screen.
import { Command } from 'commander';
import { Alert, Device, ImageInfo, Job } from '../link/hub-protocol';
import { deviceTable, imageTable, jobTable, printJson, time } from '../format';
import { withHub, withPort } from '../link/port-option';

export function register(program: Command): void {
  withPort(program.command('status'))
    .description('show the hub, its images, device log, jobs and held alerts')
    .option('--json', 'print everything as one JSON object')
    .addHelpText('after', '\nExample:\n  $ chub status --port /tmp/chub-x/host-1-b')
    .action(async (opts) => {
      await withHub(opts, async (hub) => {
        const images = (await hub.request('img.list')).images as unknown as ImageInfo[];
        const devices = (await hub.request('dev.list')).devices as unknown as Device[];
        const jobs = (await hub.request('job.list')).jobs as unknown as Job[];
        const alerts = (await hub.request('alert.list')).alerts as unknown as Alert[];
        if (opts.json) return printJson({ hub: hub.info, images, devices, jobs, alerts });
        const h = hub.info;
        console.log(`hub on ${hub.path}: firmware ${h.fw}, board ${h.board}, ${h.mode} images, clock ${time(h.time)}, chunks of ${h.maxChunk} B${h.maxJobs === undefined ? '' : `, at most ${h.maxJobs} transfers at once`}`);
        console.log(`\nImages\n${imageTable(images)}`);
        console.log(`\nDevices\n${deviceTable(devices)}`);
        console.log(`\nJobs\n${jobTable(jobs, devices)}`);
        console.log(`\n${alerts.length} alert(s) held${alerts.length ? ' (chub alerts)' : ''}`);
      });
    });
}
