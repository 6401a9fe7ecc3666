// The host's translator (host-tools/link/hub-protocol.ts) against the layouts of docs/host-link.md:
// requests as the arrays the hub reads, and the hub's arrays (written by its own encoder, read by cbor-x,
// as HubClient reads them) as the messages the rest of chub uses.
import { crc32 } from 'node:zlib';
import { Err, Ev, JobState, Log, Op, RadioError } from '../../firmware/core/codes';
import { decodeBody, Item, w, wClose } from '../../firmware/core/wire';
import { decodeBody as hostDecode, encodeBody } from '../../host-tools/link/cbor-codec';
import { decodeMessage, encodeRequest, ERRORS, euiFromWire, euiToWire, LOGS, Message, RequestError } from '../../host-tools/link/hub-protocol';

const PPMID = '000D6F0000000001';
const HCALCS = '000D6F00000000A2';
/** PPMID in wire order: least significant byte first. */
const PPMID_WIRE = Uint8Array.from([0x01, 0, 0, 0, 0, 0x6f, 0x0d, 0]);
const HCALCS_WIRE = Uint8Array.from([0xa2, 0, 0, 0, 0, 0x6f, 0x0d, 0]);
const T = 1732630000123; // unix ms, past 2^32

/** What HubClient hands decodeMessage: the hub's items, framed by the hub's encoder and read by cbor-x. */
function fromHub(items: Item[]): unknown[] {
  items.forEach((v, i) => w(v, i === 0 ? 1 : undefined));
  const f = wClose(crc32);
  if (!f) throw new Error('does not fit a frame');
  return hostDecode(f.subarray(4, f.length - 4)) as unknown[];
}

/** A reply to `request` as the hub sends it, translated. */
const reply = (request: Message, ...items: Item[]) => decodeMessage(fromHub([request.i as number, 0, ...items]), request);
const refusal = (request: Message, err: number, ...detail: Item[]) => decodeMessage(fromHub([request.i as number, err, ...detail]), request);
const event = (ev: number, ...fields: Item[]) => decodeMessage(fromHub([0, ev, ...fields]));

/** The items the hub reads for a request: through cbor-x and the hub's decoder. */
const atHub = (m: Message) => decodeBody(encodeBody(encodeRequest(m)));

describe('EUI-64s', () => {
  test('16 hex digits, most significant first ⇄ 8 bytes, least significant first', () => {
    expect(Array.from(euiToWire(PPMID)!)).toEqual(Array.from(PPMID_WIRE));
    expect(euiFromWire(PPMID_WIRE)).toBe(PPMID);
    expect(Array.from(euiToWire('00:0d:6f:00:00:00:00:01')!)).toEqual(Array.from(PPMID_WIRE));
    expect(Array.from(euiToWire('0x000d6f0000000001')!)).toEqual(Array.from(PPMID_WIRE));
    expect(euiToWire('12345')).toBeNull();
    expect(euiToWire('000D6F000000000G')).toBeNull();
  });
});

describe('requests: the arrays of docs/host-link.md', () => {
  const i = 7;
  const name = 'fw-v2';
  const d = Uint8Array.from([1, 2, 3]);
  test.each<[string, Message, unknown[]]>([
    ['hello', { time: T }, [Op.Hello, T]],
    ['hello', {}, [Op.Hello, null]],
    ['dev.add', { eui: PPMID, type: 'PPMID' }, [Op.DevAdd, PPMID_WIRE, 5]],
    ['dev.add', { eui: HCALCS, type: 'HCALCS' }, [Op.DevAdd, HCALCS_WIRE, 4]],
    ['dev.rm', { eui: PPMID }, [Op.DevRm, PPMID_WIRE]],
    ['dev.list', {}, [Op.DevList, 0]],
    ['dev.list', { from: 4 }, [Op.DevList, 4]],
    ['img.begin', { name, size: 6144, crc: 0xfedcba98 }, [Op.ImgBegin, name, 6144, 0xfedcba98]],
    ['img.data', { name, off: 1024, d }, [Op.ImgData, name, 1024, d]],
    ['img.end', { name }, [Op.ImgEnd, name]],
    [
      'img.stream',
      { name, size: 200000, crc: 1, manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, minHw: 1, maxHw: 3 },
      [Op.ImgStream, name, 200000, 1, 0x1234, 1, 2, 1, 3],
    ],
    ['img.stream', { name, size: 200000, crc: 1, manufacturerCode: 0x1234, imageType: 1, fileVersion: 2 }, [Op.ImgStream, name, 200000, 1, 0x1234, 1, 2, null, null]],
    ['img.range', { name, off: 512, d }, [Op.ImgRange, name, 512, d]],
    ['img.list', { from: 8 }, [Op.ImgList, 8]],
    ['img.rm', { name }, [Op.ImgRm, name]],
    ['job.start', { image: name, devices: [PPMID, HCALCS] }, [Op.JobStart, name, 0, null, PPMID_WIRE, HCALCS_WIRE]],
    ['job.start', { image: name, devices: [PPMID], force: true }, [Op.JobStart, name, 1, null, PPMID_WIRE]],
    ['job.start', { image: name, devices: [PPMID], sha256: new Uint8Array(32).fill(7) }, [Op.JobStart, name, 0, new Uint8Array(32).fill(7), PPMID_WIRE]],
    ['job.list', {}, [Op.JobList, 0]],
    ['alert.list', { from: 12 }, [Op.AlertList, 12]],
    ['alert.ack', { ids: [3, 4, 9] }, [Op.AlertAck, 3, 4, 9]],
    ['alert.ack', { ids: [] }, [Op.AlertAck]],
    ['activate', { eui: HCALCS }, [Op.Activate, HCALCS_WIRE, null]],
    ['activate', { eui: HCALCS, at: T }, [Op.Activate, HCALCS_WIRE, T]],
    ['version.read', { eui: PPMID }, [Op.VersionRead, PPMID_WIRE]],
    ['console', {}, [Op.Console]],
  ])('%s %j', (op, args, want) => {
    const m = { ...args, i, op };
    const norm = (a: unknown[] | null) => a && a.map((v) => (v instanceof Uint8Array ? Array.from(v) : v));
    expect(norm(encodeRequest(m))).toEqual(norm([i, ...want]));
    // and the hub reads exactly that, times past 2^32 included (cbor-x would write them as floats)
    expect(norm(atHub(m))).toEqual(norm([i, ...want]));
  });

  test.each<[Message, string, RegExp]>([
    [{ op: 'dev.frobnicate' }, 'BAD_OP', /unknown request "dev.frobnicate"/],
    [{ op: 'dev.add', eui: '12345', type: 'PPMID' }, 'BAD_EUI', /not an EUI-64: 12345/],
    [{ op: 'dev.add', eui: PPMID, type: 'ESME' }, 'BAD_TYPE', /must be PPMID or HCALCS, not ESME/],
    [{ op: 'img.begin', size: 1, crc: 1 }, 'BAD_ARGS', /"name" must be a string/],
    [{ op: 'img.data', name: 'x', off: -1, d: new Uint8Array(1) }, 'BAD_ARGS', /"off" must be a non-negative integer/],
    [{ op: 'img.data', name: 'x', off: 0, d: [1, 2] }, 'BAD_ARGS', /"d" must be a byte string/],
    [{ op: 'job.start', image: 'x', devices: [] }, 'BAD_ARGS', /"devices" must be a non-empty list/],
    [{ op: 'job.start', image: 'x', devices: [PPMID, 'nope'] }, 'BAD_EUI', /not an EUI-64: nope/],
    [{ op: 'alert.ack', ids: [1, 'x'] }, 'BAD_ARGS', /"ids" must be a list of numbers/],
    [{ op: 'hello', time: 1.5 }, 'BAD_ARGS', /"time"/],
  ])('refused here, as the hub would: %j', (m, code, text) => {
    let e: unknown;
    try {
      encodeRequest({ i: 1, ...m });
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(RequestError);
    expect(e).toMatchObject({ code, message: expect.stringMatching(text) });
  });
});

describe('replies: the messages chub used before the array protocol', () => {
  const dev = (eui: Uint8Array, type: number, ...rest: (number | null)[]): Item[] => [eui, type, ...rest];
  const img = (name: string, streamed: number, ...rest: (number | null)[]): Item[] => [name, 4096, 0xcafef00d, 1, streamed, 4096, ...rest];
  const job = (id: number, eui: Uint8Array, state: number, code: number | null, force: number): Item[] => [id, eui, 'fw', 0x1234, 1, 2, state, 512, 4096, code, force, T, T + 500];
  const alert = (id: number, code: number, ...rest: (number | null)[]): Item[] => [id, code, PPMID_WIRE, T, ...rest];

  test('hello', () => {
    const q = { i: 1, op: 'hello', time: T };
    expect(reply(q, '0.2.0', 'puckjs', 1, T, 1024, 5, 32)).toEqual({ i: 1, ok: true, fw: '0.2.0', board: 'puckjs', mode: 'streamed', time: T, maxChunk: 1024, maxJobs: 5, maxAlerts: 32 });
    expect(reply(q, '0.2.0', 'node', 0, T, 1024, 32, 256)).toMatchObject({ mode: 'stored' });
  });

  test('dev.add and dev.list: device records, nulls left out, `more` while records remain', () => {
    expect(reply({ i: 2, op: 'dev.add' }, ...dev(PPMID_WIRE, 5, null, null, null, null))).toEqual({ i: 2, ok: true, device: { eui: PPMID, type: 'PPMID' } });
    const list = reply({ i: 3, op: 'dev.list', from: 0 }, 4, ...dev(PPMID_WIRE, 5, 0x1001, 0x10, 2, T), ...dev(HCALCS_WIRE, 4, null, null, null, null));
    expect(list).toEqual({
      i: 3,
      ok: true,
      more: 4,
      devices: [
        { eui: PPMID, type: 'PPMID', nwk: 0x1001, fileVersion: 0x10, hardwareVersion: 2, lastSeen: T },
        { eui: HCALCS, type: 'HCALCS' },
      ],
    });
    expect(reply({ i: 4, op: 'dev.list', from: 4 }, null)).toEqual({ i: 4, ok: true, devices: [] });
  });

  test('uploads: next, and the image record', () => {
    expect(reply({ i: 5, op: 'img.begin' }, 2048)).toEqual({ i: 5, ok: true, next: 2048 });
    expect(reply({ i: 6, op: 'img.data' }, 3072)).toEqual({ i: 6, ok: true, next: 3072 });
    expect(reply({ i: 7, op: 'img.end' }, ...img('fw', 0, 0x1234, 1, 2, null, null))).toEqual({
      i: 7,
      ok: true,
      image: { name: 'fw', size: 4096, crc: 0xcafef00d, complete: true, next: 4096, manufacturerCode: 0x1234, imageType: 1, fileVersion: 2 },
    });
    expect(reply({ i: 8, op: 'img.stream' }, ...img('big', 1, 0x1234, 1, 2, 1, 3)).image).toEqual({
      name: 'big',
      size: 4096,
      crc: 0xcafef00d,
      complete: true,
      streamed: true,
      next: 4096,
      manufacturerCode: 0x1234,
      imageType: 1,
      fileVersion: 2,
      minHw: 1,
      maxHw: 3,
    });
    const partial = reply({ i: 9, op: 'img.list' }, null, 'up', 4096, 1, 0, 0, 1024, null, null, null, null, null);
    expect(partial).toEqual({ i: 9, ok: true, images: [{ name: 'up', size: 4096, crc: 1, complete: false, next: 1024 }] });
  });

  test('requests with no results answer {i, ok: true}', () => {
    for (const op of ['dev.rm', 'img.range', 'img.rm', 'version.read', 'console']) expect(reply({ i: 10, op })).toEqual({ i: 10, ok: true });
  });

  test('jobs: state names, code only when failed, force only when set', () => {
    const started = reply({ i: 11, op: 'job.start' }, ...job(1, PPMID_WIRE, JobState.Queued, null, 0), ...job(2, HCALCS_WIRE, JobState.Queued, null, 1));
    expect(started).toEqual({
      i: 11,
      ok: true,
      jobs: [
        { id: 1, eui: PPMID, image: 'fw', manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, state: 'queued', off: 512, size: 4096, started: T, updated: T + 500 },
        { id: 2, eui: HCALCS, image: 'fw', manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, state: 'queued', off: 512, size: 4096, force: true, started: T, updated: T + 500 },
      ],
    });
    const states = [JobState.Queued, JobState.Transferring, JobState.Transferred, JobState.Activating, JobState.Done, JobState.Failed];
    const listed = reply({ i: 12, op: 'job.list' }, null, ...states.flatMap((s, k) => job(k + 1, PPMID_WIRE, s, s === JobState.Failed ? 2 : null, 0)));
    expect((listed.jobs as { state: string }[]).map((j) => j.state)).toEqual(['queued', 'transferring', 'transferred', 'activating', 'done', 'failed']);
    expect((listed.jobs as { code?: number }[])[5].code).toBe(2);
    expect(reply({ i: 13, op: 'activate' }, ...job(3, HCALCS_WIRE, JobState.Activating, null, 0)).job).toMatchObject({ id: 3, eui: HCALCS, state: 'activating' });
  });

  test('alerts: only the fields the alert has', () => {
    const r = reply({ i: 14, op: 'alert.list' }, 4, ...alert(1, 0x8f8a, 2, 0, null), ...alert(2, 0x8f89, 2, 3, null), ...alert(3, 0x8f8b, 2, null, 0));
    expect(r).toEqual({
      i: 14,
      ok: true,
      more: 4,
      alerts: [
        { id: 1, code: 0x8f8a, eui: PPMID, time: T, fileVersion: 2, responseCode: 0 },
        { id: 2, code: 0x8f89, eui: PPMID, time: T, fileVersion: 2, responseCode: 3 },
        { id: 3, code: 0x8f8b, eui: PPMID, time: T, fileVersion: 2, activationStatus: 0 },
      ],
    });
    expect(reply({ i: 15, op: 'alert.ack' }, 2)).toEqual({ i: 15, ok: true, acked: 2 });
  });
});

describe('errors: names and texts', () => {
  test('every error code the hub has is named and worded', () => {
    for (let err = Err.INTERNAL; err <= Err.NO_SHA256; err++) {
      expect(ERRORS[err]).toBeDefined();
      for (const q of [{ op: 'img.begin', name: 'fw' }, { op: 'dev.add', eui: PPMID, type: 'PPMID' }, {}]) {
        const m = refusal({ i: 1, ...q }, err, 1, 2, 3);
        expect(m).toMatchObject({ i: 1, ok: false, err: ERRORS[err].name });
        expect(String(m.msg)).not.toMatch(/undefined|null|refused by the hub/);
      }
    }
  });

  test.each<[Message, number, Item[], Message]>([
    [{ op: 'dev.add', eui: PPMID, type: 'PPMID' }, Err.LOG_FULL, [2], { err: 'LOG_FULL', msg: 'device log is full (2 devices)' }],
    [{ op: 'job.start', image: 'fw', devices: [PPMID] }, Err.JOBS_FULL, [2, 0, 0], { err: 'FULL', msg: 'room for 2: 0 running, 0 alerts to ack' }],
    [{ op: 'img.begin', name: 'fw', size: 1, crc: 1 }, Err.NOT_STORED, [], { err: 'NOT_STORED', msg: 'this hub stores no images: use chub distribute --stream' }],
    [{ op: 'dev.rm', eui: '00:0d:6f:00:00:00:00:01' }, Err.UNKNOWN_DEVICE, [], { err: 'UNKNOWN_DEVICE', msg: `device ${PPMID} is not in the device log` }],
    [{ op: 'img.data', name: 'fw', off: 2000 }, Err.OUT_OF_ORDER, [1000], { err: 'OUT_OF_ORDER', next: 1000, msg: 'expected offset 1000, got 2000' }],
    [{ op: 'img.end', name: 'fw' }, Err.CRC_MISMATCH, [0xdead, 0xbeef], { err: 'CRC_MISMATCH', msg: 'image fw CRC-32 is dead, the host said beef; discarded' }],
    [{ op: 'job.start', image: 'fw', devices: [PPMID] }, Err.UNKNOWN_IMAGE, [], { err: 'UNKNOWN_IMAGE', msg: 'no complete image named fw' }],
    [{ op: 'img.end', name: 'fw' }, Err.BAD_IMAGE, [0], { err: 'BAD_IMAGE', msg: 'image fw is not a servable OTA file: the OTA magic is not at offset 0; discarded' }],
    [{ op: 'img.end', name: 'fw' }, Err.BAD_IMAGE, [1, 6], { err: 'BAD_IMAGE', msg: "image fw is not a servable OTA file: it is shorter than its header's total image size; discarded" }],
    [{ op: 'img.stream', name: 'fw' }, Err.EXISTS, [0], { err: 'EXISTS', msg: 'image fw is stored on the hub; remove it first' }],
    [{ op: 'img.begin', name: 'fw' }, Err.EXISTS, [1], { err: 'EXISTS', msg: 'image fw is streamed from the host; remove it first' }],
    [{ op: 'img.begin', name: 'fw', size: 9000 }, Err.STORE_FULL, [9000, 100], { err: 'FULL', msg: 'image store has 100 bytes free, image fw needs 9000' }],
    [{ op: 'img.stream', name: 'fw', size: 1, crc: 1 }, Err.BAD_ARGS, [3], { err: 'BAD_ARGS', msg: '"manufacturerCode" must be a non-negative integer' }],
    [{ op: 'job.start', image: 'fw', devices: [PPMID, HCALCS] }, Err.BAD_ARGS, [3], { err: 'BAD_ARGS', msg: '"devices" must be a non-empty list of strings' }],
    [{ op: 'job.start', image: 'fw', devices: [PPMID] }, Err.TOO_MANY, [4], { err: 'BAD_ARGS', msg: 'at most 4 devices per job.start; send several' }],
    [{ op: 'activate', eui: HCALCS }, Err.NOTHING_HELD, [], { err: 'NOTHING_HELD', msg: `device ${HCALCS} holds no transferred image to activate` }],
    [{ op: 'version.read', eui: PPMID }, Err.NOT_JOINED, [], { err: 'NOT_JOINED', msg: `device ${PPMID} has not joined the network` }],
    [{ op: 'dev.list' }, Err.TOO_BIG, [], { err: 'TOO_BIG', msg: "the hub's reply to dev.list would not fit a frame" }],
  ])('%j refused with %d', (q, err, detail, want) => {
    expect(refusal({ i: 9, ...q }, err, ...detail)).toEqual({ i: 9, ok: false, ...want });
  });

  test('without the request, texts still read; an unknown code is kept', () => {
    expect(decodeMessage(fromHub([5, Err.UNKNOWN_DEVICE]))).toEqual({ i: 5, ok: false, err: 'UNKNOWN_DEVICE', msg: 'the device is not in the device log' });
    expect(decodeMessage(fromHub([5, 99, 1]))).toEqual({ i: 5, ok: false, err: 'ERROR_99', msg: 'the request refused by the hub: error 99 1' });
  });
});

describe('events', () => {
  test('job, alert and need carry their record or fields', () => {
    expect(event(Ev.Job, 4, PPMID_WIRE, 'fw', 0x1234, 1, 2, JobState.Failed, 0, 4096, 2, 0, T, T)).toEqual({
      ev: 'job',
      job: { id: 4, eui: PPMID, image: 'fw', manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, state: 'failed', off: 0, size: 4096, code: 2, started: T, updated: T },
    });
    expect(event(Ev.Alert, 5, 0x8f89, PPMID_WIRE, T, 2, 2, null)).toEqual({ ev: 'alert', alert: { id: 5, code: 0x8f89, eui: PPMID, time: T, fileVersion: 2, responseCode: 2 } });
    expect(event(Ev.Need, 'fw-big', 1024, 512)).toEqual({ ev: 'need', img: 'fw-big', off: 1024, len: 512 });
  });

  test('log events become {ev: log, level: info, msg}, worded here', () => {
    expect(event(Ev.Log, Log.UNLISTED, PPMID_WIRE, 0x1001)).toEqual({
      ev: 'log',
      level: 'info',
      msg: `device ${PPMID} (0x1001) is on the network but not in the device log; ignored`,
    });
    expect(event(Ev.Log, Log.SILENT, PPMID_WIRE, 600).msg).toBe(`device ${PPMID} silent for 600 s during transfer`);
    expect(event(Ev.Log, Log.UP_TO_DATE, PPMID_WIRE, 3, 2).msg).toBe(`device ${PPMID} runs version 3, not older than 2; refused (use force)`);
    expect(event(Ev.Log, Log.RADIO_ERROR, RadioError.NO_SRSP, 0x2401).msg).toBe('radio: command 0x2401: no SRSP in time');
    expect(event(Ev.Log, Log.HW_MISMATCH, PPMID_WIRE, 0x1234, 1, null).msg).toMatch(/hardware not stated/);
    for (let code = Log.UNLISTED; code <= Log.MALFORMED_READ; code++) {
      expect(LOGS[code]).toBeDefined();
      expect(event(Ev.Log, code, PPMID_WIRE, 2, 3, 4).msg).not.toMatch(/undefined/);
    }
    expect(event(Ev.Log, 99, 1, 2).msg).toBe('log 99 1 2');
  });

  test('console text is shown as the hub\'s log, as before', () => {
    expect(event(Ev.Console, 'Uncaught Error: x\n')).toEqual({ ev: 'log', level: 'info', msg: 'Uncaught Error: x\n' });
  });

  test('anything but [i, code, ...] is refused', () => {
    expect(() => decodeMessage([] as unknown[])).toThrow(RequestError);
    expect(() => decodeMessage(['x', 0])).toThrow(/not a host-link message/);
    expect(() => decodeMessage({ i: 1 } as unknown as unknown[])).toThrow(RequestError);
  });
});
