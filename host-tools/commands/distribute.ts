// `chub distribute`: start firmware transfers of an image to HAN devices, stored on the hub or streamed
// from this process, optionally waiting; with --sha256, only if the image is the one a GBCS command named.
import { Command } from 'commander';
import * as path from 'path';
import { Alert, ALERT_TRANSFER_FAILED, ALERT_TRANSFER_SUCCEEDED, Device, isFinal, Job, JOB_START_MAX as JOB_START_BATCH } from '../link/hub-protocol';
import { jobTable, printJson } from '../format';
import { interrupted } from '../interrupted';
import { repeatable } from '../repeatable';
import { HubClient } from '../link/hub-client';
import { UsageError, withHub, withPort } from '../link/port-option';
import { IMAGE_NAME, servableImage } from './upload';
import { euiArg } from './devices';
import { transferring, watchJobs } from './monitor';

/** --sha256: 64 hex digits as the 32 bytes job.start carries (a usage error otherwise). */
function sha256Arg(s: string | undefined): Uint8Array | undefined {
  if (s === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(s)) throw new UsageError(`--sha256: want the image's SHA-256 as 64 hex digits, not "${s}"`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

/** A streamed file is checked here: the hub holds none of it to hash (docs/host-link.md "Image hash"). */
function checkStreamed(file: string, have: Uint8Array, want: Uint8Array): void {
  if (!Buffer.from(have).equals(want)) {
    throw new Error(`${file}: the SHA-256 of its OTA file is ${Buffer.from(have).toString('hex')}, not ${Buffer.from(want).toString('hex')} (--sha256); nothing was streamed or started`);
  }
}

export function register(program: Command): void {
  withPort(program.command('distribute'))
    .description('start transferring an image to devices (PPMID: runs it at once; HCALCS: holds it for chub activate): one stored on the hub, or one streamed from here')
    .option('-i, --image <name>', 'image name on the hub (see chub status)')
    .option('--stream <file>', "stream this OTA file from here: the hub stores none of it and fetches ranges as devices download (boards whose Storage cannot hold an image); implies --wait, as the ranges come from this process")
    .option('-n, --name <name>', 'with --stream: the image name on the hub (default: the file name)')
    .option('-d, --device <eui>', 'target device (required); repeat for more', repeatable, [])
    .option('--force', 'send even to a device that already runs this version')
    .option(
      '--sha256 <hex>',
      'the SHA-256 (64 hex digits) of the OTA file the hub serves, as a GBCS command names it (chub image inspect shows it): ' +
        'a stored image that differs fails every job at once (0x8F89, response code 1 Image Discarded) and no device is sent anything; ' +
        'a --stream file that differs is refused here. Boards with hub.requireSha256 refuse a distribution without it',
    )
    .option('--wait', 'show progress and end when every transfer has finished (exit 1 if any failed)')
    .option('--ack', "with --wait: acknowledge this distribution's alerts once shown, so a hub that holds few (Puck.js: 2) takes the next devices")
    .option('--json', 'print the jobs as JSON (with --wait: their final state)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ chub distribute --image fw-v2 --device 000D6F0000000001 --device 000D6F0000000002 --wait\n' +
        '  $ chub distribute --stream fw-v2.ota --device 000D6F0000000001   # a Puck.js hub: nothing stored\n' +
        '  $ chub distribute --stream fw-v2.ota --ack -d 000D6F0000000001 -d 000D6F0000000002 -d 000D6F0000000003   # in waves, as the hub has room\n' +
        '  $ chub distribute --image fw-v2 --sha256 $(chub image inspect fw-v2.ota --json | jq -r .sha256) -d 000D6F0000000001',
    )
    .action(async (opts) => {
      const devices = (opts.device as string[]).map(euiArg);
      // Checked here: requiredOption would take the empty default list as given.
      if (devices.length === 0) throw new UsageError('name the devices to send the image to with --device <eui> (repeat it for more)');
      if ((opts.image === undefined) === (opts.stream === undefined)) throw new UsageError('give one of --image <name> (stored on the hub) and --stream <file>');
      if (opts.ack && !opts.wait && !opts.stream) throw new UsageError('--ack acknowledges alerts as transfers end: add --wait');
      const sha256 = sha256Arg(opts.sha256);
      const stream = opts.stream === undefined ? undefined : servableImage(opts.stream);
      if (stream && sha256) checkStreamed(opts.stream, stream.sha256, sha256);
      const name: string = opts.image ?? opts.name ?? path.basename(opts.stream);
      if (stream && !IMAGE_NAME.test(name)) throw new UsageError(`image name "${name}" is not 1-24 of A-Z a-z 0-9 . _ - ; choose one with --name`);
      await withHub(opts, async (hub) => {
        // Registered first, and served until every transfer has ended: the hub asks for ranges as it goes.
        const streamer = stream ? await hub.stream(name, stream.bytes, stream.header) : undefined;
        if (streamer && !opts.json) console.log(`streaming ${opts.stream} as ${name} (${stream!.bytes.length} bytes; the hub stores none of it)`);
        try {
          await distribute(hub, name, devices, { ...opts, sha256, wait: opts.wait || stream !== undefined });
        } finally {
          streamer?.stop();
        }
      });
    });
}

async function distribute(
  hub: HubClient,
  image: string,
  devices: string[],
  opts: { force?: boolean; sha256?: Uint8Array; wait?: boolean; ack?: boolean; json?: boolean },
): Promise<void> {
  // Read first: after a Ctrl-C the hub may be gone too, and the final table still wants the types.
  const known = (await hub.request('dev.list')).devices as unknown as Device[];
  let jobs: Job[] = [];
  let room = await roomOnHub(hub);
  if (!opts.wait && devices.length > room.n) throw new UsageError(`${room.text}: give --wait to start the other devices as room comes`);
  if (opts.wait && !opts.json) console.log(`distributing ${image} to ${devices.length} device(s)`);
  const stop = interrupted();
  let stopped = false;
  void stop.then(() => (stopped = true));
  /** Jobs that failed as they started: the hub found its image is not the one --sha256 names. */
  let discarded = 0;
  // Waves of as many as the hub takes: a small board's hub holds only a few transfers and alerts (memory).
  for (let next = 0; next < devices.length && !stopped; room = await roomOnHub(hub)) {
    if (room.n === 0) {
      // Alerts held stay until acknowledged, and this link is the hub's only one: waiting could not help.
      if (room.unfinished === 0) throw new Error(`${room.text}; ${devices.length - next} device(s) not started: acknowledge the alerts (or give --ack) and distribute to them again`);
      // Room may come as other transfers end; once none is left unfinished, only an ack could make it.
      console.error(`${room.text}; waiting (Ctrl-C stops)`);
      while (!stopped && (room = await roomOnHub(hub)).n === 0 && room.unfinished > 0) await Promise.race([stop, new Promise((r) => setTimeout(r, ROOM_POLL_MS))]);
      continue;
    }
    const wave = devices.slice(next, next + room.n);
    next += wave.length;
    // Alerts get rising ids: the wave's are those above every id held now.
    const before = opts.ack ? Math.max(0, ...(await heldAlerts(hub)).map((a) => a.id)) : 0;
    let started: Job[] = [];
    // The hub takes a few devices per job.start (its reply must fit one host-link frame).
    for (let i = 0; i < wave.length; i += JOB_START_BATCH) {
      const r = await hub.request('job.start', { image, devices: wave.slice(i, i + JOB_START_BATCH), force: !!opts.force, sha256: opts.sha256 });
      const batch = r.jobs as unknown as Job[];
      discarded += batch.filter((j) => j.state === 'failed').length;
      started = started.concat(batch);
    }
    if (opts.wait) {
      if (next < devices.length && !opts.json) console.log(`${wave.length} at once (the hub's limit); ${devices.length - next} start as these end`);
      const watched = await watchJobs(hub, { ids: started.map((j) => j.id), untilDone: true, mode: opts.json ? 'quiet' : undefined, stop });
      started = started.map((j) => watched.find((w) => w.id === j.id) ?? j);
      if (opts.ack) await ackAlerts(hub, wave, before);
    }
    jobs = jobs.concat(started);
  }
  if (discarded) console.error(`the image ${image} on the hub is not the one --sha256 names: ${discarded} job(s) failed at once (0x8F89, response code 1 Image Discarded) and no device was sent anything`);
  if (discarded || (opts.wait && (jobs.some((j) => j.state === 'failed') || jobs.some(transferring) || jobs.length < devices.length))) process.exitCode = 1;
  if (opts.json) printJson(jobs);
  else console.log(jobTable(jobs, known));
}

/** How often a distribution waiting for room on the hub asks again. */
const ROOM_POLL_MS = 2000;

/**
 * How many more jobs the hub takes now, counted as it does (firmware/core/hub.ts startJobs): maxJobs less its
 * unfinished jobs, and maxAlerts less the alerts it holds and those its unfinished jobs will raise. A hub
 * that states no limits: no limit.
 */
async function roomOnHub(hub: HubClient): Promise<{ n: number; unfinished: number; text: string }> {
  const { board, maxJobs, maxAlerts } = hub.info;
  if (maxJobs === undefined) return { n: Infinity, unfinished: 0, text: '' };
  const unfinished = ((await hub.request('job.list')).jobs as unknown as Job[]).filter((j) => !isFinal(j)).length;
  const held = maxAlerts === undefined ? 0 : (await heldAlerts(hub)).length;
  const n = Math.max(0, Math.min(maxJobs, (maxAlerts ?? Infinity) - held) - unfinished);
  const alerts = maxAlerts === undefined ? '' : `, and ${held} of at most ${maxAlerts} alerts held until acknowledged (chub alerts --ack)`;
  return { n, unfinished, text: `hub ${board} has room for ${n} more transfer(s) now: ${unfinished} of at most ${maxJobs} unfinished${alerts}` };
}

async function heldAlerts(hub: HubClient): Promise<Alert[]> {
  return (await hub.request('alert.list')).alerts as unknown as Alert[];
}

/** Acknowledges the transfer alerts (0x8F8A/0x8F89) for `euis` with ids above `after` (this wave's). */
async function ackAlerts(hub: HubClient, euis: string[], after: number): Promise<void> {
  const ours = (await heldAlerts(hub)).filter((a) => a.id > after && euis.includes(a.eui) && (a.code === ALERT_TRANSFER_SUCCEEDED || a.code === ALERT_TRANSFER_FAILED));
  if (ours.length > 0) await hub.request('alert.ack', { ids: ours.map((a) => a.id) });
}
