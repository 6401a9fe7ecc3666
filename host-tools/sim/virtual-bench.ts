// The whole bench in one process on one virtual clock: the real hub core and ZNP driver, the simulated ZNP
// stick and HAN, joined by UART lines that run at the stick's baud rate. The clock jumps from one event to
// the next, so an hour of HAN traffic takes seconds. The host side talks to the hub through
// an in-process host link (CoreLink) with the same frames the serial link would carry.
import { uploads } from '../../firmware/core/image-upload';
import { CoreLink } from '../link/core-link';
import { crc32 } from 'zlib';
import { Message } from '../link/hub-protocol';
import { DEFAULT_CONFIG, Hub, HubConfig } from '../../firmware/core/hub';
import { ZnpDriver } from '../../firmware/radio/znp-driver';
import { RadioSink } from '../../firmware/ports/radio';
import { HanSimulator, SimDeviceConfig, ZNP_BAUD_RATE } from './han-simulator';
import { MemoryImageStore, MemoryKeyValueStore } from './memory-stores';
import { ClientTiming } from './ota-client';
import { LinkSpec } from './radio-link';
import { ManualScheduler } from './scheduler';
import { UartLine } from './uart-line';

export interface VirtualBenchOptions {
  devices: SimDeviceConfig[];
  seed?: number;
  /** Settings of every link without its own. */
  link?: Partial<LinkSpec>;
  timing?: Partial<ClientTiming>;
  hub?: Partial<HubConfig>;
  /** Unix ms at virtual time 0: the hub's wall clock (alert times) and capture timestamps. */
  epochMs?: number;
}

/** A host-link event (`ev` set) and the virtual time it was sent at. */
export type HostEvent = Message & { ev: string };

/** How often the hub core is ticked: NodeHub's fallback tick. Unlike NodeHub, the bench does not also wake
 *  when the core asks (wakeAt), so page blocks go out on this grain, not at the client's responseSpacing. */
const TICK_MS = 100;
/** 2025-01-01T00:00:00Z: a fixed wall clock, so reports replay exactly. */
export const DEFAULT_EPOCH_MS = Date.UTC(2025, 0, 1);

export class VirtualBench {
  readonly clock = new ManualScheduler();
  readonly sim: HanSimulator;
  readonly cfg: HubConfig;
  readonly epochMs: number;
  /** Exceptions thrown by the hub core: a board would log them and carry on, so the bench does too. */
  readonly hubErrors: string[] = [];
  private hub: Hub;
  private readonly images = new MemoryImageStore();
  private readonly kv = new MemoryKeyValueStore();
  private readonly toStick: UartLine;
  private readonly toHub: UartLine;
  private link = new CoreLink((m) => this.fromHub(m));
  private listeners: ((e: HostEvent, at: number) => void)[] = [];

  constructor(opts: VirtualBenchOptions) {
    this.epochMs = opts.epochMs ?? DEFAULT_EPOCH_MS;
    // The bench's hub takes every device at once: as many jobs and download sessions as devices (admitted in
    // waves of maxSessions, devices wait busyWaitS between tries and the last wave starts late: Jain 0.69 for
    // 50 devices, against 0.999 at the same total time). A board's own limits are in boards/*.json.
    const n = Math.max(DEFAULT_CONFIG.maxDevices, opts.devices.length);
    this.cfg = { ...DEFAULT_CONFIG, maxDevices: n, maxJobs: n, maxSessions: n, maxAlerts: Math.max(DEFAULT_CONFIG.maxAlerts, n), ...opts.hub };
    this.sim = new HanSimulator({ devices: opts.devices, seed: opts.seed, link: opts.link, timing: opts.timing, scheduler: this.clock });
    this.toHub = new UartLine(this.clock, (b) => this.guard('radio bytes', () => this.hub.radioBytes(b, this.clock.now())), ZNP_BAUD_RATE);
    this.toStick = new UartLine(this.clock, (b) => this.sim.onBytes(b), ZNP_BAUD_RATE);
    this.sim.attach({ write: (b) => this.toHub.write(b) });
    this.hub = this.boot();
    const tick = () => {
      this.guard('tick', () => this.hub.tick(this.clock.now()));
      this.clock.setTimer(TICK_MS, tick);
    };
    this.clock.setTimer(TICK_MS, tick);
  }

  /** Host-link events from the hub (alerts, job changes, logs). */
  onEvent(fn: (e: HostEvent, at: number) => void): void {
    this.listeners.push(fn);
  }

  /** A host request, answered at once (the host link's own time is not simulated); throws on ok: false. */
  request(op: string, args: Message = {}): Message {
    const reply = this.link.request(this.hub, op, args, this.clock.now());
    if (reply.ok !== true) throw new Error(`hub refused ${op}: ${String(reply.err)} ${String(reply.msg)}`);
    return reply;
  }

  /** img.begin / img.data in maxChunk pieces / img.end. */
  upload(name: string, image: Uint8Array): Message {
    let off = this.request('img.begin', { name, size: image.length, crc: crc32(image) >>> 0 }).next as number;
    while (off < image.length) off = this.request('img.data', { name, off, d: image.subarray(off, off + this.cfg.maxChunk) }).next as number;
    return this.request('img.end', { name });
  }

  /**
   * Registers `image` as a streamed image and answers the hub's `need` events with img.range, each after
   * the time the range takes over a host link of `linkBps` bytes/s (as chub does over the serial link).
   * Returns how many range bytes the host has sent.
   */
  stream(name: string, image: Uint8Array, facts: Message, linkBps = 11520): () => number {
    let sent = 0;
    this.onEvent((e) => {
      if (e.ev !== 'need' || e.img !== name) return;
      const off = e.off as number;
      const len = e.len as number;
      this.clock.setTimer((len * 1000) / linkBps, () => {
        sent += len;
        this.guard('img.range', () => this.request('img.range', { name, off, d: image.subarray(off, off + len) }));
      });
    });
    this.request('img.stream', { ...facts, name, size: image.length, crc: crc32(image) >>> 0 });
    return () => sent;
  }

  /** Fault: the hub restarts from what it kept in its stores; bytes on their way to it reach the new one. */
  resetHub(): void {
    this.hub = this.boot();
  }

  /** Runs the clock until `endMs` (virtual) or until `stop()` holds after an event. */
  run(endMs: number, stop?: () => boolean): void {
    this.clock.runUntil(endMs, stop);
  }

  private boot(): Hub {
    // The driver's frames are views of its buffers: the line gets a copy.
    const driver = new ZnpDriver((b) => this.toStick.write(new Uint8Array(b)), undefined as unknown as RadioSink, this.cfg.radioWindow);
    const hub = new Hub({ images: this.images, uploads, kv: this.kv, radio: driver, sendHost: this.link.fromHub, crc32: (b) => crc32(b) >>> 0 }, this.cfg);
    driver.sink = hub;
    this.hub = hub;
    hub.start(this.clock.now());
    this.request('hello', { time: this.epochMs + this.clock.now() });
    return hub;
  }

  private fromHub(m: Message): void {
    if (typeof m.ev === 'string') for (const fn of this.listeners) fn(m as HostEvent, this.clock.now());
  }

  private guard(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.hubErrors.push(`${what} at ${this.clock.now().toFixed(1)} ms: ${(e as Error).message}`);
    }
  }
}
