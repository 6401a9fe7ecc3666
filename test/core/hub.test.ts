// The hub core with in-memory ports: what it sends on the radio and tells the host for each input.
import * as zlib from 'zlib';
import { Alert, Job, Value as CborValue } from '../../host-tools/link/hub-protocol';
import {
  CMD_DEFAULT_RESPONSE,
  CMD_READ_ATTRIBUTES,
  CMD_READ_ATTRIBUTES_RESPONSE,
  decodeDefaultResponse,
  encodeReadAttributesResponse,
  FRAME_TYPE_CLUSTER,
  FRAME_TYPE_GLOBAL,
  TYPE_UINT32,
} from '../../firmware/core/zcl-frame';
import { STATUS, UPGRADE_TIME_WAIT } from '../../firmware/core/zcl-ota';
import { DEFAULT_CONFIG, Hub } from '../../firmware/core/hub';
import { CoreLink } from '../../host-tools/link/core-link';
import { MemoryKeyValueStore } from '../../host-tools/sim/memory-stores';
import { Bench, coreHub, FakeRadio, HCALCS, IMAGE, MFR, NEW, NWK, PPMID, ready, readyWith, TYPE } from '../helpers/core-bench';

describe('device log', () => {
  test('a device not in the log gets NOT_AUTHORIZED and no image, however it asks', () => {
    const b = ready();
    b.announce(PPMID);
    b.query(NWK[PPMID]);
    b.ota(NWK[PPMID], { cmd: 0x03, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, fileOffset: 0, maxDataSize: 64 });
    const answers = b.radio.sent.map((s) => [s.frame.header.frameType, s.frame.header.commandId, s.frame.payload[s.frame.payload.length - 1]]);
    expect(answers).toEqual([
      [1, 0x02, STATUS.NOT_AUTHORIZED], // Query Next Image Response NOT_AUTHORIZED
      [0, 0x0b, STATUS.NOT_AUTHORIZED], // Default Response to the block request
    ]);
    expect(b.events('log').map((m) => m.msg).join('\n')).toMatch(/not in the device log/);
  });

  test('a listed device gets a Default Response for a server-to-client command, an unknown one or a malformed one (ZCL §2.5.12)', () => {
    const b = ready();
    b.ok('dev.add', { eui: PPMID, type: 'PPMID' });
    b.announce(PPMID);
    b.radio.take();
    b.ota(NWK[PPMID], { cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE }); // a Query Next Image Response, sent to the server
    b.fromDevice(NWK[PPMID], FRAME_TYPE_CLUSTER, 0x09, new Uint8Array(0)); // past the OTA cluster's commands
    b.fromDevice(NWK[PPMID], FRAME_TYPE_CLUSTER, 0x03, new Uint8Array(3)); // an Image Block Request cut short
    const answers = b.radio.take().map((s) => [s.frame.header.frameType, s.frame.header.commandId, Buffer.from(s.frame.payload).toString('hex')]);
    expect(answers).toEqual([
      [0, 0x0b, '02' + STATUS.UNSUP_COMMAND.toString(16)],
      [0, 0x0b, '09' + STATUS.UNSUP_COMMAND.toString(16)],
      [0, 0x0b, '03' + STATUS.MALFORMED_COMMAND.toString(16)],
    ]);
  });

  test('a device that joined before it was added is served once added', () => {
    const b = ready();
    b.announce(PPMID);
    b.ok('dev.add', { eui: PPMID, type: 'PPMID' });
    expect((b.ok('dev.list').devices as unknown as { nwk: number }[])[0].nwk).toBe(NWK[PPMID]);
    b.ok('job.start', { image: 'fw', devices: [PPMID] });
    expect(b.radio.ota(NWK[PPMID]).map((c) => c.cmd)).toEqual([0x00]); // Image Notify
  });

  test('a listed device whose announce was lost is looked up (once per 30 s) and served from its next request', () => {
    const b = ready();
    b.ok('dev.add', { eui: PPMID, type: 'PPMID' });
    b.ok('job.start', { image: 'fw', devices: [PPMID] });
    b.query(NWK[PPMID]);
    b.query(NWK[PPMID]);
    expect(b.radio.ota(NWK[PPMID]).map((c) => c.cmd === 0x02 && c.status)).toEqual([STATUS.NOT_AUTHORIZED, STATUS.NOT_AUTHORIZED]);
    expect(b.radio.lookups).toEqual([NWK[PPMID]]);
    b.advance(29999);
    b.query(NWK[PPMID]);
    expect(b.radio.lookups).toHaveLength(1);
    b.advance(1);
    b.query(NWK[PPMID]);
    expect(b.radio.lookups).toEqual([NWK[PPMID], NWK[PPMID]]);
    b.radio.take();
    b.address(NWK[PPMID], PPMID);
    expect(b.radio.ota(NWK[PPMID]).map((c) => c.cmd)).toEqual([0x00]); // Image Notify: its job is waiting
    expect((b.ok('dev.list').devices as unknown as { nwk: number }[])[0].nwk).toBe(NWK[PPMID]);
    b.query(NWK[PPMID]);
    expect(b.radio.ota(NWK[PPMID]).pop()).toMatchObject({ cmd: 0x02, status: STATUS.SUCCESS });
  });

  test('a looked-up device that is not in the log still gets NOT_AUTHORIZED', () => {
    const b = ready();
    b.query(NWK[PPMID]);
    b.address(NWK[PPMID], PPMID);
    b.radio.take();
    b.query(NWK[PPMID]);
    expect(b.radio.ota(NWK[PPMID])).toEqual([{ cmd: 0x02, status: STATUS.NOT_AUTHORIZED }]);
    expect(b.radio.lookups).toEqual([NWK[PPMID]]); // asked once; the answer did not change the log
    b.advance(600000);
    b.query(NWK[PPMID]);
    expect(b.radio.lookups).toHaveLength(1); // known by its EUI-64: never asked again
  });

  test('an address whose lookups go unanswered is looked up ever less often: 30 s, then twice as long each time, up to 16 min', () => {
    const b = ready();
    const t0 = b.now;
    const asked: number[] = [];
    for (let t = 0; t <= 3000; t += 10) {
      b.now = t0 + t * 1000;
      const before = b.radio.lookups.length;
      b.query(0x7777);
      if (b.radio.lookups.length > before) asked.push(t);
    }
    expect(asked).toEqual([0, 30, 90, 210, 450, 930, 1890, 2850]);
  });

  test('a bad EUI is refused with BAD_EUI naming it', () => {
    const r = new Bench().request('dev.add', { eui: '12345', type: 'PPMID' });
    expect(r).toMatchObject({ ok: false, err: 'BAD_EUI' });
    expect(r.msg).toContain('12345');
  });

  test('a full device log is an error the host sees, and the log is unchanged', () => {
    const b = new Bench({ maxDevices: 2 });
    b.ok('dev.add', { eui: PPMID, type: 'PPMID' });
    b.ok('dev.add', { eui: HCALCS, type: 'HCALCS' });
    const r = b.request('dev.add', { eui: '000D6F0000000003', type: 'PPMID' });
    expect(r).toMatchObject({ ok: false, err: 'LOG_FULL' });
    expect(r.msg).toMatch(/full \(2 devices\)/);
    expect((b.ok('dev.list').devices as unknown as { eui: string }[]).map((d) => d.eui).sort()).toEqual([PPMID, HCALCS]);
  });
});

describe('image upload', () => {
  test('img.begin again for the same file resumes where the upload stopped', () => {
    const b = new Bench();
    const args = { name: 'fw', size: IMAGE.length, crc: zlib.crc32(IMAGE) >>> 0 };
    expect(b.ok('img.begin', args).next).toBe(0);
    b.ok('img.data', { name: 'fw', off: 0, d: IMAGE.subarray(0, 1024) });
    b.ok('img.data', { name: 'fw', off: 1024, d: IMAGE.subarray(1024, 2048) });
    expect(b.ok('img.begin', args).next).toBe(2048);
    for (let off = 2048; off < IMAGE.length; off += 1024) b.ok('img.data', { name: 'fw', off, d: IMAGE.subarray(off, off + 1024) });
    expect(b.ok('img.end', { name: 'fw' }).image).toMatchObject({ complete: true, fileVersion: NEW, minHw: 1, maxHw: 3 });
    expect(b.ok('img.begin', args).next).toBe(IMAGE.length);
  });

  test('data at the wrong offset is OUT_OF_ORDER and says where to resume', () => {
    const b = new Bench();
    b.ok('img.begin', { name: 'fw', size: IMAGE.length, crc: zlib.crc32(IMAGE) >>> 0 });
    b.ok('img.data', { name: 'fw', off: 0, d: IMAGE.subarray(0, 1000) });
    expect(b.request('img.data', { name: 'fw', off: 2000, d: IMAGE.subarray(2000, 3000) })).toMatchObject({ ok: false, err: 'OUT_OF_ORDER', next: 1000 });
  });

  test('a hub built to stream only refuses uploads with NOT_STORED and holds nothing', () => {
    const b = new Bench({}, false);
    const refused = [
      b.request('img.begin', { name: 'fw', size: IMAGE.length, crc: zlib.crc32(IMAGE) >>> 0 }),
      b.request('img.data', { name: 'fw', off: 0, d: IMAGE.subarray(0, 64) }),
      b.request('img.end', { name: 'fw' }),
    ];
    expect(refused.map((r) => r.err)).toEqual(['NOT_STORED', 'NOT_STORED', 'NOT_STORED']);
    expect(String(refused[0].msg)).toMatch(/chub distribute --stream/);
    expect(b.ok('img.list').images).toEqual([]);
    expect(b.images.files.size).toBe(0);
  });

  test('a CRC mismatch discards the image', () => {
    const b = new Bench();
    b.ok('img.begin', { name: 'fw', size: IMAGE.length, crc: (zlib.crc32(IMAGE) + 1) >>> 0 });
    for (let off = 0; off < IMAGE.length; off += 1024) b.ok('img.data', { name: 'fw', off, d: IMAGE.subarray(off, off + 1024) });
    expect(b.request('img.end', { name: 'fw' })).toMatchObject({ ok: false, err: 'CRC_MISMATCH' });
    expect(b.ok('img.list').images).toEqual([]);
    expect(b.images.files.size).toBe(0);
    expect(b.request('job.start', { image: 'fw', devices: [PPMID] })).toMatchObject({ ok: false, err: 'UNKNOWN_IMAGE' });
  });
});

describe('transfer jobs', () => {
  test('PPMID: notify, query, blocks, end → 0x8F8A and activation at once', () => {
    const b = ready(PPMID);
    const [job] = b.ok('job.start', { image: 'fw', devices: [PPMID] }).jobs as unknown as Job[];
    expect(job.state).toBe('queued');
    expect(b.radio.ota(NWK[PPMID])).toEqual([{ cmd: 0x00, payloadType: 0, queryJitter: 100 }]);
    b.radio.take();
    b.query(NWK[PPMID]);
    expect(b.radio.ota(NWK[PPMID])).toEqual([
      { cmd: 0x02, status: STATUS.SUCCESS, image: { manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, imageSize: IMAGE.length } },
    ]);
    expect(b.job(job.id).state).toBe('transferring');
    expect(b.download(NWK[PPMID], IMAGE.length)).toEqual(IMAGE);
    b.radio.take();
    b.end(NWK[PPMID], STATUS.SUCCESS);
    const [resp] = b.radio.ota(NWK[PPMID]);
    expect(resp).toMatchObject({ cmd: 0x07, fileVersion: NEW });
    if (resp.cmd === 0x07) expect(resp.upgradeTime).toBe(resp.currentTime); // run it now
    expect(b.alerts()).toEqual([expect.objectContaining({ code: 0x8f8a, eui: PPMID, fileVersion: NEW, responseCode: 0 })]);
    expect(b.job(job.id)).toMatchObject({ state: 'done', off: IMAGE.length });
  });

  test('a hub holds at most maxJobs unfinished jobs: a job.start past it is FULL and starts none; room comes back as jobs end', () => {
    const THIRD = '000D6F0000000003';
    const b = readyWith({ maxJobs: 2 }, PPMID, HCALCS);
    b.ok('dev.add', { eui: THIRD, type: 'PPMID' });
    expect(b.ok('hello').maxJobs).toBe(2);
    const r = b.request('job.start', { image: 'fw', devices: [PPMID, HCALCS, THIRD] });
    expect(r).toMatchObject({ ok: false, err: 'FULL' });
    expect(r.msg).toBe('room for 2: 0 running, 0 alerts to ack');
    expect(b.ok('job.list').jobs).toEqual([]); // all or none
    const [job] = b.ok('job.start', { image: 'fw', devices: [PPMID, HCALCS] }).jobs as unknown as Job[];
    expect(b.request('job.start', { image: 'fw', devices: [THIRD] })).toMatchObject({ ok: false, err: 'FULL' });
    b.query(NWK[PPMID]);
    b.download(NWK[PPMID], IMAGE.length);
    b.end(NWK[PPMID], STATUS.SUCCESS);
    expect(b.job(job.id).state).toBe('done');
    expect(b.ok('job.start', { image: 'fw', devices: [THIRD] }).jobs).toEqual([expect.objectContaining({ eui: THIRD, state: 'queued' })]);
  });

  test('job.start is FULL while maxAlerts alerts (with those running jobs will raise) await acknowledgement; an ack makes room', () => {
    const b = readyWith({ maxJobs: 2, maxAlerts: 2 }, PPMID, HCALCS);
    expect(b.ok('hello').maxAlerts).toBe(2);
    b.ok('job.start', { image: 'fw', devices: [PPMID] });
    b.query(NWK[PPMID]);
    b.download(NWK[PPMID], IMAGE.length);
    b.end(NWK[PPMID], STATUS.SUCCESS);
    b.ok('job.start', { image: 'fw', devices: [PPMID], force: true }); // 1 alert held + 1 running = 2
    const r = b.request('job.start', { image: 'fw', devices: [HCALCS] });
    expect(r).toMatchObject({ ok: false, err: 'FULL' });
    expect(r.msg).toBe('room for 0: 1 running, 1 alerts to ack');
    b.ok('alert.ack', { ids: b.alerts().map((a) => a.id) });
    expect(b.ok('job.start', { image: 'fw', devices: [HCALCS] }).jobs).toEqual([expect.objectContaining({ eui: HCALCS, state: 'queued' })]);
  });

  test('HCALCS: holds the image until activate, done once it reports the new version', () => {
    const b = ready(HCALCS);
    const nwk = NWK[HCALCS];
    const [job] = b.ok('job.start', { image: 'fw', devices: [HCALCS] }).jobs as unknown as Job[];
    b.query(nwk);
    b.download(nwk, IMAGE.length);
    b.radio.take();
    b.end(nwk, STATUS.SUCCESS);
    expect(b.radio.ota(nwk)).toEqual([expect.objectContaining({ cmd: 0x07, upgradeTime: UPGRADE_TIME_WAIT })]);
    expect(b.job(job.id).state).toBe('transferred');
    expect(b.alerts().map((a) => a.code)).toEqual([0x8f8a]);

    b.radio.take();
    b.now += 1000;
    b.ok('activate', { eui: HCALCS });
    const [act] = b.radio.ota(nwk);
    expect(act).toMatchObject({ cmd: 0x07, fileVersion: NEW });
    if (act.cmd === 0x07) expect(act.upgradeTime).toBe(act.currentTime);
    expect(b.job(job.id).state).toBe('activating');

    b.radio.take();
    b.advance(0); // the co-processor confirms the frames sent: the radio window is free again
    b.ok('version.read', { eui: HCALCS });
    const [read] = b.radio.take();
    expect(read.frame.header).toMatchObject({ frameType: FRAME_TYPE_GLOBAL, commandId: CMD_READ_ATTRIBUTES });
    b.fromDevice(nwk, FRAME_TYPE_GLOBAL, CMD_READ_ATTRIBUTES_RESPONSE, encodeReadAttributesResponse([{ id: 0x0002, status: 0, type: TYPE_UINT32, value: NEW }]));
    expect(b.alerts()[1]).toMatchObject({ code: 0x8f8b, eui: HCALCS, fileVersion: NEW, activationStatus: 0 });
    expect(b.job(job.id).state).toBe('done');
  });

  test('Upgrade End with INVALID_IMAGE → 0x8F89 Image Discarded and a Default Response, not an Upgrade End Response', () => {
    const b = ready(PPMID);
    const nwk = NWK[PPMID];
    const [job] = b.ok('job.start', { image: 'fw', devices: [PPMID] }).jobs as unknown as Job[];
    b.query(nwk);
    b.download(nwk, IMAGE.length);
    b.radio.take();
    b.end(nwk, STATUS.INVALID_IMAGE);
    const sent = b.radio.take();
    expect(sent).toHaveLength(1);
    expect(sent[0].frame.header).toMatchObject({ frameType: FRAME_TYPE_GLOBAL, commandId: CMD_DEFAULT_RESPONSE });
    expect(decodeDefaultResponse(sent[0].frame.payload)).toEqual({ commandId: 0x06, status: STATUS.SUCCESS });
    expect(b.alerts()).toEqual([expect.objectContaining({ code: 0x8f89, eui: PPMID, responseCode: 1 })]);
    expect(b.job(job.id)).toMatchObject({ state: 'failed', code: 1 });
  });

  test('a device whose hardware version is outside the image range → 0x8F89 code 2 before any block', () => {
    const b = ready(PPMID);
    const nwk = NWK[PPMID];
    const [job] = b.ok('job.start', { image: 'fw', devices: [PPMID] }).jobs as unknown as Job[];
    b.radio.take();
    b.query(nwk, 7);
    expect(b.radio.ota(nwk)).toEqual([{ cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE }]);
    b.ota(nwk, { cmd: 0x03, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, fileOffset: 0, maxDataSize: 64 });
    expect(b.radio.ota(nwk).filter((c) => c.cmd === 0x05 && c.status === STATUS.SUCCESS)).toEqual([]);
    expect(b.alerts()).toEqual([expect.objectContaining({ code: 0x8f89, eui: PPMID, responseCode: 2 })]);
    expect(b.job(job.id)).toMatchObject({ state: 'failed', code: 2, off: 0 });
  });
});

describe('alerts', () => {
  test('are held until acknowledged, and a repeated ack is harmless', () => {
    const b = ready(PPMID);
    b.ok('job.start', { image: 'fw', devices: [PPMID] });
    b.query(NWK[PPMID], 9); // hardware mismatch raises one alert
    const held = b.ok('alert.list').alerts as unknown as Alert[];
    expect(held).toHaveLength(1);
    expect(b.ok('alert.ack', { ids: [held[0].id] as CborValue }).acked).toBe(1);
    expect(b.ok('alert.ack', { ids: [held[0].id] as CborValue }).acked).toBe(0);
    expect(b.ok('alert.list').alerts).toEqual([]);
  });

  test('survive a restart of the hub (kept in the key-value store)', () => {
    const b = ready(PPMID);
    b.ok('job.start', { image: 'fw', devices: [PPMID] });
    b.query(NWK[PPMID], 9);
    const again = new CoreLink(() => undefined);
    const hub = coreHub(new FakeRadio(), b.images, b.kv, again.fromHub, {});
    expect(again.request(hub, 'alert.list', {}, b.now).alerts).toEqual([expect.objectContaining({ code: 0x8f89, responseCode: 2 })]);
  });

  /** The ledger file with its job rows rewritten by `row` (each job row's cells, little-endian, to the new row's
   *  float64 cells): [rows u32, width u32], the header's 4 float64 cells (next job, next alert, jobs, alerts), the
   *  job rows, then the rest (alert cells, EUI-64s, names) as it was. */
  function relaid(ledger: Uint8Array, cells: number, row: (v: DataView, at: number) => number[]): Uint8Array {
    const dv = new DataView(ledger.buffer, ledger.byteOffset, ledger.length);
    const jobs = dv.getFloat64(8 + 16, true);
    const width = (dv.getUint32(4, true) - 4) / jobs;
    const out = new Uint8Array(ledger.length + jobs * (cells - width) * 8);
    const odv = new DataView(out.buffer);
    out.set(ledger.subarray(0, 40));
    odv.setUint32(4, 4 + jobs * cells, true);
    for (let r = 0; r < jobs; r++) row(dv, 40 + r * width * 8).forEach((x, i) => odv.setFloat64(40 + (r * cells + i) * 8, x, true));
    out.set(ledger.subarray(40 + jobs * width * 8), 40 + jobs * cells * 8);
    return out;
  }

  test("survive a firmware update from the job rows' layout before this one: the jobs are converted, go on, and end in their alerts", () => {
    const b = ready(PPMID, HCALCS);
    const [job] = b.ok('job.start', { image: 'fw', devices: [PPMID] }).jobs as unknown as Job[];
    b.advance(1000); // started and updated differ
    b.query(NWK[PPMID]);
    b.ok('job.start', { image: 'fw', devices: [HCALCS] });
    b.query(NWK[HCALCS], 9); // hardware mismatch: an alert, held
    for (let off = 0; off < 640; off += 64) b.ota(NWK[PPMID], { cmd: 0x03, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, fileOffset: off, maxDataSize: 64 });
    expect(b.job(job.id)).toMatchObject({ state: 'transferring', off: 640 });
    // What a restart on this layout reads back (a block's progress is not saved each time: off is the last saved).
    const same = new MemoryKeyValueStore();
    same.set('ledger', b.kv.get('ledger') as Uint8Array);
    for (const t of ['devices', 'images']) same.set(t, b.kv.get(t) as Uint8Array);
    const restarted = new CoreLink(() => undefined);
    const before = restarted.request(coreHub(new FakeRadio(), b.images, same, restarted.fromHub, {}), 'job.list', {}, b.now).jobs as unknown as Job[];
    expect(before.map((j) => j.state)).toEqual(['transferring', 'failed']);
    // The layout before this one (firmware/core/hub.ts JOB_CELLS_BEFORE): 31 float64 cells a job in this order;
    // this one's are 15 float64 cells, then int32 cells from int index 30.
    const floats = ['Id', 'Ver', 'Size', 'Off', 'PageOff', 'PageEnd', 'Started', 'Updated', 'Contact', 'Progress', 'LastBlock', 'Seen', 'PageAt', 'Activates', 'Due'];
    const ints = ['Dev', 'State', 'Code', 'Force', 'Mfr', 'Type', 'Img', 'MinPeriod', 'Asked', 'InSeconds', 'Admitted', 'PageMax', 'PageGap', 'PageSeq', 'Check', 'UpAt'];
    const was = ['Id', 'Dev', 'State', 'Off', 'Size', 'Code', 'Force', 'Started', 'Updated', 'Contact', 'Mfr', 'Type', 'Ver', 'Img', 'Progress', 'MinPeriod', 'LastBlock', 'Seen', 'Asked', 'InSeconds', 'Admitted', 'PageOff', 'PageEnd', 'PageMax', 'PageGap', 'PageAt', 'PageSeq', 'Activates', 'Due', 'Check', 'UpAt'];
    const field = (v: DataView, at: number, name: string) => (floats.includes(name) ? v.getFloat64(at + floats.indexOf(name) * 8, true) : v.getInt32(at + (30 + ints.indexOf(name)) * 4, true));
    b.kv.set('ledger', relaid(b.kv.get('ledger') as Uint8Array, was.length, (v, at) => was.map((name) => field(v, at, name))));
    // The updated firmware starts on that state.
    b.hub = coreHub(b.radio, b.images, b.kv, b.link.fromHub, {});
    b.hub.start(b.now);
    expect(b.ok('job.list').jobs).toEqual(before);
    expect(b.ok('alert.list').alerts).toEqual([expect.objectContaining({ code: 0x8f89, eui: HCALCS, responseCode: 2 })]);
    // The PPMID's transfer goes on where it was and ends in its 0x8F8A.
    b.radio.take();
    b.ota(NWK[PPMID], { cmd: 0x03, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, fileOffset: 640, maxDataSize: 64 });
    expect(b.radio.ota(NWK[PPMID])[0]).toMatchObject({ cmd: 0x05, status: STATUS.SUCCESS, block: { fileOffset: 640 } });
    b.end(NWK[PPMID], STATUS.SUCCESS);
    expect(b.job(job.id)).toMatchObject({ state: 'done' });
    expect(b.alerts()).toContainEqual(expect.objectContaining({ code: 0x8f8a, eui: PPMID }));
  });

  test('survive a firmware whose job rows are laid out some other way: its jobs are not misread, its alerts are kept', () => {
    const b = ready(PPMID);
    b.ok('job.start', { image: 'fw', devices: [PPMID] });
    b.query(NWK[PPMID], 9);
    expect(b.ok('job.list').jobs).toHaveLength(1);
    // 4 more cells in every job row (27: neither this layout nor the one before it).
    const width = 23;
    b.kv.set('ledger', relaid(b.kv.get('ledger') as Uint8Array, width + 4, (v, at) => [...Array.from({ length: width }, (_, i) => v.getFloat64(at + i * 8, true)), 1, 2, 3, 4]));
    const again = new CoreLink(() => undefined);
    const hub = coreHub(new FakeRadio(), b.images, b.kv, again.fromHub, {});
    expect(again.request(hub, 'job.list', {}, b.now).jobs).toEqual([]);
    expect(again.request(hub, 'alert.list', {}, b.now).alerts).toEqual([expect.objectContaining({ code: 0x8f89, eui: PPMID, responseCode: 2 })]);
  });
});

describe('streamed images', () => {
  test("an image's ranges are freed when its last download ends: the next device's download fetches them again", () => {
    // Room for every range of the image, so only the release can make the hub ask again.
    const b = new Bench({ streamRangeBytes: 128, streamRanges: Math.ceil(IMAGE.length / 128) }, false);
    b.ok('img.stream', { name: 'fw', size: IMAGE.length, crc: zlib.crc32(IMAGE) >>> 0, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW });
    let answered = 0;
    /** Downloads the image as a client would, the test standing in for the host that serves `need` events. */
    const fetch = (eui: string): { data: Uint8Array; asked: number } => {
      const nwk = NWK[eui];
      const asked = b.events('need').length;
      b.ok('dev.add', { eui, type: eui === PPMID ? 'PPMID' : 'HCALCS' });
      b.announce(eui);
      b.ok('job.start', { image: 'fw', devices: [eui] });
      b.query(nwk);
      const data = new Uint8Array(IMAGE.length);
      for (let off = 0; off < IMAGE.length; ) {
        b.radio.take();
        b.ota(nwk, { cmd: 0x03, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, fileOffset: off, maxDataSize: 64 });
        const r = b.radio.ota(nwk)[0];
        if (r.cmd === 0x05 && r.status === STATUS.SUCCESS && r.block) {
          data.set(r.block.data, off);
          off += r.block.data.length;
        }
        const needs = b.events('need');
        for (; answered < needs.length; answered++) b.ok('img.range', { name: 'fw', off: needs[answered].off, d: IMAGE.subarray(needs[answered].off as number, (needs[answered].off as number) + (needs[answered].len as number)) });
      }
      b.end(nwk, STATUS.SUCCESS);
      return { data, asked: b.events('need').length - asked };
    };
    const first = fetch(PPMID);
    expect(first.data).toEqual(IMAGE);
    expect(first.asked).toBe(Math.ceil(IMAGE.length / 128));
    const second = fetch(HCALCS);
    expect(second.data).toEqual(IMAGE);
    expect(second.asked).toBe(Math.ceil(IMAGE.length / 128));
    expect(b.alerts().map((a) => a.code)).toEqual([0x8f8a, 0x8f8a]);
  });
});
