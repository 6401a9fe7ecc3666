// OTA server semantics a real client relies on: page runs, pacing with WAIT_FOR_DATA, session slots,
// fair use of the radio, client quirks, version matching and activation (FACTS §2).
import { Alert, Job } from '../../host-tools/link/hub-protocol';
import {
  CMD_DEFAULT_RESPONSE,
  CMD_READ_ATTRIBUTES,
  CMD_READ_ATTRIBUTES_RESPONSE,
  decodeDefaultResponse,
  encodeReadAttributesResponse,
  FRAME_TYPE_GLOBAL,
  TYPE_UINT32,
} from '../../firmware/core/zcl-frame';
import { ImageBlockResponse, STATUS, zigbeeTime } from '../../firmware/core/zcl-ota';
import { Bench, HCALCS, IMAGE, MFR, NEW, NWK, PPMID, readyWith, TYPE } from '../helpers/core-bench';

const ID = { manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW };

function blocks(b: Bench, nwk: number): ImageBlockResponse[] {
  return b.radio.ota(nwk).filter((c): c is ImageBlockResponse => c.cmd === 0x05);
}

function started(cfg: Parameters<typeof readyWith>[0], ...euis: string[]): Bench {
  const b = readyWith(cfg, ...euis);
  b.ok('job.start', { image: 'fw', devices: euis });
  for (const eui of euis) b.query(NWK[eui]);
  b.radio.take();
  return b;
}

function blockRequest(b: Bench, eui: string, fileOffset: number, maxDataSize = 64, minimumBlockPeriod?: number): void {
  b.ota(NWK[eui], { cmd: 0x03, ...ID, fileOffset, maxDataSize, minimumBlockPeriod });
}

describe('Image Page Request', () => {
  test('serves pageSize bytes as blocks spaced by responseSpacing', () => {
    const b = started({}, PPMID);
    b.ota(NWK[PPMID], { cmd: 0x04, ...ID, fileOffset: 100, maxDataSize: 50, pageSize: 200, responseSpacing: 40 });
    expect(blocks(b, NWK[PPMID]).map((r) => r.block!.fileOffset)).toEqual([100]);
    b.advance(39);
    expect(blocks(b, NWK[PPMID])).toHaveLength(1); // spacing not yet passed
    b.advance(1);
    b.advance(40);
    b.advance(40);
    b.advance(40); // the page is over after 4 blocks
    const got = blocks(b, NWK[PPMID]);
    expect(got.map((r) => [r.block!.fileOffset, r.block!.data.length])).toEqual([
      [100, 50],
      [150, 50],
      [200, 50],
      [250, 50],
    ]);
    expect(Buffer.from(got.map((r) => Buffer.from(r.block!.data)).reduce((a, c) => Buffer.concat([a, c])))).toEqual(Buffer.from(IMAGE.subarray(100, 300)));
  });

  test('a new request cancels the rest of the page', () => {
    const b = started({}, PPMID);
    b.ota(NWK[PPMID], { cmd: 0x04, ...ID, fileOffset: 0, maxDataSize: 64, pageSize: 640, responseSpacing: 100 });
    b.advance(100);
    blockRequest(b, PPMID, 2000);
    b.advance(100);
    b.advance(100);
    expect(blocks(b, NWK[PPMID]).map((r) => r.block!.fileOffset)).toEqual([0, 64, 2000]);
  });

  test('the last page stops at the end of the image', () => {
    const b = started({}, PPMID);
    b.ota(NWK[PPMID], { cmd: 0x04, ...ID, fileOffset: IMAGE.length - 70, maxDataSize: 64, pageSize: 1024, responseSpacing: 0 });
    for (let i = 0; i < 5; i++) b.advance(10);
    expect(blocks(b, NWK[PPMID]).map((r) => r.block!.data.length)).toEqual([64, 6]);
  });
});

describe('pacing', () => {
  test('more clients than session slots are told WAIT_FOR_DATA with requestTime and minimumBlockPeriod, never silence', () => {
    const b = started({ maxSessions: 1, busyWaitS: 20 }, PPMID, HCALCS);
    blockRequest(b, PPMID, 0);
    blockRequest(b, HCALCS, 0);
    const [wait] = blocks(b, NWK[HCALCS]);
    expect(wait.status).toBe(STATUS.WAIT_FOR_DATA);
    expect(wait.wait!.requestTime - wait.wait!.currentTime).toBe(20);
    expect(wait.wait!.minimumBlockPeriod).toBeDefined();
    expect(blocks(b, NWK[PPMID])[0].status).toBe(STATUS.SUCCESS);
  });

  test('a slot frees when a transfer ends', () => {
    const b = started({ maxSessions: 1 }, PPMID, HCALCS);
    b.radio.take();
    b.download(NWK[PPMID], IMAGE.length);
    b.end(NWK[PPMID], STATUS.SUCCESS);
    b.radio.take();
    blockRequest(b, HCALCS, 0);
    expect(blocks(b, NWK[HCALCS])[0].status).toBe(STATUS.SUCCESS);
  });

  test('a client faster than the hub minimum block period is slowed with WAIT_FOR_DATA carrying that period', () => {
    const b = started({ minBlockPeriodMs: 500 }, PPMID);
    blockRequest(b, PPMID, 0);
    b.advance(100);
    blockRequest(b, PPMID, 64);
    const [first, second] = blocks(b, NWK[PPMID]);
    expect(first.status).toBe(STATUS.SUCCESS);
    expect(second.status).toBe(STATUS.WAIT_FOR_DATA);
    expect(second.wait).toMatchObject({ minimumBlockPeriod: 500 });
    expect(second.wait!.requestTime).toBe(second.wait!.currentTime);
    b.advance(500);
    blockRequest(b, PPMID, 64, 500); // the client adopted the period
    expect(blocks(b, NWK[PPMID])[2].status).toBe(STATUS.SUCCESS);
  });

  test('a client that paused our block period in seconds is told the period again, in seconds; a fast one again in ms', () => {
    const b = started({ minBlockPeriodMs: 500 }, PPMID);
    blockRequest(b, PPMID, 0);
    blockRequest(b, PPMID, 64);
    expect(blocks(b, NWK[PPMID])[1].wait).toMatchObject({ minimumBlockPeriod: 500 });
    blockRequest(b, PPMID, 64, 64, 500); // adopted "500"…
    b.advance(500 * 1000); // …as seconds
    b.radio.take();
    blockRequest(b, PPMID, 128, 64, 500);
    const [restated] = blocks(b, NWK[PPMID]);
    expect(restated.status).toBe(STATUS.WAIT_FOR_DATA);
    expect(restated.wait).toMatchObject({ minimumBlockPeriod: 1 });
    expect(restated.wait!.requestTime).toBe(restated.wait!.currentTime);
    b.radio.take();
    b.advance(1000);
    blockRequest(b, PPMID, 128, 64, 1); // one second later: served
    b.advance(1000);
    blockRequest(b, PPMID, 192, 64, 1);
    expect(blocks(b, NWK[PPMID]).map((r) => r.status)).toEqual([STATUS.SUCCESS, STATUS.SUCCESS]);
    b.radio.take();
    blockRequest(b, PPMID, 256, 64, 1); // too soon after all: it counts in ms, so say it in ms again
    expect(blocks(b, NWK[PPMID])[0].wait).toMatchObject({ minimumBlockPeriod: 500 });
  });

  test("page responses honour the client's stated minimum block period when it is longer than the spacing", () => {
    const b = started({}, PPMID);
    blockRequest(b, PPMID, 0, 64, 300);
    b.radio.take();
    b.ota(NWK[PPMID], { cmd: 0x04, ...ID, fileOffset: 64, maxDataSize: 64, pageSize: 256, responseSpacing: 10 });
    b.advance(100);
    b.advance(199);
    expect(blocks(b, NWK[PPMID])).toHaveLength(1);
    b.advance(1);
    expect(blocks(b, NWK[PPMID])).toHaveLength(2);
  });
});

describe('fair radio', () => {
  test("one client's burst of requests does not hold another device's answer behind it", () => {
    const b = started({ radioWindow: 1 }, PPMID, HCALCS);
    b.radio.autoConfirm = false;
    for (let i = 0; i < 5; i++) blockRequest(b, PPMID, i * 64); // five answers queue for the PPMID
    blockRequest(b, HCALCS, 0);
    for (let i = 0; i < 3; i++) {
      b.radio.confirmAll();
      b.advance(1);
    }
    // Round robin: the HCALCS's block goes second, not sixth.
    const blockOrder = b.radio.sent.filter((s) => s.frame.header.commandId === 0x05).map((s) => s.dst.nwk);
    expect(blockOrder).toEqual([NWK[PPMID], NWK[HCALCS], NWK[PPMID]]);
  });

  test('a frame the co-processor never confirms frees its radio slot after confirmTimeoutMs', () => {
    const b = started({ radioWindow: 1, confirmTimeoutMs: 1000 }, PPMID, HCALCS);
    b.radio.autoConfirm = false;
    blockRequest(b, PPMID, 0);
    blockRequest(b, HCALCS, 0);
    expect(b.radio.sent).toHaveLength(1);
    b.advance(1000);
    expect(b.radio.sent).toHaveLength(2);
  });
});

describe('client quirks', () => {
  test('repeated, out-of-order and odd-offset requests with changing maxDataSize get exactly the bytes asked for', () => {
    const b = started({}, PPMID);
    const asks: [number, number][] = [
      [0, 64],
      [0, 64],
      [1000, 33],
      [7, 50],
      [IMAGE.length - 5, 64],
    ];
    for (const [off, size] of asks) blockRequest(b, PPMID, off, size);
    const got = blocks(b, NWK[PPMID]);
    expect(got.map((r) => [r.block!.fileOffset, r.block!.data.length])).toEqual([
      [0, 64],
      [0, 64],
      [1000, 33],
      [7, 50],
      [IMAGE.length - 5, 5],
    ]);
    for (const r of got) expect(Buffer.from(r.block!.data)).toEqual(Buffer.from(IMAGE.subarray(r.block!.fileOffset, r.block!.fileOffset + r.block!.data.length)));
  });

  test('a client that goes silent fails its job with File Transfer Failure after the timeout', () => {
    const b = started({ silenceTimeoutMs: 60000 }, PPMID);
    blockRequest(b, PPMID, 0);
    b.advance(59000);
    expect(b.alerts()).toEqual([]);
    b.advance(2000);
    expect(b.alerts()).toEqual([expect.objectContaining({ code: 0x8f89, eui: PPMID, responseCode: 3 })]);
  });

  test('a block request for an image the hub is not giving the device gets NO_IMAGE_AVAILABLE', () => {
    const b = readyWith({}, PPMID);
    blockRequest(b, PPMID, 0);
    const [r] = b.radio.sent;
    expect(r.frame.header).toMatchObject({ frameType: FRAME_TYPE_GLOBAL, commandId: CMD_DEFAULT_RESPONSE });
    expect(decodeDefaultResponse(r.frame.payload)).toEqual({ commandId: 0x03, status: STATUS.NO_IMAGE_AVAILABLE });
  });

  test('a request for another version of the image gets NO_IMAGE_AVAILABLE, and the job carries on', () => {
    const b = started({}, PPMID);
    b.ota(NWK[PPMID], { cmd: 0x03, ...ID, fileVersion: NEW + 1, fileOffset: 0, maxDataSize: 64 });
    const [r] = b.radio.sent;
    expect(r.frame.header).toMatchObject({ frameType: FRAME_TYPE_GLOBAL, commandId: CMD_DEFAULT_RESPONSE });
    expect(decodeDefaultResponse(r.frame.payload)).toEqual({ commandId: 0x03, status: STATUS.NO_IMAGE_AVAILABLE });
    b.radio.take();
    blockRequest(b, PPMID, 0);
    expect(blocks(b, NWK[PPMID]).map((x) => x.status)).toEqual([STATUS.SUCCESS]);
  });

  test('an offset past the end of the image is aborted', () => {
    const b = started({}, PPMID);
    blockRequest(b, PPMID, IMAGE.length);
    expect(blocks(b, NWK[PPMID]).map((r) => r.status)).toEqual([STATUS.ABORT]);
  });

  test('Default Responses from clients are tolerated silently', () => {
    const b = started({}, PPMID);
    b.fromDevice(NWK[PPMID], FRAME_TYPE_GLOBAL, CMD_DEFAULT_RESPONSE, new Uint8Array([0x05, 0x00]));
    expect(b.radio.sent).toEqual([]);
    expect((b.ok('job.list').jobs as unknown as Job[])[0].state).toBe('transferring');
  });
});

describe('version matching', () => {
  test('a device already on the version (or newer) is refused unless the job says force', () => {
    const b = readyWith({}, PPMID);
    b.ok('job.start', { image: 'fw', devices: [PPMID] });
    b.ota(NWK[PPMID], { cmd: 0x01, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, hardwareVersion: 2 });
    expect(b.radio.ota(NWK[PPMID]).pop()).toMatchObject({ cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE });
    expect(b.alerts()).toEqual([expect.objectContaining({ code: 0x8f89, responseCode: 1 })]);

    b.ok('job.start', { image: 'fw', devices: [PPMID], force: true });
    b.ota(NWK[PPMID], { cmd: 0x01, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, hardwareVersion: 2 });
    expect(b.radio.ota(NWK[PPMID]).pop()).toMatchObject({ cmd: 0x02, status: STATUS.SUCCESS });
  });

  test('a different manufacturer or image type is refused with Hardware Version Mismatch before any block', () => {
    const b = readyWith({}, PPMID);
    b.ok('job.start', { image: 'fw', devices: [PPMID] });
    b.ota(NWK[PPMID], { cmd: 0x01, manufacturerCode: MFR + 1, imageType: TYPE, fileVersion: 1, hardwareVersion: 2 });
    expect(blocks(b, NWK[PPMID])).toEqual([]);
    expect(b.alerts()).toEqual([expect.objectContaining({ code: 0x8f89, responseCode: 2 })]);
  });
});

describe('activation', () => {
  test('an HCALCS activation at a later time: Upgrade End Response with that upgradeTime, then a version read after it', () => {
    const b = started({ activationSettleMs: 5000 }, HCALCS);
    b.download(NWK[HCALCS], IMAGE.length);
    b.end(NWK[HCALCS], STATUS.SUCCESS);
    b.radio.take();
    const at = b.now + 60000;
    b.ok('activate', { eui: HCALCS, at });
    const end = b.radio.ota(NWK[HCALCS]).pop();
    expect(end).toMatchObject({ cmd: 0x07, upgradeTime: zigbeeTime(at), currentTime: zigbeeTime(b.now) });
    b.radio.take();
    b.advance(60000);
    expect(b.radio.sent).toEqual([]); // still settling
    b.advance(5000);
    expect(b.radio.sent.map((s) => [s.frame.header.frameType, s.frame.header.commandId])).toEqual([[FRAME_TYPE_GLOBAL, 0x00]]);
  });

  /** An HCALCS that holds the image, told to activate now; what the hub sent is taken. */
  function activating(settle = 5000): Bench {
    const b = started({ activationSettleMs: settle }, HCALCS);
    b.download(NWK[HCALCS], IMAGE.length);
    b.end(NWK[HCALCS], STATUS.SUCCESS);
    b.ok('activate', { eui: HCALCS });
    b.radio.take();
    return b;
  }
  const reads = (b: Bench) => b.radio.take().filter((s) => s.frame.header.frameType === FRAME_TYPE_GLOBAL && s.frame.header.commandId === CMD_READ_ATTRIBUTES);
  const runs = (b: Bench, v: number) => b.fromDevice(NWK[HCALCS], FRAME_TYPE_GLOBAL, CMD_READ_ATTRIBUTES_RESPONSE, encodeReadAttributesResponse([{ id: 0x0002, status: 0, type: TYPE_UINT32, value: v }]));

  test('an activation the device missed is sent again, now, until the device runs the image', () => {
    const b = activating();
    const job = (b.ok('job.list').jobs as unknown as Job[])[0];
    // The Upgrade End Response was lost: after the settle time the device still runs the old version.
    b.advance(5000);
    expect(reads(b)).toHaveLength(1);
    runs(b, 1);
    const [again] = b.radio.ota(NWK[HCALCS]);
    expect(again).toMatchObject({ cmd: 0x07, fileVersion: NEW, currentTime: zigbeeTime(b.now), upgradeTime: zigbeeTime(b.now) });
    expect(b.job(job.id).state).toBe('activating');
    b.radio.take();
    b.advance(5000);
    expect(reads(b)).toHaveLength(1);
    runs(b, NEW);
    expect(b.alerts().filter((a) => a.code === 0x8f8b)).toEqual([expect.objectContaining({ fileVersion: NEW, activationStatus: 0 })]);
    expect(b.job(job.id).state).toBe('done');
  });

  test('a device that never runs the image ends in 0x8F8B activation status 1 after 5 tries, its version reads unanswered or old', () => {
    const b = activating(1000);
    let told = 0;
    for (let t = 0; t < 200 && b.alerts().every((a) => a.code !== 0x8f8b); t++) {
      b.advance(1000);
      const sent = b.radio.take();
      told += sent.filter((s) => s.frame.header.frameType !== FRAME_TYPE_GLOBAL && s.frame.header.commandId === 0x07).length;
      // Every other read is answered, with the old version; the rest go unanswered.
      if (sent.some((s) => s.frame.header.frameType === FRAME_TYPE_GLOBAL && s.frame.header.commandId === CMD_READ_ATTRIBUTES) && t % 2) runs(b, 1);
    }
    expect(told).toBe(4); // the first activation was taken by activating(); 4 more
    expect(b.alerts().filter((a) => a.code === 0x8f8b)).toEqual([expect.objectContaining({ eui: HCALCS, activationStatus: 1 })]);
    expect((b.ok('job.list').jobs as unknown as Job[])[0].state).toBe('done');
  });

  test('a repeated Upgrade End Request while activating hears the activation time, not a Default Response', () => {
    const b = started({}, HCALCS);
    b.download(NWK[HCALCS], IMAGE.length);
    b.end(NWK[HCALCS], STATUS.SUCCESS);
    const at = b.now + 120000;
    b.ok('activate', { eui: HCALCS, at });
    b.radio.take();
    b.now += 1000;
    b.end(NWK[HCALCS], STATUS.SUCCESS);
    expect(b.radio.ota(NWK[HCALCS])).toEqual([expect.objectContaining({ cmd: 0x07, fileVersion: NEW, currentTime: zigbeeTime(b.now), upgradeTime: zigbeeTime(at) })]);
  });

  test('an unanswered version read ends in 0x8F8B with activation status 1, after retries', () => {
    const b = started({ versionReadTimeoutMs: 9000 }, PPMID);
    b.radio.take();
    b.ok('version.read', { eui: PPMID });
    for (let t = 0; t < 10; t++) b.advance(1000);
    expect(b.radio.sent.filter((s) => s.frame.header.commandId === 0x00 && s.frame.header.frameType === FRAME_TYPE_GLOBAL)).toHaveLength(3);
    expect(b.alerts().filter((a: Alert) => a.code === 0x8f8b)).toEqual([expect.objectContaining({ eui: PPMID, activationStatus: 1 })]);
  });
});

describe('job.cancel', () => {
  test('a transferring job fails with 0x8F89 File Transfer Failure, and its device gets no more blocks', () => {
    const b = started({}, PPMID);
    blockRequest(b, PPMID, 0);
    const job = (b.ok('job.list').jobs as unknown as Job[])[0];
    expect(job.state).toBe('transferring');
    expect(b.ok('job.cancel', { id: job.id }).job).toMatchObject({ id: job.id, state: 'failed', code: 3 });
    expect(b.alerts()).toEqual([expect.objectContaining({ code: 0x8f89, eui: PPMID, responseCode: 3 })]);
    b.radio.take();
    blockRequest(b, PPMID, 64);
    expect(blocks(b, NWK[PPMID]).filter((r) => r.status === STATUS.SUCCESS)).toEqual([]);
    // The hub holds room for another job: one can start again.
    expect(b.ok('job.start', { image: 'fw', devices: [PPMID] }).jobs).toEqual([expect.objectContaining({ state: 'queued' })]);
  });

  test('a transferred HCALCS job ends without an alert of its own and is not activated; unknown and finished jobs are refused', () => {
    const b = started({}, HCALCS);
    b.download(NWK[HCALCS], IMAGE.length);
    b.end(NWK[HCALCS], STATUS.SUCCESS);
    b.radio.take();
    const job = (b.ok('job.list').jobs as unknown as Job[])[0];
    expect(b.ok('job.cancel', { id: job.id }).job).toMatchObject({ state: 'done' });
    expect(b.alerts().map((a) => a.code)).toEqual([0x8f8a]);
    expect(b.request('activate', { eui: HCALCS })).toMatchObject({ ok: false, err: 'NOTHING_HELD' });
    expect(b.request('job.cancel', { id: job.id })).toMatchObject({ ok: false, err: 'JOB_OVER', msg: `job #${job.id} is already done; nothing to cancel` });
    expect(b.request('job.cancel', { id: 999 })).toMatchObject({ ok: false, err: 'UNKNOWN_JOB' });
  });
});
