// The hub core with in-memory ports and a fake radio: drive it with host requests and device frames,
// see what it sends on the radio and tells the host.
import { parseImageHeader } from '../../firmware/core/image-header';
import { ImageUploads } from '../../firmware/core/image-upload';
import * as zlib from 'zlib';
import { Alert } from '../../firmware/core/alert-queue';
import { codedError } from '../../firmware/core/bytes';
import { Message } from '../../firmware/core/host-link';
import { DEFAULT_CONFIG, Hub, HubConfig } from '../../firmware/core/hub';
import { Job } from '../../firmware/core/transfer-jobs';
import { buildZclFrame, DIR_CLIENT_TO_SERVER, FRAME_TYPE_CLUSTER, parseZclFrame } from '../../firmware/core/zcl-frame';
import { decodeOta, encodeOta, OTA_CLUSTER, OtaCommand, STATUS } from '../../firmware/core/zcl-ota';
import { ImageStore } from '../../firmware/ports/image-store';
import { KeyValueStore } from '../../firmware/ports/kv-store';
import { Radio, RadioAddress, RadioEvent } from '../../firmware/ports/radio';
import { makeImage } from './images';

export const PPMID = '000D6F0000000001';
export const HCALCS = '000D6F0000000002';
export const NWK: Record<string, number> = { [PPMID]: 0x1001, [HCALCS]: 0x1002 };
export const MFR = 0x1234;
export const TYPE = 0x0001;
export const NEW = 2;
export const OLD = 1;

export class MemoryImages implements ImageStore {
  files = new Map<string, Uint8Array>();
  constructor(private capacity = 1 << 20) {}
  create(name: string, size: number): void {
    this.files.delete(name);
    if (size > this.free()) throw codedError('FULL', 'full');
    this.files.set(name, new Uint8Array(size));
  }
  write(name: string, offset: number, data: Uint8Array): void {
    this.files.get(name)!.set(data, offset);
  }
  read(name: string, offset: number, length: number): Uint8Array {
    return this.files.get(name)!.slice(offset, offset + length);
  }
  crc32(name: string, length: number): number {
    return zlib.crc32(this.files.get(name)!.subarray(0, length)) >>> 0;
  }
  remove(name: string): void {
    this.files.delete(name);
  }
  free(): number {
    let used = 0;
    for (const f of this.files.values()) used += f.length;
    return this.capacity - used;
  }
}

export class MemoryKv implements KeyValueStore {
  data = new Map<string, string>();
  get(key: string): unknown {
    const v = this.data.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }
  set(key: string, value: unknown): void {
    this.data.set(key, JSON.stringify(value));
  }
}

export interface Sent {
  dst: RadioAddress;
  cluster: number;
  frame: ReturnType<typeof parseZclFrame>;
}

/** Records what the hub sends; events the test queues are returned on the next onBytes. */
export class FakeRadio implements Radio {
  sent: Sent[] = [];
  /** Network addresses the hub asked about, in order. */
  lookups: number[] = [];
  private pending: RadioEvent[] = [];
  start(): void {}
  lookup(nwk: number): void {
    this.lookups.push(nwk);
  }
  /** When false, frames stay unconfirmed until confirmAll(): the radio window fills. */
  autoConfirm = true;
  private handle = 0;
  private unconfirmed: number[] = [];
  send(dst: RadioAddress, clusterId: number, data: Uint8Array): number {
    this.sent.push({ dst, cluster: clusterId, frame: parseZclFrame(data) });
    this.handle = (this.handle + 1) & 0xff;
    this.unconfirmed.push(this.handle);
    if (this.autoConfirm) this.confirmAll();
    return this.handle;
  }
  /** The co-processor confirms every frame sent so far (the hub hears it with the next input). */
  confirmAll(): void {
    for (const handle of this.unconfirmed) this.pending.push({ type: 'confirm', handle, status: 0 });
    this.unconfirmed = [];
  }
  onBytes(): RadioEvent[] {
    const e = this.pending;
    this.pending = [];
    return e;
  }
  tick(): RadioEvent[] {
    return this.onBytes();
  }
  queue(ev: RadioEvent): void {
    this.pending.push(ev);
  }
  /** OTA cluster-specific commands sent to `nwk`, decoded. */
  ota(nwk: number): OtaCommand[] {
    return this.sent
      .filter((s) => s.dst.nwk === nwk && s.frame.header.frameType === FRAME_TYPE_CLUSTER)
      .map((s) => decodeOta(s.frame.header.commandId, s.frame.payload));
  }
  take(): Sent[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }
}

export class Bench {
  radio = new FakeRadio();
  images = new MemoryImages();
  kv = new MemoryKv();
  toHost: Message[] = [];
  now = 1_700_000_000_000;
  hub: Hub;
  private id = 1;
  private seq = 0;
  /** `stored` false: a hub built for a board that only streams images (no uploads). */
  constructor(cfg: Partial<HubConfig> = {}, stored = true) {
    const uploads = stored ? new ImageUploads(parseImageHeader) : undefined;
    this.hub = new Hub({ images: this.images, uploads, kv: this.kv, radio: this.radio, sendHost: (m) => this.toHost.push(m) }, { ...DEFAULT_CONFIG, ...cfg });
    this.hub.start(this.now);
  }
  /** Lets time pass: the hub's tick runs once at the new time. */
  advance(ms: number): void {
    this.now += ms;
    this.hub.tick(this.now);
  }
  request(op: string, args: Message = {}): Message {
    const i = this.id++;
    this.hub.onHostMessage({ ...args, i, op }, this.now);
    const reply = this.toHost.find((m) => m.i === i);
    if (!reply) throw new Error(`no reply to ${op}`);
    return reply;
  }
  ok(op: string, args: Message = {}): Message {
    const r = this.request(op, args);
    if (r.ok !== true) throw new Error(`${op} failed: ${r.err} ${r.msg}`);
    return r;
  }
  events(ev: string): Message[] {
    return this.toHost.filter((m) => m.ev === ev);
  }
  alerts(): Alert[] {
    return this.events('alert').map((m) => m.alert as unknown as Alert);
  }
  job(id: number): Job {
    return (this.ok('job.list').jobs as unknown as Job[]).find((j) => j.id === id)!;
  }
  uploadImage(name: string, file: Uint8Array): void {
    this.ok('img.begin', { name, size: file.length, crc: zlib.crc32(file) >>> 0 });
    for (let off = 0; off < file.length; off += 1024) this.ok('img.data', { name, off, d: file.subarray(off, off + 1024) });
    this.ok('img.end', { name });
  }
  announce(eui: string): void {
    this.radio.queue({ type: 'announce', nwk: NWK[eui], eui });
    this.hub.onRadioBytes(new Uint8Array(0), this.now);
  }
  /** The answer to a lookup: the device at `nwk` is `eui`. */
  address(nwk: number, eui: string): void {
    this.radio.queue({ type: 'address', nwk, eui });
    this.hub.onRadioBytes(new Uint8Array(0), this.now);
  }
  fromDevice(nwk: number, frameType: number, commandId: number, payload: Uint8Array): void {
    const zcl = buildZclFrame({ frameType, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: false, seq: this.seq++ & 0xff, commandId }, payload);
    this.radio.queue({ type: 'message', src: { nwk, endpoint: 1 }, dstEndpoint: 1, clusterId: OTA_CLUSTER, data: zcl, linkQuality: 200 });
    this.hub.onRadioBytes(new Uint8Array(0), this.now);
  }
  ota(nwk: number, c: OtaCommand): void {
    this.fromDevice(nwk, FRAME_TYPE_CLUSTER, c.cmd, encodeOta(c));
  }
  query(nwk: number, hardwareVersion = 2): void {
    this.ota(nwk, { cmd: 0x01, manufacturerCode: MFR, imageType: TYPE, fileVersion: OLD, hardwareVersion });
  }
  /** Pulls the whole image in 64-byte blocks, as a client would. */
  download(nwk: number, size: number): Uint8Array {
    const out = new Uint8Array(size);
    for (let off = 0; off < size; ) {
      this.radio.take();
      this.ota(nwk, { cmd: 0x03, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, fileOffset: off, maxDataSize: 64 });
      const r = this.radio.ota(nwk)[0];
      if (r.cmd !== 0x05 || r.status !== STATUS.SUCCESS || !r.block) throw new Error(`no block at ${off}`);
      out.set(r.block.data, off);
      off += r.block.data.length;
    }
    return out;
  }
  end(nwk: number, status: number): void {
    this.ota(nwk, { cmd: 0x06, status, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW });
  }
}

export const IMAGE = makeImage({ manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW, size: 4000, minHardwareVersion: 1, maxHardwareVersion: 3 });

export function ready(...euis: string[]): Bench {
  return readyWith({}, ...euis);
}

export function readyWith(cfg: Partial<HubConfig>, ...euis: string[]): Bench {
  const b = new Bench(cfg);
  b.uploadImage('fw', IMAGE);
  for (const eui of euis) {
    b.ok('dev.add', { eui, type: eui === PPMID ? 'PPMID' : 'HCALCS' });
    b.announce(eui);
  }
  return b;
}
