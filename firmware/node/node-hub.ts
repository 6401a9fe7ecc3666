// The hub core run by Node (`chub emulate`): host link and radio UART on serial ports (real or pty),
// images and state in files, the clock from Date.now(). Only wiring lives here; decisions are in the core.
// It ticks the core when the core asks (wakeAt: page blocks at the client's responseSpacing), as the
// Espruino build does, with a fallback tick for the core's other timeouts.
import { uploads } from '../core/image-upload';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { SerialPort } from 'serialport';
import { DEFAULT_CONFIG, Hub, HubConfig } from '../core/hub';
import { ZnpDriver } from '../radio/znp-driver';
import { RadioSink } from '../ports/radio';
import { FileImageStore } from './file-image-store';
import { FileKeyValueStore } from './file-kv-store';

export interface NodeHubOptions {
  /** Serial port the host (`chub`) talks to. */
  hostPort: string;
  /** Serial port of the radio co-processor (a ZNP stick, or the HAN simulator's pty). */
  radioPort: string;
  /** Where images and state are kept; default a fresh temp dir, removed on close(). */
  stateDir?: string;
  /** Image store capacity in bytes. */
  imageCapacity?: number;
  config?: Partial<HubConfig>;
  /** Problems of the adapter itself (serial errors), which the hub cannot report over a broken link. */
  onError?: (msg: string) => void;
  /** The core's time and the adapter's timer; default the wall clock (tests drive a manual one). */
  clock?: Clock;
}

/** Time and one-shot timers (host-tools/sim/scheduler.ts's Scheduler fits). */
export interface Clock {
  now(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(h: unknown): void;
}

const WALL_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export const BAUD_RATE = 115200;
/** Longest gap between two ticks: the core's own timeouts (silence, confirms, version reads, progress
 *  events) are not in wakeAt and need no finer grain than this. */
export const FALLBACK_TICK_MS = 100;

/**
 * Core time of the next tick at core time `now`: the wake the core asks for (wakeAt, -1 for none), or the
 * fallback tick if that is sooner. A wake already due right after a tick means the core could not send yet
 * (the radio is busy): radio input re-arms, so waiting for it or the fallback beats spinning on a 0 ms timer.
 */
export function nextTickAt(now: number, wake: number, ticked: boolean): number {
  const fallback = now + FALLBACK_TICK_MS;
  if (wake < 0 || (ticked && wake <= now)) return fallback;
  return Math.min(Math.max(wake, now), fallback);
}

function crc32(b: Uint8Array): number {
  return zlib.crc32(b) >>> 0;
}

function openPort(p: string, role: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path: p, baudRate: BAUD_RATE, autoOpen: false });
    port.open((e) => (e ? reject(new Error('cannot open ' + role + ' port ' + p + ': ' + e.message)) : resolve(port)));
  });
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

export class NodeHub {
  readonly hub: Hub;
  private readonly clock: Clock;
  private readonly report: (msg: string) => void;
  /** The one armed timer and the core time it is due at. */
  private timer: unknown = undefined;
  private due = Infinity;
  private closed = false;
  private constructor(
    private host: SerialPort,
    private radio: SerialPort,
    readonly stateDir: string,
    private ownsStateDir: boolean,
    opts: NodeHubOptions,
  ) {
    this.report = opts.onError || ((msg: string) => console.error('hub: ' + msg));
    this.clock = opts.clock ?? WALL_CLOCK;
    // Frames and ZNP writes are views of buffers the core reuses: the port gets a copy.
    const cfg = { ...DEFAULT_CONFIG, ...opts.config };
    const driver = new ZnpDriver((b) => radio.write(Buffer.from(b)), undefined as unknown as RadioSink, cfg.radioWindow);
    const stored = cfg.mode !== 'streamed';
    this.hub = new Hub(
      {
        // A hub with a streamed board's config stores no images, as that board's bundle does not.
        images: stored ? new FileImageStore(path.join(stateDir, 'images'), opts.imageCapacity) : undefined,
        uploads: stored ? uploads : undefined,
        kv: new FileKeyValueStore(path.join(stateDir, 'kv')),
        radio: driver,
        sendHost: (b: Uint8Array) => host.write(Buffer.from(b)),
        crc32,
      },
      cfg,
    );
    driver.sink = this.hub;
    host.on('data', (d: Buffer) => this.step('host bytes', (now) => this.hub.host(new Uint8Array(d), now), false));
    radio.on('data', (d: Buffer) => this.step('radio bytes', (now) => this.hub.radioBytes(new Uint8Array(d), now), false));
    host.on('error', (e) => this.report('host port ' + host.path + ': ' + e.message));
    radio.on('error', (e) => this.report('radio port ' + radio.path + ': ' + e.message));
    this.hub.start(this.clock.now());
    this.arm(this.clock.now(), false);
  }

  /** Hands the core one input (or a tick), then re-arms the timer: any input may start a page run or free
   *  the radio for one. */
  private step(what: string, f: (now: number) => void, ticked: boolean): void {
    const now = this.clock.now();
    try {
      f(now);
    } catch (e) {
      // One bad input must not stop the emulated hub; a board would log and carry on too.
      this.report(what + ': ' + (e as Error).stack);
    }
    this.arm(now, ticked);
  }

  private readonly onTimer = () => {
    this.timer = undefined;
    this.due = Infinity;
    this.step('tick', (now) => this.hub.tick(now), true);
  };

  /** Keeps one timer, for the earliest tick the core needs: an earlier one replaces it, a later one waits. */
  private arm(now: number, ticked: boolean): void {
    if (this.closed) return;
    const at = nextTickAt(now, this.hub.wakeAt, ticked);
    if (at >= this.due) return;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.due = at;
    this.timer = this.clock.setTimer(at - now, this.onTimer);
  }

  static async open(opts: NodeHubOptions): Promise<NodeHub> {
    const owns = opts.stateDir === undefined;
    const dir = opts.stateDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'chub-state-'));
    const host = await openPort(opts.hostPort, 'host link');
    let radio: SerialPort;
    try {
      radio = await openPort(opts.radioPort, 'radio');
    } catch (e) {
      await closePort(host);
      throw e;
    }
    return new NodeHub(host, radio, dir, owns, opts);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    await Promise.all([closePort(this.host), closePort(this.radio)]);
    if (this.ownsStateDir) fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}
