// The HAN simulator: a ZNP stick, a radio model and a set of OTA clients behind one byte stream, so a hub
// (emulated or real) can be pointed at it as its radio UART over a serial port or a pseudo-terminal.
import { EventEmitter } from 'events';
import { SerialPort } from 'serialport';
import { normaliseEui } from '../../firmware/core/bytes';
import { OTA_CLUSTER } from '../../firmware/core/zcl-ota';
import { openPtyPair } from '../serial/pty-pair';
import { ClientEvent, ClientQuirks, ClientTiming, SimDeviceSpec, SimDeviceState, SimOtaClient } from './ota-client';
import { LinkSpec } from './radio-link';
import { RadioModel } from './radio-model';
import { RealScheduler, Scheduler } from './scheduler';
import { BASIC_CLUSTER, basicClusterAnswer } from './basic-cluster';
import { simDeviceDescription } from './zdo-device';
import { StickDevice, SimZnpStick } from './znp-stick';

/** A simulated device with its radio link, its client's quirks and when it joins the network. */
export interface SimDeviceConfig extends SimDeviceSpec {
  link?: Partial<LinkSpec>;
  quirks?: Partial<ClientQuirks>;
  /** Scheduler ms after the simulator starts; absent: on the network from the start. */
  joinAtMs?: number;
}

export interface HanSimulatorOptions {
  devices: SimDeviceConfig[];
  /** Multiplier for every simulated delay: 1 is real time, 0.05 runs 20× faster. */
  timeScale?: number;
  /** Chance that one transmission attempt is lost (MAC retries follow). */
  lossRate?: number;
  /** Settings of every link without its own. */
  link?: Partial<LinkSpec>;
  seed?: number;
  /** Defaults to wall-clock timers; tests pass a ManualScheduler. */
  scheduler?: Scheduler;
  timing?: Partial<ClientTiming>;
}

/** ZDO capability bits (ZigBee spec §2.3.2.3.7): alloc address 0x80, rx on idle 0x08, mains 0x04, router 0x02. */
const CAPABILITIES = { PPMID: 0x8c, HCALCS: 0x8e };
/** Serial settings of a ZNP stick's UART (FACTS §4). */
export const ZNP_BAUD_RATE = 115200;

export interface HanSimulatorEvents {
  device: [SimDeviceState];
  /** Every client event (blocks, retries, waits, states), with the device's EUI. */
  client: [string, ClientEvent];
  log: [string];
  /** An SREQ from the host that the simulated stick cannot answer, named. */
  unsupported: [string];
}

export class HanSimulator extends EventEmitter<HanSimulatorEvents> {
  readonly radio: RadioModel;
  readonly stick: SimZnpStick;
  readonly clients: SimOtaClient[];
  private readonly scheduler: Scheduler;
  private io: { write(b: Uint8Array): void } | null = null;
  private port: SerialPort | null = null;
  /** Devices on the network (by nwk): only these hear frames or are routed to. */
  private joined = new Set<number>();
  private hubIsReady = false;

  constructor(opts: HanSimulatorOptions) {
    super();
    const timeScale = opts.timeScale ?? 1;
    this.scheduler = opts.scheduler ?? new RealScheduler();
    this.radio = new RadioModel({ lossRate: opts.lossRate, link: opts.link, seed: opts.seed, timeScale });
    this.clients = [];
    this.stick = new SimZnpStick({
      write: (b) => this.io?.write(b),
      radio: this.radio,
      scheduler: this.scheduler,
      devices: () => this.clients.filter((c) => this.joined.has(c.spec.nwk)).map((c) => this.stickDevice(c)),
      onHubReady: () => {
        this.hubIsReady = true;
        this.clients.filter((c) => this.joined.has(c.spec.nwk)).forEach((c) => c.hubReady());
      },
      onUnsupported: (m) => this.emit('unsupported', m),
      timeScale,
      log: (m) => this.emit('log', m),
    });
    for (const spec of opts.devices) {
      if (spec.link) this.radio.setLink(spec.nwk, spec.link);
      const client: SimOtaClient = new SimOtaClient(
        spec,
        {
          send: (zcl) => this.stick.fromDevice({ nwk: client.spec.nwk, endpoint: client.spec.endpoint }, OTA_CLUSTER, zcl),
          announce: () => this.stick.announce(client.spec.nwk, client.spec.eui, CAPABILITIES[client.spec.type]),
        },
        this.scheduler,
        {
          timeScale,
          random: this.radio.streamFor(spec.nwk),
          timing: opts.timing,
          quirks: spec.quirks,
          onChange: (s) => this.emit('device', s),
          onEvent: (e) => this.emit('client', client.spec.eui, e),
        },
      );
      this.clients.push(client);
      if (spec.joinAtMs === undefined) this.joined.add(spec.nwk);
      else this.scheduler.setTimer(spec.joinAtMs * timeScale, () => this.join(client));
    }
  }

  /** A client as the stick sees it: its ZDO description, its OTA client and its Basic cluster (for interviews). */
  private stickDevice(c: SimOtaClient): StickDevice {
    const s = c.spec;
    const basic = { manufacturerName: 'chub-sim', modelId: s.type, hardwareVersion: () => s.hardwareVersion, fileVersion: () => c.status().fileVersion };
    const receive = (clusterId: number, data: Uint8Array) => {
      if (clusterId !== BASIC_CLUSTER) return c.receive(clusterId, data);
      const answer = basicClusterAnswer(data, basic);
      if (answer) this.stick.fromDevice({ nwk: s.nwk, endpoint: s.endpoint }, BASIC_CLUSTER, answer);
    };
    return { nwk: s.nwk, eui: s.eui, endpoint: s.endpoint, receive, description: simDeviceDescription(s.type, s.endpoint, CAPABILITIES[s.type], s.manufacturerCode) };
  }

  /** A device joins (or rejoins) the network: it announces once the hub's endpoint is up. */
  private join(c: SimOtaClient): void {
    this.joined.add(c.spec.nwk);
    if (this.hubIsReady) c.hubReady();
  }

  /** Fault: the device loses power and comes back (a download in progress is lost). */
  reboot(eui: string): void {
    this.mustFind(eui).reboot();
  }

  /** Fault: nothing gets through on the device's link for `ms` (scaled like every delay) from now. */
  outage(eui: string, ms: number): void {
    const now = this.scheduler.now();
    this.radio.addOutage(this.mustFind(eui).spec.nwk, now, now + this.radio.scale(ms));
  }

  /** Fault: the ZNP stick resets (SYS_RESET_IND; endpoints and frames in flight are lost). */
  resetStick(): void {
    this.hubIsReady = false;
    this.stick.reset();
  }

  private mustFind(eui: string): SimOtaClient {
    const c = this.client(eui);
    if (!c) throw new Error('no simulated device ' + eui);
    return c;
  }

  /** Serve any byte stream: the stick's UART output goes to io.write; feed its input to onBytes. */
  attach(io: { write(b: Uint8Array): void }): void {
    this.io = io;
  }

  onBytes(b: Uint8Array): void {
    this.stick.onBytes(b);
  }

  devices(): SimDeviceState[] {
    return this.clients.map((c) => c.status());
  }

  client(eui: string): SimOtaClient | undefined {
    const norm = normaliseEui(eui);
    return this.clients.find((c) => c.spec.eui === norm);
  }

  /** Serve a serial port or pty at 115200 8N1. */
  async openPort(path: string): Promise<void> {
    const port = new SerialPort({ path, baudRate: ZNP_BAUD_RATE, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
    port.on('data', (d: Buffer) => this.onBytes(new Uint8Array(d.buffer, d.byteOffset, d.length)));
    port.on('error', (e) => this.emit('log', `port ${path}: ${e.message}`));
    this.port = port;
    this.attach({ write: (b) => port.write(Buffer.from(b)) });
  }

  /** Stops every device and timer and closes the port, if one was opened. */
  async close(): Promise<void> {
    for (const c of this.clients) c.stop();
    if (this.scheduler instanceof RealScheduler) this.scheduler.clearAll();
    this.io = null;
    const port = this.port;
    this.port = null;
    if (port && port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}

export interface StartedSimulator {
  /** The serial device the hub should use as its radio UART. */
  radioPath: string;
  sim: HanSimulator;
  close(): Promise<void>;
}

/** Starts a simulator on `port`, or on a fresh pty pair whose other end is returned as radioPath. */
export async function startSimulator(opts: HanSimulatorOptions & { port?: string }): Promise<StartedSimulator> {
  const sim = new HanSimulator(opts);
  if (opts.port) {
    await sim.openPort(opts.port);
    // A ZNP stick says SYS_RESET_IND when it powers up, and a hub registers its endpoint again on hearing it:
    // a hub board that booted before the simulator opened its radio UART gave up registering long ago.
    sim.resetStick();
    return { radioPath: opts.port, sim, close: () => sim.close() };
  }
  const pair = await openPtyPair('radio');
  try {
    await sim.openPort(pair.b);
  } catch (e) {
    pair.close();
    throw e;
  }
  return {
    radioPath: pair.a,
    sim,
    close: async () => {
      await sim.close();
      pair.close();
    },
  };
}
