// The host's translator for the hub's host link (docs/host-link.md). The hub speaks arrays of numbers
// (firmware/core/codes.ts, firmware/core/wire.ts); the rest of `chub` speaks named messages:
//   request  {i, op: 'dev.add', eui: '000D6F0000000001', type: 'PPMID'}  →  [i, 2, <8 bytes>, 5]
//   reply    [i, 0, ...results] / [i, err, ...detail]                    →  {i, ok: true, device: {...}} / {i, ok: false, err, msg}
//   event    [0, ev, ...fields]                                          →  {ev: 'job', job: {...}}, {ev: 'log', level, msg}, ...
// This file is the one table of names and wording: the hub holds no text.
import { DeviceType, Err, Ev, JobState, Log, Mode, Op, RadioError } from '../../firmware/core/codes';

export type Value = number | string | boolean | null | undefined | Uint8Array | Value[] | { [key: string]: Value };
/** A request, reply or event as `chub` handles it. */
export type Message = { [key: string]: Value };

/** A device in the hub's device log (the CH Device Log). */
export interface Device {
  /** 16 upper-case hex digits, most significant first. */
  eui: string;
  /** 'PPMID' | 'HCALCS' */
  type: string;
  nwk?: number;
  /** Last version the device reported. */
  fileVersion?: number;
  hardwareVersion?: number;
  /** Unix ms. */
  lastSeen?: number;
}

/** An image the hub holds (stored) or serves from the host (streamed). */
export interface ImageInfo {
  name: string;
  size: number;
  crc: number;
  complete: boolean;
  /** Held by the host and fetched in ranges while served; absent for a stored image. */
  streamed?: boolean;
  /** Bytes stored so far. */
  next: number;
  manufacturerCode?: number;
  imageType?: number;
  fileVersion?: number;
  minHw?: number;
  maxHw?: number;
}

export type JobStateName = 'queued' | 'transferring' | 'transferred' | 'activating' | 'done' | 'failed';

/** A transfer of one image to one device. */
export interface Job {
  id: number;
  eui: string;
  image: string;
  manufacturerCode: number;
  imageType: number;
  fileVersion: number;
  state: JobStateName;
  /** Highest byte offset the device has been sent. */
  off: number;
  size: number;
  /** GBCS response code of a failed job. */
  code?: number;
  force?: boolean;
  started: number;
  updated: number;
}

/** A GBCS firmware alert the hub holds until acknowledged. */
export interface Alert {
  id: number;
  code: number;
  eui: string;
  /** executionDateTime, unix ms. */
  time: number;
  fileVersion?: number;
  responseCode?: number;
  activationStatus?: number;
}

export const ALERT_TRANSFER_FAILED = 0x8f89;
export const ALERT_TRANSFER_SUCCEEDED = 0x8f8a;
export const ALERT_VERSION_READ = 0x8f8b;

/** Most devices per job.start (its reply, a job record each, must fit one frame): the hub's PAGE
 *  (firmware/core/hub.ts); more are refused with TOO_MANY, which states the hub's number. */
export const JOB_START_MAX = 6;

export const JOB_STATES: JobStateName[] = ['queued', 'transferring', 'transferred', 'activating', 'done', 'failed'];

export function isFinal(j: { state: string }): boolean {
  return j.state === 'done' || j.state === 'failed';
}

/** GBCS DeviceType values (GBCS Table 16.2). */
export const DEVICE_TYPES: { [name: string]: number } = { HCALCS: DeviceType.HCALCS, PPMID: DeviceType.PPMID };

/** A request refused on this side, before it reaches the hub; `code` as the hub's `err` would be. */
export class RequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'RequestError';
  }
}

// ---- requests

/** How a request argument goes on the wire. */
type ArgKind =
  | 'str' // text
  | 'nat' // uint
  | 'opt' // uint, or null when absent
  | 'from' // uint, 0 when absent (the first page)
  | 'bytes'
  | 'sha256' // 32 bytes, or null when absent
  | 'eui' // 16 hex digits → 8 bytes, least significant first
  | 'type' // 'PPMID' / 'HCALCS' → GBCS DeviceType
  | 'flag' // true → 1, else 0
  | 'euis' // a non-empty list of EUIs, spread as the trailing items
  | 'nats'; // a list of uints, spread as the trailing items

const MUST_BE: { [kind: string]: string } = {
  str: 'a string',
  nat: 'a non-negative integer',
  opt: 'a non-negative integer',
  from: 'a non-negative integer',
  bytes: 'a byte string',
  sha256: 'a SHA-256: 32 bytes',
  eui: 'an EUI-64 (16 hex digits)',
  type: 'PPMID or HCALCS',
  flag: 'true or false',
  euis: 'a non-empty list of strings',
  nats: 'a list of numbers',
};

/** Every request: its op number and its arguments in wire order (docs/host-link.md "Requests"). */
export const REQUESTS: { [op: string]: { op: Op; args: [string, ArgKind][] } } = {
  hello: { op: Op.Hello, args: [['time', 'opt']] },
  'dev.add': { op: Op.DevAdd, args: [['eui', 'eui'], ['type', 'type']] },
  'dev.rm': { op: Op.DevRm, args: [['eui', 'eui']] },
  'dev.list': { op: Op.DevList, args: [['from', 'from']] },
  'img.begin': { op: Op.ImgBegin, args: [['name', 'str'], ['size', 'nat'], ['crc', 'nat']] },
  'img.data': { op: Op.ImgData, args: [['name', 'str'], ['off', 'nat'], ['d', 'bytes']] },
  'img.end': { op: Op.ImgEnd, args: [['name', 'str']] },
  'img.stream': {
    op: Op.ImgStream,
    args: [['name', 'str'], ['size', 'nat'], ['crc', 'nat'], ['manufacturerCode', 'nat'], ['imageType', 'nat'], ['fileVersion', 'nat'], ['minHw', 'opt'], ['maxHw', 'opt']],
  },
  'img.range': { op: Op.ImgRange, args: [['name', 'str'], ['off', 'nat'], ['d', 'bytes']] },
  'img.list': { op: Op.ImgList, args: [['from', 'from']] },
  'img.rm': { op: Op.ImgRm, args: [['name', 'str']] },
  'job.start': { op: Op.JobStart, args: [['image', 'str'], ['force', 'flag'], ['sha256', 'sha256'], ['devices', 'euis']] },
  'job.list': { op: Op.JobList, args: [['from', 'from']] },
  'alert.list': { op: Op.AlertList, args: [['from', 'from']] },
  'alert.ack': { op: Op.AlertAck, args: [['ids', 'nats']] },
  activate: { op: Op.Activate, args: [['eui', 'eui'], ['at', 'opt']] },
  'version.read': { op: Op.VersionRead, args: [['eui', 'eui']] },
  console: { op: Op.Console, args: [] },
  'job.cancel': { op: Op.JobCancel, args: [['id', 'nat']] },
  'fw.begin': { op: Op.FwBegin, args: [['size', 'nat'], ['crc', 'nat']] },
  'fw.data': { op: Op.FwData, args: [['off', 'nat'], ['d', 'bytes']] },
  'fw.end': { op: Op.FwEnd, args: [] },
};

const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** "00:0D:6F:...", "000d6f...", "0x000D6F..." → 16 upper-case hex digits, or null. */
export function normaliseEui(eui: unknown): string | null {
  if (typeof eui !== 'string') return null;
  let s = eui.replace(/[:\-\s]/g, '').toUpperCase();
  if (s.startsWith('0X')) s = s.slice(2);
  return /^[0-9A-F]{16}$/.test(s) ? s : null;
}

/** An EUI-64 in wire order (least significant byte first), or null when `eui` is not one. */
export function euiToWire(eui: unknown): Uint8Array | null {
  const norm = normaliseEui(eui);
  return norm === null ? null : Uint8Array.from(Buffer.from(norm, 'hex').reverse());
}

/** 8 bytes in wire order → 16 upper-case hex digits, most significant first. */
export function euiFromWire(b: unknown): string {
  if (!(b instanceof Uint8Array) || b.length !== 8) return String(b);
  return Buffer.from(b).reverse().toString('hex').toUpperCase();
}

function wireEui(v: unknown): Uint8Array {
  const b = euiToWire(v);
  if (!b) throw new RequestError('BAD_EUI', `not an EUI-64: ${String(v)} (want 16 hex digits)`);
  return b;
}

/** A request message as the array the hub reads; throws a RequestError for what the hub would refuse. */
export function encodeRequest(m: Message): unknown[] {
  const r = typeof m.op === 'string' && Object.prototype.hasOwnProperty.call(REQUESTS, m.op) ? REQUESTS[m.op] : undefined;
  if (!r) throw new RequestError('BAD_OP', `unknown request ${JSON.stringify(m.op)}`);
  if (!isNat(m.i) || m.i === 0) throw new RequestError('BAD_ARGS', `"i" must be a request id from 1`);
  const a: unknown[] = [m.i, r.op];
  for (const [key, kind] of r.args) {
    const v = m[key];
    const bad = () => new RequestError('BAD_ARGS', `"${key}" must be ${MUST_BE[kind]}`);
    if (kind === 'str') {
      if (typeof v !== 'string') throw bad();
      a.push(v);
    } else if (kind === 'nat' || ((kind === 'opt' || kind === 'from') && v !== undefined && v !== null)) {
      if (!isNat(v)) throw bad();
      a.push(v);
    } else if (kind === 'opt') a.push(null);
    else if (kind === 'from') a.push(0);
    else if (kind === 'bytes') {
      if (!(v instanceof Uint8Array)) throw bad();
      a.push(v);
    } else if (kind === 'sha256') {
      if (v !== undefined && v !== null && !(v instanceof Uint8Array && v.length === 32)) throw bad();
      a.push(v ?? null);
    } else if (kind === 'eui') a.push(wireEui(v));
    else if (kind === 'type') {
      if (typeof v !== 'string' || !Object.prototype.hasOwnProperty.call(DEVICE_TYPES, v)) throw new RequestError('BAD_TYPE', `device type must be PPMID or HCALCS, not ${String(v)}`);
      a.push(DEVICE_TYPES[v]);
    } else if (kind === 'flag') a.push(v === true || v === 1 ? 1 : 0);
    else if (kind === 'euis') {
      if (!Array.isArray(v) || v.length === 0 || !v.every((e) => typeof e === 'string')) throw bad();
      for (const e of v) a.push(wireEui(e));
    } else {
      if (!Array.isArray(v) || !v.every(isNat)) throw bad();
      a.push(...v);
    }
  }
  return a;
}

// ---- replies and events

/** Items per record (docs/host-link.md "Records"). */
export const RECORD_ITEMS = { device: 6, image: 11, job: 13, alert: 7 };

/** A record's fields by name, nulls left out. */
function fields(o: { [key: string]: unknown }): Message {
  const out: Message = {};
  for (const k of Object.keys(o)) if (o[k] !== null && o[k] !== undefined) out[k] = o[k] as Value;
  return out;
}

function device(d: unknown[], p: number): Device {
  return fields({ eui: euiFromWire(d[p]), type: typeName(d[p + 1]), nwk: d[p + 2], fileVersion: d[p + 3], hardwareVersion: d[p + 4], lastSeen: d[p + 5] }) as unknown as Device;
}

function image(d: unknown[], p: number): ImageInfo {
  return fields({
    name: d[p],
    size: d[p + 1],
    crc: d[p + 2],
    complete: d[p + 3] === 1,
    streamed: d[p + 4] === 1 ? true : null,
    next: d[p + 5],
    manufacturerCode: d[p + 6],
    imageType: d[p + 7],
    fileVersion: d[p + 8],
    minHw: d[p + 9],
    maxHw: d[p + 10],
  }) as unknown as ImageInfo;
}

function job(d: unknown[], p: number): Job {
  return fields({
    id: d[p],
    eui: euiFromWire(d[p + 1]),
    image: d[p + 2],
    manufacturerCode: d[p + 3],
    imageType: d[p + 4],
    fileVersion: d[p + 5],
    state: JOB_STATES[d[p + 6] as JobState] ?? `state ${String(d[p + 6])}`,
    off: d[p + 7],
    size: d[p + 8],
    code: d[p + 9],
    force: d[p + 10] === 1 ? true : null,
    started: d[p + 11],
    updated: d[p + 12],
  }) as unknown as Job;
}

function alert(d: unknown[], p: number): Alert {
  return fields({
    id: d[p],
    code: d[p + 1],
    eui: euiFromWire(d[p + 2]),
    time: d[p + 3],
    fileVersion: d[p + 4],
    responseCode: d[p + 5],
    activationStatus: d[p + 6],
  }) as unknown as Alert;
}

function typeName(t: unknown): string {
  return t === DeviceType.PPMID ? 'PPMID' : t === DeviceType.HCALCS ? 'HCALCS' : `type ${String(t)}`;
}

/** Records of `n` items each, from d[p]. */
function records<T>(d: unknown[], p: number, width: number, read: (d: unknown[], p: number) => T): T[] {
  const out: T[] = [];
  for (let q = p; q + width <= d.length; q += width) out.push(read(d, q));
  return out;
}

/** A page of a list: `more` (where the next page starts, when one does), then the records. */
function page<T>(key: string, d: unknown[], width: number, read: (d: unknown[], p: number) => T): Message {
  const m: Message = { [key]: records(d, 1, width, read) as unknown as Value };
  if (isNat(d[0])) m.more = d[0];
  return m;
}

/** Each op's results by name (docs/host-link.md "Requests"). */
const RESULTS: { [op: string]: (d: unknown[]) => Message } = {
  hello: (d) => fields({ fw: d[0], board: d[1], mode: d[2] === Mode.Streamed ? 'streamed' : d[2] === Mode.Stored ? 'stored' : d[2], time: d[3], maxChunk: d[4], maxJobs: d[5], maxAlerts: d[6] }),
  'dev.add': (d) => ({ device: device(d, 0) as unknown as Value }),
  'dev.list': (d) => page('devices', d, RECORD_ITEMS.device, device),
  'img.begin': (d) => ({ next: d[0] as Value }),
  'img.data': (d) => ({ next: d[0] as Value }),
  'img.end': (d) => ({ image: image(d, 0) as unknown as Value }),
  'img.stream': (d) => ({ image: image(d, 0) as unknown as Value }),
  'img.list': (d) => page('images', d, RECORD_ITEMS.image, image),
  'job.start': (d) => ({ jobs: records(d, 0, RECORD_ITEMS.job, job) as unknown as Value }),
  'job.list': (d) => page('jobs', d, RECORD_ITEMS.job, job),
  'alert.list': (d) => page('alerts', d, RECORD_ITEMS.alert, alert),
  'alert.ack': (d) => ({ acked: d[0] as Value }),
  activate: (d) => ({ job: job(d, 0) as unknown as Value }),
  'job.cancel': (d) => ({ job: job(d, 0) as unknown as Value }),
  'fw.begin': (d) => ({ next: d[0] as Value }),
  'fw.data': (d) => ({ next: d[0] as Value }),
};

/** A detail item or request field as text ('?' when the hub or the request left it out). */
const n = (v: unknown) => (v === undefined || v === null ? '?' : String(v));
const hex = (v: unknown) => (typeof v === 'number' ? v.toString(16) : n(v));
/** "device 000D6F0000000001": the device(s) a request names; the hub does not name them in errors. */
function deviceOf(q: Message): string {
  if (q.eui !== undefined) return `device ${normaliseEui(q.eui) ?? String(q.eui)}`;
  if (Array.isArray(q.devices) && q.devices.length > 0) return `device ${q.devices.map((e) => normaliseEui(e) ?? String(e)).join(', ')}`;
  return 'the device';
}
/** "image fw": the image a request names; the new firmware for the hub's own fw.* requests. */
const imageOf = (q: Message) =>
  (q.name ?? q.image) !== undefined ? `image ${String(q.name ?? q.image)}` : typeof q.op === 'string' && q.op.startsWith('fw.') ? "the hub's new firmware" : 'the image';

/** The argument a BAD_ARGS detail (index after op) names, in request `q`. */
function argAt(q: Message, index: unknown): string {
  const r = typeof q.op === 'string' ? REQUESTS[q.op] : undefined;
  if (!r || !isNat(index)) return `argument ${n(index)} of ${String(q.op ?? 'the request')} is not valid`;
  const spec = r.args[Math.min(index, r.args.length - 1)];
  if (!spec || (index >= r.args.length && spec[1] !== 'euis' && spec[1] !== 'nats')) return `${String(q.op)} has no argument ${index}`;
  return `"${spec[0]}" must be ${MUST_BE[spec[1]]}`;
}

/** Why the hub found an uploaded file unservable (img.end BAD_IMAGE's reason: firmware/core/image-upload.ts). */
export const IMAGE_PROBLEMS: { [reason: number]: string } = {
  0: 'the OTA magic is not at offset 0',
  1: 'its OTA header is not valid (chub image <file> says why)',
};
/** BAD_IMAGE's second detail, the hub's header check's answer (Hc, firmware/core/ota-fixed-header.ts). */
export const HEADER_PROBLEMS: { [code: number]: string } = {
  1: 'it does not start with the OTA magic 0x0BEEF11E',
  2: 'its header is shorter than the 56 fixed bytes',
  3: 'its header version is not 0x01xx',
  4: 'its header length is shorter than the fields its field control names',
  5: "its header's total image size is smaller than the header",
  6: "it is shorter than its header's total image size",
};

/**
 * Every error the hub answers with: the name `chub` reports (HubError.code) and its text, from the detail
 * items and the request it answers (the hub names neither the device nor the image it refused).
 */
export const ERRORS: { [err: number]: { name: string; text: (d: unknown[], q: Message) => string } } = {
  [Err.INTERNAL]: { name: 'INTERNAL', text: (_d, q) => `the hub failed inside ${String(q.op ?? 'a request')} (internal error)` },
  [Err.BAD_OP]: { name: 'BAD_OP', text: (d, q) => (q.op !== undefined ? `unknown request ${JSON.stringify(q.op)}` : `unknown request op ${n(d[0])}`) },
  [Err.BAD_ARGS]: { name: 'BAD_ARGS', text: (d, q) => argAt(q, d[0]) },
  [Err.BAD_EUI]: { name: 'BAD_EUI', text: (_d, q) => `not an EUI-64${q.eui ?? q.devices ? `: ${String(q.eui ?? q.devices)}` : ''} (want 16 hex digits)` },
  [Err.BAD_TYPE]: { name: 'BAD_TYPE', text: (_d, q) => `device type must be PPMID or HCALCS${q.type !== undefined ? `, not ${String(q.type)}` : ''}` },
  [Err.LOG_FULL]: { name: 'LOG_FULL', text: (d) => `device log is full (${n(d[0])} devices)` },
  [Err.UNKNOWN_DEVICE]: { name: 'UNKNOWN_DEVICE', text: (_d, q) => `${deviceOf(q)} is not in the device log` },
  [Err.BUSY]: { name: 'BUSY', text: (_d, q) => `${deviceOf(q)} already has a transfer in progress` },
  [Err.NOT_STORED]: { name: 'NOT_STORED', text: () => 'this hub stores no images: use chub distribute --stream' },
  [Err.BAD_NAME]: { name: 'BAD_NAME', text: () => 'image name must be 1-24 of A-Z a-z 0-9 . _ -' },
  [Err.BAD_SIZE]: { name: 'BAD_SIZE', text: () => 'image size must be a positive integer' },
  [Err.EXISTS]: {
    name: 'EXISTS',
    text: (d, q) => `${imageOf(q)} ${['is stored on the hub', 'is streamed from the host', 'is already held with different content'][d[0] as number] ?? 'exists'}; remove it first`,
  },
  [Err.STORE_FULL]: {
    name: 'FULL',
    // size 0: no bytes were asked for, the hub has no room for another image's record
    text: (d, q) => (d[0] ? `image store has ${n(d[1])} bytes free, ${imageOf(q)} needs ${n(d[0])}` : 'the hub holds as many images as it can; remove one first'),
  },
  [Err.JOBS_FULL]: { name: 'FULL', text: (d) => `room for ${n(d[0])}: ${n(d[1])} running, ${n(d[2])} alerts to ack` },
  [Err.OUT_OF_ORDER]: { name: 'OUT_OF_ORDER', text: (d, q) => `expected offset ${n(d[0])}, got ${n(q.off)}` },
  [Err.NO_UPLOAD]: { name: 'NO_UPLOAD', text: (_d, q) => `no upload of ${imageOf(q)} is in progress${q.op === 'fw.data' || q.op === 'fw.end' ? ' (the hub restarted, or it was checked already): send fw.begin' : ''}` },
  [Err.TOO_LONG]: { name: 'TOO_LONG', text: (d) => `data runs past the declared size ${n(d[0])}` },
  [Err.INCOMPLETE]: { name: 'INCOMPLETE', text: (d, q) => `${imageOf(q)} has ${n(d[0])} of ${n(d[1])} bytes` },
  [Err.CRC_MISMATCH]: { name: 'CRC_MISMATCH', text: (d, q) => `${imageOf(q)} CRC-32 is ${hex(d[0])}, the host said ${hex(d[1])}; discarded` },
  [Err.BAD_IMAGE]: {
    name: 'BAD_IMAGE',
    text: (d, q) => `${imageOf(q)} is not a servable OTA file: ${HEADER_PROBLEMS[d[1] as number] ?? IMAGE_PROBLEMS[d[0] as number] ?? `problem ${n(d[0])}`}; discarded`,
  },
  [Err.UNKNOWN_IMAGE]: {
    name: 'UNKNOWN_IMAGE',
    text: (_d, q) => {
      const kind = q.op === 'img.range' ? 'streamed image' : q.op === 'job.start' ? 'complete image' : 'image';
      return (q.name ?? q.image) !== undefined ? `no ${kind} named ${String(q.name ?? q.image)}` : `no such ${kind}`;
    },
  },
  [Err.IN_USE]: { name: 'IN_USE', text: (_d, q) => `${imageOf(q)} is being distributed` },
  [Err.BAD_RANGE]: {
    name: 'BAD_RANGE',
    text: (d, q) => `a range of ${imageOf(q)} is ${n(d[0])} bytes from a multiple of ${n(d[0])} (fewer at the end), not ${n(d[2])} from ${n(d[1])}`,
  },
  [Err.NOTHING_HELD]: { name: 'NOTHING_HELD', text: (_d, q) => `${deviceOf(q)} holds no transferred image to activate` },
  [Err.NOT_JOINED]: { name: 'NOT_JOINED', text: (_d, q) => `${deviceOf(q)} has not joined the network` },
  [Err.NO_CONSOLE]: { name: 'NO_CONSOLE', text: () => 'the console is not on the host link port' },
  [Err.TOO_BIG]: { name: 'TOO_BIG', text: (_d, q) => `the hub's reply to ${String(q.op ?? 'a request')} would not fit a frame` },
  [Err.TOO_MANY]: { name: 'BAD_ARGS', text: (d) => `at most ${n(d[0])} devices per job.start; send several` },
  [Err.UNKNOWN_JOB]: { name: 'UNKNOWN_JOB', text: (_d, q) => `no job #${n(q.id)} on the hub (finished jobs are forgotten as newer ones end)` },
  [Err.JOB_OVER]: { name: 'JOB_OVER', text: (d, q) => `job #${n(q.id)} is already ${JOB_STATES[d[0] as number] ?? n(d[0])}; nothing to cancel` },
  [Err.NO_SHA256]: {
    name: 'NO_SHA256',
    text: () => "this hub's board requires every distribution to name the image's SHA-256 (requireSha256): give chub distribute --sha256 <64 hex digits>",
  },
  [Err.NO_FW_UPDATE]: { name: 'NO_FW_UPDATE', text: () => "this hub's board has no Storage for a second copy of its firmware: flash it with the espruino CLI (chub flash --via cli)" },
  [Err.FW_NO_ROOM]: { name: 'FW_NO_ROOM', text: (d) => `the hub's Storage has ${n(d[1])} bytes free (with erased files), the new firmware beside the running one needs ${n(d[0])}: flash it with the espruino CLI (chub flash --via cli)` },
  [Err.FW_COMPACTING]: { name: 'FW_COMPACTING', text: () => "the hub is compacting its Storage to make room for the new firmware and restarts: send fw.begin again once it answers hello" },
};

const nwkText = (v: unknown) => `0x${hex(v)}`;

/** What the radio driver's problems mean (log RADIO_ERROR: code, detail). */
export const RADIO_ERRORS: { [code: number]: (detail: unknown) => string } = {
  [RadioError.BAD_FCS]: () => 'ZNP frame with bad FCS dropped',
  [RadioError.NO_SRSP]: (c) => `command 0x${hex(c)}: no SRSP in time`,
  [RadioError.RPC_ERROR]: (c) => `command 0x${hex(c)}: RPC error`,
  [RadioError.UNEXPECTED_SRSP]: (c) => `unexpected SRSP 0x${hex(c)}`,
  [RadioError.REGISTER_FAILED]: (s) => `AF_REGISTER failed: status 0x${hex(s)}`,
  [RadioError.LOST_IN_RESET]: (h) => `data request ${n(h)} lost in co-processor reset`,
  [RadioError.BAD_FRAME]: (c) => `ZNP frame too short for command 0x${hex(c)}`,
  [RadioError.LOOKUP_REFUSED]: (s) => `ZDO_IEEE_ADDR_REQ refused: status 0x${hex(s)}`,
};

/** Every log event the hub sends: its text from its fields (docs/host-link.md "Events"). */
export const LOGS: { [code: number]: (f: unknown[]) => string } = {
  [Log.UNLISTED]: (f) => `device ${euiFromWire(f[0])} (${nwkText(f[1])}) is on the network but not in the device log; ignored`,
  [Log.NOT_AUTHORIZED]: (f) => `OTA command 0x${hex(f[1])} from device ${nwkText(f[0])}, which is not in the device log: NOT_AUTHORIZED`,
  [Log.MALFORMED_ZCL]: (f) => `malformed ZCL frame from ${nwkText(f[0])}`,
  [Log.MALFORMED_OTA]: (f) => `malformed OTA command 0x${hex(f[1])} from ${euiFromWire(f[0])}`,
  [Log.RADIO_RESET]: (f) => `radio co-processor reset (reason ${n(f[0])}); registering again`,
  [Log.RADIO_ERROR]: (f) => `radio: ${RADIO_ERRORS[f[0] as number]?.(f[1]) ?? `error ${n(f[0])} (${n(f[1])})`}`,
  [Log.NOT_DELIVERED]: (f) => `radio: frame ${n(f[0])} not delivered (status 0x${hex(f[1])})`,
  [Log.NOT_JOINED]: (f) => `cannot reach ${euiFromWire(f[0])}: it has not joined`,
  [Log.SILENT]: (f) => `device ${euiFromWire(f[0])} silent for ${n(f[1])} s during transfer`,
  [Log.HW_MISMATCH]: (f) => `device ${euiFromWire(f[0])} (manufacturer ${n(f[1])}, image type ${n(f[2])}, hardware ${f[3] === null || f[3] === undefined ? 'not stated' : n(f[3])}) does not match its image`,
  [Log.UP_TO_DATE]: (f) => `device ${euiFromWire(f[0])} runs version ${n(f[1])}, not older than ${n(f[2])}; refused (use force)`,
  [Log.END_UNEXPECTED]: (f) => `Upgrade End Request from ${euiFromWire(f[0])} for an image it is not being given`,
  [Log.MALFORMED_READ]: (f) => `malformed Read Attributes Response from ${euiFromWire(f[0])}`,
};

function itemText(v: unknown): string {
  return v instanceof Uint8Array ? Buffer.from(v).toString('hex') : String(v);
}

function decodeEvent(ev: number, f: unknown[]): Message {
  switch (ev) {
    case Ev.Job:
      return { ev: 'job', job: job(f, 0) as unknown as Value };
    case Ev.Alert:
      return { ev: 'alert', alert: alert(f, 0) as unknown as Value };
    case Ev.Log: {
      const text = LOGS[f[0] as number];
      return { ev: 'log', level: 'info', msg: text ? text(f.slice(1)) : `log ${f.map(itemText).join(' ')}` };
    }
    case Ev.Need:
      return { ev: 'need', img: f[0] as Value, off: f[1] as Value, len: f[2] as Value };
    case Ev.Console:
      // What the interpreter printed while the hub held the port: shown as the hub's log, as before.
      return { ev: 'log', level: 'info', msg: f.map(itemText).join('') };
  }
  return { ev: `ev ${ev}`, fields: f as Value[] };
}

/**
 * A reply or event from the hub as a named message. A reply's results are named by the request it answers
 * (`request`: the hub does not repeat the op), whose fields also name the device or image in error texts.
 * Throws a RequestError('MALFORMED') for anything that is not [i, code, ...].
 */
export function decodeMessage(a: unknown[], request?: Message): Message {
  if (!Array.isArray(a) || !isNat(a[0]) || !isNat(a[1])) throw new RequestError('MALFORMED', `not a host-link message: ${JSON.stringify(a)}`);
  const d = a.slice(2);
  if (a[0] === 0) return decodeEvent(a[1], d);
  const q = request ?? {};
  if (a[1] !== 0) {
    const e = ERRORS[a[1]];
    const msg = e ? e.text(d, q) : `${String(q.op ?? 'the request')} refused by the hub: error ${[a[1], ...d].map(itemText).join(' ')}`;
    const m: Message = { i: a[0], ok: false, err: e ? e.name : `ERROR_${a[1]}`, msg };
    if (a[1] === Err.OUT_OF_ORDER) m.next = d[0] as Value;
    return m;
  }
  const results = typeof q.op === 'string' && Object.prototype.hasOwnProperty.call(RESULTS, q.op) ? RESULTS[q.op](d) : d.length > 0 ? { results: d as Value[] } : {};
  return { i: a[0], ok: true, ...results };
}
