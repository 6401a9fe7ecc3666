// The hub core run by Node (`chub emulate`): host link and radio UART on serial ports (real or pty),
// images and state in files, the clock from Date.now(). Only wiring lives here; decisions are in the core.
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
}

export const BAUD_RATE = 115200;
const TICK_MS = 100;

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
  private timer: NodeJS.Timeout;
  private constructor(
    private host: SerialPort,
    private radio: SerialPort,
    readonly stateDir: string,
    private ownsStateDir: boolean,
    opts: NodeHubOptions,
  ) {
    const report = opts.onError || ((msg: string) => console.error('hub: ' + msg));
    // Frames and ZNP writes are views of buffers the core reuses: the port gets a copy.
    const driver = new ZnpDriver((b) => radio.write(Buffer.from(b)), undefined as unknown as RadioSink);
    const stored = opts.config?.mode !== 'streamed';
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
      { ...DEFAULT_CONFIG, ...opts.config },
    );
    driver.sink = this.hub;
    const guard = (what: string, f: () => void) => {
      try {
        f();
      } catch (e) {
        // One bad input must not stop the emulated hub; a board would log and carry on too.
        report(what + ': ' + (e as Error).stack);
      }
    };
    host.on('data', (d: Buffer) => guard('host bytes', () => this.hub.host(new Uint8Array(d), Date.now())));
    radio.on('data', (d: Buffer) => guard('radio bytes', () => this.hub.radioBytes(new Uint8Array(d), Date.now())));
    host.on('error', (e) => report('host port ' + host.path + ': ' + e.message));
    radio.on('error', (e) => report('radio port ' + radio.path + ': ' + e.message));
    this.hub.start(Date.now());
    this.timer = setInterval(() => guard('tick', () => this.hub.tick(Date.now())), TICK_MS);
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
    clearInterval(this.timer);
    await Promise.all([closePort(this.host), closePort(this.radio)]);
    if (this.ownsStateDir) fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}
