// The whole product path: HubClient → host link → hub → ZNP → simulated HAN, on every hub target
// (test/helpers/hub-target.ts): the hub core in Node, the bundle on the Espruino interpreter, a real board.
import { Alert, Job } from '../../host-tools/link/hub-protocol';
import { readVersion } from '../../host-tools/commands/version';
import { HubClient } from '../../host-tools/link/hub-client';
import { HanSimulator } from '../../host-tools/sim/han-simulator';
import { collect, deviceReaches } from '../helpers/hub-bench';
import { describeEachTarget, RunningHub } from '../helpers/hub-target';
import { makeImage } from '../helpers/images';

const PPMID = '000D6F0000000001';
const HCALCS = '000D6F0000000002';
const OLD = 0x00000001; // what the simulated devices run (sim defaults)
const NEW = 0x00000002;

describeEachTarget('firmware transfer', (target) => {
  const IMAGE = makeImage({ fileVersion: NEW, size: target.imageBytes, minHardwareVersion: 1, maxHardwareVersion: 3 });
  let running: RunningHub;
  let hub: HubClient;
  let sim: HanSimulator;
  beforeAll(async () => {
    running = await target.start([`PPMID:${PPMID}`, `HCALCS:${HCALCS}`]);
    ({ client: hub, sim } = running);
  }, 120000);
  afterAll(async () => {
    await running?.stop();
  });

  test('the hub answers hello as its board, in that board\'s image mode', () => {
    expect(Object.entries(target.boards)).toContainEqual([hub.info.board, hub.info.mode]);
  });

  test('firmware reaches a PPMID (running it) and an HCALCS (holding it until activated)', async () => {
    await hub.request('dev.add', { eui: PPMID, type: 'PPMID' });
    await hub.request('dev.add', { eui: HCALCS, type: 'HCALCS' });
    expect(((await hub.request('dev.list')).devices as unknown as { eui: string }[]).map((d) => d.eui).sort()).toEqual([PPMID, HCALCS]);

    const progress: number[] = [];
    const up = await hub.upload('fw-v2', IMAGE, (done) => progress.push(done));
    expect(up.image).toMatchObject({ name: 'fw-v2', complete: true, size: IMAGE.length, fileVersion: NEW });
    expect(progress[progress.length - 1]).toBe(IMAGE.length);

    const succeeded = collect<Alert>(hub, 'alert', (a) => a.code === 0x8f8a, 2, 150000, 'two 0x8F8A alerts');
    const jobs = (await hub.request('job.start', { image: 'fw-v2', devices: [PPMID, HCALCS] })).jobs as unknown as Job[];
    expect(jobs.map((j) => j.state)).toEqual(['queued', 'queued']);
    const alerts = await succeeded;
    expect(alerts.map((a) => a.eui).sort()).toEqual([PPMID, HCALCS]);
    for (const a of alerts) expect(a).toMatchObject({ fileVersion: NEW, responseCode: 0 });

    // The PPMID runs the new image as soon as it has it (the hub said "upgrade now").
    await deviceReaches(sim, PPMID, (s) => s.fileVersion === NEW && s.state === 'idle', 15000, 'the PPMID to reboot into the new image');
    const ppmid = await readVersion(hub, PPMID, 15000);
    expect(ppmid.alert).toMatchObject({ code: 0x8f8b, fileVersion: NEW, activationStatus: 0 });

    // The HCALCS still runs the old version and holds the new one.
    const before = await readVersion(hub, HCALCS, 15000);
    expect(before.alert).toMatchObject({ code: 0x8f8b, fileVersion: OLD });
    expect(before.holding).toMatchObject({ state: 'transferred', fileVersion: NEW });

    expect(sim.devices().find((d) => d.eui === HCALCS)).toMatchObject({ fileVersion: OLD, heldVersion: NEW });
    // After activation the hub reads the version by itself once the HCALCS has rebooted (0x8F8B).
    const confirmed = collect<Alert>(hub, 'alert', (a) => a.code === 0x8f8b && a.eui === HCALCS, 1, 20000, 'the 0x8F8B after activation');
    await hub.request('activate', { eui: HCALCS });
    await deviceReaches(sim, HCALCS, (s) => s.fileVersion === NEW && s.state === 'idle', 15000, 'the HCALCS to run the new image');
    const [after] = await confirmed;
    expect(after).toMatchObject({ code: 0x8f8b, fileVersion: NEW, activationStatus: 0 });
    expect((await hub.request('alert.ack', { ids: [after.id] })).acked).toBe(1);
    // A board lists jobs of earlier runs too: these are the two started here.
    const ids = jobs.map((j) => j.id);
    const final = ((await hub.request('job.list')).jobs as unknown as Job[]).filter((j) => ids.includes(j.id));
    expect(final.map((j) => [j.eui, j.state])).toEqual([
      [PPMID, 'done'],
      [HCALCS, 'done'],
    ]);

    // Version-read alerts were acknowledged by readVersion; the two transfer alerts are still held.
    const held = (await hub.request('alert.list')).alerts as unknown as Alert[];
    expect(held.map((a) => a.code)).toEqual([0x8f8a, 0x8f8a]);
    const heldIds = held.map((a) => a.id);
    expect((await hub.request('alert.ack', { ids: heldIds })).acked).toBe(2);
    expect((await hub.request('alert.list')).alerts).toEqual([]);
    expect((await hub.request('alert.ack', { ids: heldIds })).acked).toBe(0);
  }, 240000);
});
