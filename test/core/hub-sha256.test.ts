// job.start's sha256 (the hash a GBCS command names, docs/host-link.md "Image hash") on the hub core: a stored
// image that differs fails every job at once with 0x8F89 Image Discarded and not one radio frame; a match
// serves as before; a board can require the hash.
import { createHash } from 'crypto';
import * as zlib from 'zlib';
import { Err, Op } from '../../firmware/core/codes';
import { encodeFrame, FrameReader } from '../../firmware/core/wire';
import { STATUS } from '../../firmware/core/zcl-ota';
import { decodeBody, encodeBody } from '../../host-tools/link/cbor-codec';
import { ERRORS, euiToWire, Job } from '../../host-tools/link/hub-protocol';
import { Bench, HCALCS, IMAGE, MFR, NEW, NWK, PPMID, readyWith, TYPE } from '../helpers/core-bench';

const RIGHT = new Uint8Array(createHash('sha256').update(IMAGE).digest());
const WRONG = RIGHT.map((b, i) => (i === 31 ? b ^ 1 : b));

describe('job.start with the sha256 of a stored image', () => {
  test('that differs: each job is created failed (0x8F89, response code 1), and no frame goes to a device, then or later', () => {
    const b = readyWith({}, PPMID, HCALCS);
    b.radio.take();
    const jobs = b.ok('job.start', { image: 'fw', devices: [PPMID, HCALCS], sha256: WRONG }).jobs as unknown as Job[];
    expect(jobs).toEqual([expect.objectContaining({ eui: PPMID, state: 'failed', code: 1 }), expect.objectContaining({ eui: HCALCS, state: 'failed', code: 1 })]);
    expect(b.alerts()).toEqual([
      expect.objectContaining({ code: 0x8f89, eui: PPMID, responseCode: 1, fileVersion: NEW }),
      expect.objectContaining({ code: 0x8f89, eui: HCALCS, responseCode: 1, fileVersion: NEW }),
    ]);
    for (let t = 0; t < 10; t++) b.advance(1000);
    b.announce(PPMID); // a rejoin is no reason to notify it
    expect(b.radio.sent).toEqual([]);
    // A device that asks anyway is offered nothing.
    b.query(NWK[PPMID]);
    expect(b.radio.ota(NWK[PPMID])).toEqual([expect.objectContaining({ cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE })]);
    // The devices are free for a distribution of the right image.
    expect(b.ok('job.start', { image: 'fw', devices: [PPMID], sha256: RIGHT }).jobs).toEqual([expect.objectContaining({ state: 'queued' })]);
  });

  test('that matches: the jobs start as without it, and the image is served whole', () => {
    const b = readyWith({}, PPMID);
    b.radio.take();
    const [job] = b.ok('job.start', { image: 'fw', devices: [PPMID], sha256: RIGHT }).jobs as unknown as Job[];
    expect(job).toMatchObject({ state: 'queued' });
    expect(b.radio.ota(NWK[PPMID]).map((c) => c.cmd)).toEqual([0x00]); // Image Notify
    b.query(NWK[PPMID]);
    expect(b.download(NWK[PPMID], IMAGE.length)).toEqual(IMAGE);
    b.end(NWK[PPMID], STATUS.SUCCESS);
    expect(b.alerts()).toEqual([expect.objectContaining({ code: 0x8f8a, eui: PPMID, responseCode: 0 })]);
  });

  test('a refused job.start hashes nothing and starts nothing', () => {
    const b = readyWith({}, PPMID);
    const hashed = jest.spyOn(b.images, 'sha256');
    expect(b.request('job.start', { image: 'fw', devices: [PPMID, '000D6F00000000EE'], sha256: WRONG })).toMatchObject({ ok: false, err: 'UNKNOWN_DEVICE' });
    expect(hashed).not.toHaveBeenCalled();
    expect(b.ok('job.list').jobs).toEqual([]);
    expect(b.alerts()).toEqual([]);
  });
});

describe('the sha256 argument on the wire', () => {
  /** A raw request array, past chub's own checks; the hub's reply array. */
  function raw(b: Bench, items: unknown[]): unknown[] {
    const crc = (x: Uint8Array) => zlib.crc32(x) >>> 0;
    const replies: unknown[][] = [];
    const reader = new FrameReader(crc);
    const send = b.hub.p.sendHost;
    b.hub.p.sendHost = (f) => {
      for (const body of reader.push(new Uint8Array(f))) replies.push(decodeBody(body) as unknown[]);
    };
    b.hub.host(encodeFrame(encodeBody(items), crc), b.now);
    b.hub.p.sendHost = send;
    return replies.find((r) => r[0] === 9) as unknown[];
  }

  test.each([31, 33, 0])('%i bytes is BAD_ARGS at index 2, and nothing starts', (n) => {
    const b = readyWith({}, PPMID);
    expect(raw(b, [9, Op.JobStart, 'fw', 0, new Uint8Array(n), euiToWire(PPMID)])).toEqual([9, Err.BAD_ARGS, 2]);
    expect(b.ok('job.list').jobs).toEqual([]);
  });

  test('chub refuses to send anything but 32 bytes', () => {
    const b = readyWith({}, PPMID);
    expect(b.request('job.start', { image: 'fw', devices: [PPMID], sha256: new Uint8Array(20) })).toMatchObject({ ok: false, err: 'BAD_ARGS', msg: '"sha256" must be a SHA-256: 32 bytes' });
  });
});

describe('a board that requires the sha256 (requireSha256)', () => {
  test('refuses job.start without one (NO_SHA256, worded by chub) and starts nothing; takes one with it', () => {
    const b = readyWith({ requireSha256: true }, PPMID);
    const r = b.request('job.start', { image: 'fw', devices: [PPMID] });
    expect(r).toMatchObject({ ok: false, err: 'NO_SHA256', msg: expect.stringContaining('--sha256') });
    expect(r.msg).toBe(ERRORS[Err.NO_SHA256].text([], {}));
    expect(b.ok('job.list').jobs).toEqual([]);
    expect(b.ok('job.start', { image: 'fw', devices: [PPMID], sha256: RIGHT }).jobs).toEqual([expect.objectContaining({ state: 'queued' })]);
  });

  test('takes a streamed image with a hash as checked by the host that streams it (the hub holds none of it to hash)', () => {
    const b = new Bench({ requireSha256: true }, false);
    b.ok('img.stream', { name: 'fw', size: IMAGE.length, crc: zlib.crc32(IMAGE) >>> 0, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW });
    b.ok('dev.add', { eui: PPMID, type: 'PPMID' });
    b.announce(PPMID);
    expect(b.request('job.start', { image: 'fw', devices: [PPMID] })).toMatchObject({ ok: false, err: 'NO_SHA256' });
    expect(b.ok('job.start', { image: 'fw', devices: [PPMID], sha256: WRONG }).jobs).toEqual([expect.objectContaining({ state: 'queued' })]);
  });
});
