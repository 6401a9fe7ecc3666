// The hub core with in-memory ports and a fake radio: drive it with host requests and device frames,
// see what it sends on the radio and tells the host.
import * as zlib from 'zlib';
import { DEFAULT_CONFIG, Hub, HubConfig } from '../../firmware/core/hub';
import { uploads } from '../../firmware/core/image-upload';
import { buildZclFrame, DIR_CLIENT_TO_SERVER, FRAME_TYPE_CLUSTER, parseZclFrame } from '../../firmware/core/zcl-frame';
import { decodeOta, encodeOta, OTA_CLUSTER, OtaCommand, STATUS } from '../../firmware/core/zcl-ota';
import { Radio, RadioEv, RadioSink } from '../../firmware/ports/radio';
import { CoreLink } from '../../host-tools/link/core-link';
import { Alert, Job, Message } from '../../host-tools/link/hub-protocol';
import { euiToWire } from '../../host-tools/link/hub-protocol';
import { MemoryImageStore, MemoryKeyValueStore } from '../../host-tools/sim/memory-stores';
import { makeImage } from './images';

export const PPMID = '000D6F0000000001';
export const HCALCS = '000D6F0000000002';
export const NWK: Record<string, number> = { [PPMID]: 0x1001, [HCALCS]: 0x1002 };
export const MFR = 0x1234;
export const TYPE = 0x0001;
export const NEW = 2;
export const OLD = 1;

/** What the radio driver would tell the hub, in the test's words. */
export type FakeEvent =
  | { type: 'announce' | 'address'; nwk: number; eui: string }
  | { type: 'message'; src: { nwk: number; endpoint: number }; clusterId: number; data: Uint8Array }
  | { type: 'confirm'; handle: number; status: number }
  | { type: 'reset'; reason: number };

export interface Sent {
  dst: { nwk: number; endpoint: number };
  cluster: number;
  frame: ReturnType<typeof parseZclFrame>;
}

/** Records what the hub sends; events the test queues reach the hub on the next onBytes or tick. */
export class FakeRadio implements Radio {
  sink!: RadioSink;
  sent: Sent[] = [];
  /** Network addresses the hub asked about, in order. */
  lookups: number[] = [];
  private pending: FakeEvent[] = [];
  lookup(nwk: number): number {
    this.lookups.push(nwk);
    return 0;
  }
  /** When false, frames stay unconfirmed until confirmAll(): the radio window fills. */
  autoConfirm = true;
  private handle = 0;
  private unconfirmed: number[] = [];
  send(nwk: number, endpoint: number, cluster: number, data: Uint8Array, len: number): number {
    this.sent.push({ dst: { nwk, endpoint }, cluster, frame: parseZclFrame(data.slice(0, len)) });
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
  onBytes(_b: Uint8Array, now: number): void {
    const e = this.pending;
    this.pending = [];
    for (const ev of e) {
      if (ev.type === 'announce' || ev.type === 'address') this.sink.radio(ev.type === 'announce' ? RadioEv.Announce : RadioEv.Address, ev.nwk, 0, euiToWire(ev.eui), now);
      else if (ev.type === 'message') this.sink.radio(RadioEv.Message, ev.src.nwk, ev.src.endpoint | (ev.clusterId << 8), ev.data, now);
      else if (ev.type === 'confirm') this.sink.radio(RadioEv.Confirm, ev.handle, ev.status, null, now);
      else if (ev.type === 'reset') this.sink.radio(RadioEv.Reset, 0, ev.reason, null, now);
    }
  }
  tick(now: number): void {
    this.onBytes(new Uint8Array(0), now);
  }
  queue(ev: FakeEvent): void {
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

/** A hub core on in-memory ports, as `new Bench` builds it (stored images unless `stored` is false). */
export function coreHub(radio: FakeRadio, images: MemoryImageStore, kv: MemoryKeyValueStore, sendHost: (b: Uint8Array) => void, cfg: Partial<HubConfig>, stored = true): Hub {
  const hub = new Hub({ images: stored ? images : undefined, uploads: stored ? uploads : undefined, kv, radio, sendHost, crc32: (b) => zlib.crc32(b) >>> 0 }, { ...DEFAULT_CONFIG, ...cfg });
  radio.sink = hub;
  return hub;
}

export class Bench {
  radio = new FakeRadio();
  images = new MemoryImageStore();
  kv = new MemoryKeyValueStore();
  toHost: Message[] = [];
  readonly link = new CoreLink((m) => this.toHost.push(m));
  now = 1_700_000_000_000;
  hub: Hub;
  private seq = 0;
  /** `stored` false: a hub built for a board that only streams images (no uploads). */
  constructor(cfg: Partial<HubConfig> = {}, stored = true) {
    this.hub = coreHub(this.radio, this.images, this.kv, this.link.fromHub, cfg, stored);
    this.hub.start(this.now);
  }
  /** Lets time pass: the hub's tick runs once at the new time. */
  advance(ms: number): void {
    this.now += ms;
    this.hub.tick(this.now);
  }
  request(op: string, args: Message = {}): Message {
    const reply = this.link.request(this.hub, op, args, this.now);
    this.toHost.push(reply);
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
    this.hub.radioBytes(new Uint8Array(0), this.now);
  }
  /** The answer to a lookup: the device at `nwk` is `eui`. */
  address(nwk: number, eui: string): void {
    this.radio.queue({ type: 'address', nwk, eui });
    this.hub.radioBytes(new Uint8Array(0), this.now);
  }
  fromDevice(nwk: number, frameType: number, commandId: number, payload: Uint8Array): void {
    const zcl = buildZclFrame({ frameType, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: false, seq: this.seq++ & 0xff, commandId }, payload);
    this.radio.queue({ type: 'message', src: { nwk, endpoint: 1 }, clusterId: OTA_CLUSTER, data: zcl });
    this.hub.radioBytes(new Uint8Array(0), this.now);
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
