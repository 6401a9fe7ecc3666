// An image made for other hardware is refused before a single block: the device gets nothing and the
// host gets 0x8F89 with response code 2 (Hardware Version Mismatch).
import { Alert, Job } from '../../host-tools/link/hub-protocol';
import { makeImage } from '../helpers/images';
import { Bench, startBench, waitFor } from '../helpers/hub-bench';

const PPMID = '000D6F00000000A1';
let bench: Bench;
beforeAll(async () => {
  bench = await startBench([`PPMID:${PPMID}:hw=9`]);
});
afterAll(async () => {
  await bench?.close();
});

test('a device outside the image hardware range gets no blocks and the host sees 0x8F89 code 2', async () => {
  const hub = bench.client;
  await hub.request('dev.add', { eui: PPMID, type: 'PPMID' });
  await hub.upload('fw-hw1-3', makeImage({ fileVersion: 2, size: 8 * 1024, minHardwareVersion: 1, maxHardwareVersion: 3 }));
  const failed = waitFor<Alert>(hub, 'alert', (a) => a.eui === PPMID, 20000, 'an alert for the device');
  await hub.request('job.start', { image: 'fw-hw1-3', devices: [PPMID] });
  expect(await failed).toMatchObject({ code: 0x8f89, responseCode: 2, fileVersion: 2 });

  const [job] = (await hub.request('job.list')).jobs as unknown as Job[];
  expect(job).toMatchObject({ state: 'failed', code: 2, off: 0 });
  const dev = bench.sim.devices().find((d) => d.eui === PPMID)!;
  expect(dev).toMatchObject({ blocks: 0, bytes: 0, fileVersion: 1 });
});
