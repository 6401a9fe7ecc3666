// The emulated hub process is SIGKILLed at random moments of an upload and of HAN transfers, then
// started again on the same state directory (its "flash"): the upload resumes to an intact image, and
// every job ends in exactly one 0x8F8A or 0x8F89. (Every write point is covered in-process by
// test/core/power-cut.test.ts; this test shows the same on a real process and real ptys.)
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { ChildProcess } from 'child_process';
import { Alert, ImageInfo, Job } from '../../host-tools/link/hub-protocol';
import { HubClient } from '../../host-tools/link/hub-client';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { parseDeviceSpec } from '../../host-tools/sim/device-spec';
import { startSimulator, StartedSimulator } from '../../host-tools/sim/han-simulator';
import { deviceReaches } from '../helpers/hub-bench';
import { makeImage } from '../helpers/images';
import { killHard, startHubProcess } from '../helpers/node-hub-process';
import { mulberry32 } from '../../host-tools/sim/radio-link'; // seeded, so a failing run can be repeated

const PPMID = '000D6F0000000011';
const HCALCS = '000D6F0000000012';
const IMAGE = makeImage({ fileVersion: 2, size: 200 * 1024, minHardwareVersion: 1, maxHardwareVersion: 3 });
const KILLS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let host: PtyPair;
let sim: StartedSimulator;
let state: string;
let hub: ChildProcess | undefined;
let client: HubClient | undefined;

beforeAll(async () => {
  sim = await startSimulator({ devices: [`PPMID:${PPMID}`, `HCALCS:${HCALCS}`].map((d, i) => parseDeviceSpec(d, i)), timeScale: 0.05 });
  state = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-kill-'));
});
afterAll(async () => {
  await client?.close();
  if (hub) await killHard(hub);
  await sim?.close();
  host?.close();
  fs.rmSync(state, { recursive: true, force: true });
});

/** A fresh hub process on the same files and radio, and a client that has said hello to it. The host link is
 *  a new pty each time, as a board's USB serial port comes back new after a reset. */
async function powerOn(): Promise<HubClient> {
  await client?.close();
  host?.close();
  host = await openPtyPair('kill-host');
  hub = await startHubProcess(host.a, sim.radioPath, state);
  client = await HubClient.open(host.b, 1000);
  return client;
}

test(`an upload killed ${KILLS} times resumes each time and ends with the exact image`, async () => {
  const rnd = mulberry32(11);
  let c = await powerOn();
  let cutShort = 0;
  let resumed = 0;
  for (let k = 0; k < KILLS; k++) {
    // The kill lands at a random point of what is left of the upload.
    const target = rnd();
    let killing: Promise<void> | undefined;
    const victim = hub!;
    const upload = c
      .upload('fw', IMAGE, (done, size) => {
        if (!killing && done >= target * size) killing = killHard(victim);
      })
      .catch((e) => e as Error); // dies with the hub
    const r = await upload;
    await (killing ?? killHard(victim));
    if (r instanceof Error) cutShort++;
    c = await powerOn();
    const listed = ((await c.request('img.list')).images as unknown as ImageInfo[]).find((m) => m.name === 'fw');
    if (listed?.complete) expect(listed.crc).toBe(zlib.crc32(IMAGE) >>> 0); // complete only when intact
    else if (listed && listed.next > 0) resumed++;
    if (listed?.complete) break;
  }
  const done = await c.upload('fw', IMAGE);
  expect(done.image).toMatchObject({ name: 'fw', complete: true, size: IMAGE.length, crc: zlib.crc32(IMAGE) >>> 0 });
  expect(cutShort).toBeGreaterThan(0); // the kills did land mid-upload
  expect(resumed).toBeGreaterThan(0); // and checkpoints survived them
}, 180000);

test(`HAN transfers killed ${KILLS} times: every job ends in exactly one 0x8F8A or 0x8F89`, async () => {
  const rnd = mulberry32(23);
  let c = client!;
  await c.request('dev.add', { eui: PPMID, type: 'PPMID' });
  await c.request('dev.add', { eui: HCALCS, type: 'HCALCS' });
  await c.request('job.start', { image: 'fw', devices: [PPMID, HCALCS] });
  const ended = (jobs: Job[]) => jobs.length === 2 && jobs.every((j) => j.state !== 'queued' && j.state !== 'transferring');
  for (let k = 0; k < KILLS; k++) {
    await sleep(200 + rnd() * 600);
    await killHard(hub!);
    await sleep(rnd() * 300);
    c = await powerOn();
    if (ended((await c.request('job.list')).jobs as unknown as Job[])) break;
  }
  for (let t = 0; t < 120 && !ended((await c.request('job.list')).jobs as unknown as Job[]); t++) await sleep(500);
  const jobs = (await c.request('job.list')).jobs as unknown as Job[];
  expect(ended(jobs)).toBe(true);
  const alerts = ((await c.request('alert.list')).alerts as unknown as Alert[]).filter((a) => a.code === 0x8f8a || a.code === 0x8f89);
  expect(alerts.map((a) => a.eui).sort()).toEqual([PPMID, HCALCS]);
  // The devices end with what the hub says they were sent, verified: the PPMID (once it has rebooted into
  // it) runs the new version, the HCALCS holds it.
  await deviceReaches(sim.sim, PPMID, (d) => d.fileVersion === 2, 15000, 'the PPMID to run version 2');
  await deviceReaches(sim.sim, HCALCS, (d) => d.heldVersion === 2, 15000, 'the HCALCS to hold version 2');
}, 240000);
