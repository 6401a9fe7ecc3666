// The Comms Hub core: device log, images, jobs, alerts and the OTA server, driven by host-link
// messages, radio events and the time. No I/O of its own: everything goes through HubPorts.
import { Alert, AlertQueue } from './alert-queue';
import { codedError, CodedError } from './bytes';
import { CborValue } from './cbor';
import { Device, DeviceLog } from './device-log';
import { ImageCatalog } from './image-catalog';
import { ImageUploads } from './image-upload';
import { Message } from './host-link';
import { Arg, arg } from './request-args';
import { defaultResponseFrame, OtaServer, OtaServerConfig, OtaServerContext } from './ota-server';
import { OutboxConfig, RadioOutbox } from './radio-outbox';
import { Job, JobTable } from './transfer-jobs';
import { DIR_SERVER_TO_CLIENT, FRAME_TYPE_CLUSTER, parseZclFrame, ZclFrame } from './zcl-frame';
import { buildServerFrame, CMD, OTA_CLUSTER, STATUS } from './zcl-ota';
import { ImageStore } from '../ports/image-store';
import { KeyValueStore } from '../ports/kv-store';
import { HUB_ENDPOINT, Radio, RadioEvent } from '../ports/radio';

export interface HubConfig extends OtaServerConfig, OutboxConfig {
  fw: string;
  board: string;
  mode: string; // 'stored' | 'streamed'
  /** Largest `img.data` chunk the host may send. */
  maxChunk: number;
  maxDevices: number;
  /** Transfer jobs not yet finished at once: each holds JsVars until it ends (on espruino-2500 a transfer
   *  being served takes ~160-200: session, ranges, frames in flight), so small boards take few and refuse
   *  more with FULL. */
  maxJobs: number;
  /** job.start is refused while this many alerts, counting those running jobs will raise, await the host's
   *  acknowledgement: alerts are never dropped (DESIGN), and on a small board each held one costs JsVars. */
  maxAlerts: number;
  /** Least time between two progress events for one job. */
  progressIntervalMs: number;
  /** Upload progress is made durable every this many bytes, so an interrupted upload resumes near where it stopped. */
  uploadCheckpointBytes: number;
  /** Finished jobs listed by job.list before the oldest are forgotten. */
  keepFinishedJobs: number;
  /** Streamed images are fetched from the host in ranges of this many bytes (a multiple of maxBlock)... */
  streamRangeBytes: number;
  /** ...and the hub holds at most this many ranges (two per client served at once keeps each one ahead). */
  streamRanges: number;
  /** Least time between two lookups of one unknown network address (a device whose announce the hub missed). */
  lookupIntervalMs: number;
}

// Plain numbers, no arithmetic: esbuild keeps an unused `16 * 1024` (it might have side effects), and with it
// this whole table in every board's bundle.
export const DEFAULT_CONFIG: HubConfig = {
  fw: '0.1.0',
  board: 'node',
  mode: 'stored',
  maxChunk: 1024,
  maxDevices: 32,
  maxJobs: 32,
  maxAlerts: 256,
  progressIntervalMs: 500,
  uploadCheckpointBytes: 16384,
  keepFinishedJobs: 32,
  lookupIntervalMs: 30000,
  streamRangeBytes: 512,
  streamRanges: 20,
  maxBlock: 64,
  silenceTimeoutMs: 600000, // 10 min
  versionReadTimeoutMs: 15000,
  maxSessions: 10,
  busyWaitS: 30,
  minBlockPeriodMs: 0,
  activationSettleMs: 10000,
  radioWindow: 4,
  confirmTimeoutMs: 3000,
};

export interface HubPorts {
  images: ImageStore;
  /** Uploads into `images` (new ImageUploads(parseImageHeader)). Left out on boards that only stream
   *  images, so neither it nor the header parser is in their bundle; such a hub refuses uploads. */
  uploads?: ImageUploads;
  kv: KeyValueStore;
  radio: Radio;
  sendHost(m: Message): void;
}

/** The hub is its OTA server's context: the server reaches the radio, the host and the clock through it. */
export class Hub implements OtaServerContext {
  readonly devices: DeviceLog;
  readonly images: ImageCatalog;
  readonly jobs: JobTable;
  readonly alerts: AlertQueue;
  private ota: OtaServer;
  private outbox: RadioOutbox;
  private clockOffset = 0;
  private lastProgress: { [job: string]: number } = {};
  /** Devices that announced before they were in the device log (eui → nwk): bound when added, as they
   *  will not announce again until they rejoin. */
  private unlisted: { [eui: string]: number } = {};
  /** When each unknown network address was last looked up (nwk → core time). */
  private lookups: { [nwk: string]: number } = {};
  private now = 0;

  // Plain methods rather than closures or a table of handlers: on a small Espruino board every function
  // object costs JsVars for as long as the hub runs.
  constructor(private ports: HubPorts, readonly cfg: HubConfig) {
    const kv = ports.kv;
    this.devices = new DeviceLog(cfg.maxDevices, kv.get('devices'));
    this.images = new ImageCatalog(ports.images, kv.get('images'), cfg.streamRangeBytes, cfg.streamRanges, ports.sendHost);
    // Jobs and alerts live under one key so a reset can never keep one without the other
    // (a job marked done without its alert, or an alert for a job that will run again).
    const ledger = (kv.get('ledger') || {}) as { jobs?: unknown; alerts?: unknown };
    this.jobs = new JobTable(cfg.keepFinishedJobs, ledger.jobs);
    this.alerts = new AlertQueue(ledger.alerts);
    this.outbox = new RadioOutbox(cfg, ports.radio);
    this.ota = new OtaServer(cfg, this.jobs, this.images, this.alerts, this);
  }

  start(now: number): void {
    this.now = now;
    this.ota.resume(now);
    this.ports.radio.start(now);
  }

  /** Core time at which tick() next has work (page blocks waiting for their spacing), or -1. */
  nextWake(): number {
    return this.ota.nextPageAt();
  }

  /** Unix ms: the core's time corrected by the clock the host last set. */
  wall(now: number): number {
    return now + this.clockOffset;
  }

  send(dev: Device, zcl: Uint8Array): void {
    if (dev.nwk === undefined) return this.log('cannot reach ' + dev.eui + ': it has not joined');
    this.outbox.enqueue(dev.eui, { nwk: dev.nwk, endpoint: dev.endpoint || HUB_ENDPOINT }, OTA_CLUSTER, zcl);
  }

  queued(dev: Device): number {
    return this.outbox.queued(dev.eui);
  }

  cancel(dev: Device): void {
    this.outbox.clear(dev.eui);
  }

  device(eui: string): Device | undefined {
    return this.devices.find(eui);
  }

  alertRaised(a: Alert): void {
    this.save('ledger');
    this.ports.sendHost({ ev: 'alert', alert: a as unknown as CborValue });
  }

  onHostMessage(m: Message, now: number): void {
    this.now = now;
    let reply: Message;
    try {
      reply = this.request(m, now) || {};
      reply.ok = true;
    } catch (e) {
      const err = e as CodedError;
      reply = { ok: false, err: err.code || 'INTERNAL', msg: err.message };
      if (err.next !== undefined) reply.next = err.next;
    }
    reply.i = m.i;
    this.ports.sendHost(reply);
    this.outbox.pump(now);
  }

  onRadioBytes(b: Uint8Array, now: number): void {
    this.now = now;
    this.radioEvents(this.ports.radio.onBytes(b, now), now);
    this.outbox.pump(now);
  }

  tick(now: number): void {
    this.now = now;
    this.radioEvents(this.ports.radio.tick(now), now);
    this.outbox.tick(now);
    this.ota.tick(now);
    this.outbox.pump(now);
  }

  private radioEvents(evs: RadioEvent[], now: number): void {
    for (let i = 0; i < evs.length; i++) {
      const ev = evs[i];
      if (ev.type === 'message') this.onRadioMessage(ev.src.nwk, ev.src.endpoint, ev.clusterId, ev.data, now);
      else if (ev.type === 'announce') {
        const dev = this.locate(ev.nwk, ev.eui, now);
        if (dev) this.ota.rejoined(dev, now);
      }
      else if (ev.type === 'address') this.locate(ev.nwk, ev.eui, now);
      else if (ev.type === 'reset') this.log('radio co-processor reset (reason ' + ev.reason + '); registering again');
      else if (ev.type === 'error') this.log('radio: ' + ev.message);
      else if (ev.type === 'confirm') {
        this.outbox.confirmed(ev.handle);
        if (ev.status !== 0) this.log('radio: frame ' + ev.handle + ' not delivered (status 0x' + ev.status.toString(16) + ')');
      }
    }
  }

  /** A device is at `nwk` (it announced, or answered a lookup): a listed one is bound there and told of an image
   *  waiting for it; another is remembered for when it is added. */
  private locate(nwk: number, eui: string, now: number): Device | undefined {
    const dev = this.devices.find(eui);
    if (!dev) {
      const known = Object.keys(this.unlisted);
      if (known.length >= this.cfg.maxDevices && this.unlisted[eui] === undefined) delete this.unlisted[known[0]];
      this.unlisted[eui] = nwk;
      this.log('device ' + eui + ' (0x' + nwk.toString(16) + ') is on the network but not in the device log; ignored');
      return undefined;
    }
    this.devices.bind(dev, nwk, now);
    this.save('devices');
    const job = this.jobs.active(eui);
    if (job && job.state === 'queued') this.ota.notify(dev);
    return dev;
  }

  /** Asks who an unknown network address is, at most once per lookupIntervalMs: a listed device whose announce
   *  was lost is then served from its next request, as real coordinators learn addresses (ZDO IEEE_addr_req). */
  private lookUp(nwk: number, now: number): void {
    const keys = Object.keys(this.lookups);
    for (let i = 0; i < keys.length; i++) if (now - this.lookups[keys[i]] >= this.cfg.lookupIntervalMs) delete this.lookups[keys[i]];
    if (this.lookups[nwk] !== undefined) return;
    this.lookups[nwk] = now;
    this.ports.radio.lookup(nwk, now);
  }

  private onRadioMessage(nwk: number, endpoint: number, cluster: number, data: Uint8Array, now: number): void {
    if (cluster !== OTA_CLUSTER) return;
    const dev = this.devices.byNwk(nwk);
    let f: ZclFrame;
    try {
      f = parseZclFrame(data);
    } catch (e) {
      return this.log('malformed ZCL frame from ' + (dev ? dev.eui : '0x' + nwk.toString(16)) + ': ' + (e as Error).message);
    }
    if (!dev) {
      this.lookUp(nwk, now);
      return this.refuse(nwk, endpoint, f, now);
    }
    dev.endpoint = endpoint;
    dev.lastSeen = now;
    this.ota.handle(dev, f, now);
  }

  /** A device not in the device log gets NOT_AUTHORIZED and nothing else (GBCS Device Log). */
  private refuse(nwk: number, endpoint: number, f: ZclFrame, now: number): void {
    this.log('OTA command 0x' + f.header.commandId.toString(16) + ' from device 0x' + nwk.toString(16) + ', which is not in the device log: NOT_AUTHORIZED');
    if (f.header.direction === DIR_SERVER_TO_CLIENT) return; // never answer a response
    let zcl: Uint8Array;
    if (f.header.frameType === FRAME_TYPE_CLUSTER && f.header.commandId === CMD.QUERY_NEXT_IMAGE_REQUEST) {
      const h = { frameType: FRAME_TYPE_CLUSTER, direction: DIR_SERVER_TO_CLIENT, disableDefaultResponse: true, seq: f.header.seq, commandId: CMD.QUERY_NEXT_IMAGE_RESPONSE };
      zcl = buildServerFrame(h, { cmd: 0x02, status: STATUS.NOT_AUTHORIZED });
    } else zcl = defaultResponseFrame(f, STATUS.NOT_AUTHORIZED);
    this.outbox.enqueue('0x' + nwk.toString(16), { nwk: nwk, endpoint: endpoint }, OTA_CLUSTER, zcl);
  }

  jobChanged(job: Job, stateChanged: boolean): void {
    const key = String(job.id);
    const last = this.lastProgress[key];
    if (!stateChanged && last !== undefined && this.now - last < this.cfg.progressIntervalMs) return;
    this.lastProgress[key] = this.now;
    if (stateChanged) {
      this.save('ledger');
      // The last download of an image is over: its streamed ranges are of no more use (JsVars, on small boards).
      if (!this.jobs.downloading(job.image)) this.images.idle(job.image);
    }
    this.ports.sendHost({ ev: 'job', job: job as unknown as CborValue });
  }

  log(msg: string): void {
    this.ports.sendHost({ ev: 'log', level: 'info', msg: msg });
  }

  save(what: string): void {
    const kv = this.ports.kv;
    if (what === 'devices') kv.set('devices', this.devices.list());
    else if (what === 'images') kv.set('images', this.images.list());
    else if (what === 'ledger') kv.set('ledger', { jobs: this.jobs.save(), alerts: this.alerts.save() } as unknown);
  }

  /** One host request (docs/host-link.md): its result, or a CodedError. */
  private request(m: Message, now: number): Message | void {
    switch (m.op) {
      case 'hello':
        if (typeof m.time === 'number') this.clockOffset = m.time - now;
        return { fw: this.cfg.fw, board: this.cfg.board, mode: this.cfg.mode, time: this.wall(now), maxChunk: this.cfg.maxChunk, maxJobs: this.cfg.maxJobs, maxAlerts: this.cfg.maxAlerts };
      case 'dev.add': {
        const d = this.devices.add(arg(m, 'eui', Arg.Str) as string, arg(m, 'type', Arg.Str) as string);
        const nwk = this.unlisted[d.eui];
        if (nwk !== undefined && d.nwk === undefined) {
          delete this.unlisted[d.eui];
          this.devices.bind(d, nwk, now);
        }
        this.save('devices');
        return { device: d as unknown as CborValue };
      }
      case 'dev.rm': {
        const d = this.devices.get(arg(m, 'eui', Arg.Str) as string);
        if (this.jobs.active(d.eui)) throw codedError('BUSY', 'device ' + d.eui + ' has a transfer in progress');
        this.devices.remove(d.eui);
        return this.save('devices');
      }
      case 'dev.list':
        return page('devices', this.devices.list(), m);
      case 'img.begin':
      case 'img.data':
      case 'img.end': {
        const u = this.ports.uploads;
        if (!u) throw codedError('NOT_STORED', 'this hub stores no images: use chub distribute --stream');
        return u.request(m, this.images, this.cfg.uploadCheckpointBytes, this);
      }
      case 'img.stream': {
        const name = arg(m, 'name', Arg.Str) as string;
        const img = this.images.stream({
          name: name,
          size: arg(m, 'size', Arg.Nat) as number,
          crc: arg(m, 'crc', Arg.Nat) as number,
          manufacturerCode: arg(m, 'manufacturerCode', Arg.Nat) as number,
          imageType: arg(m, 'imageType', Arg.Nat) as number,
          fileVersion: arg(m, 'fileVersion', Arg.Nat) as number,
          minHw: m.minHw === undefined ? undefined : (arg(m, 'minHw', Arg.Nat) as number),
          maxHw: m.maxHw === undefined ? undefined : (arg(m, 'maxHw', Arg.Nat) as number),
          complete: true,
          next: 0,
        }, this.jobs.usesImage(name));
        this.save('images');
        return { image: img as unknown as CborValue };
      }
      case 'img.range':
        this.images.range(arg(m, 'name', Arg.Str) as string, arg(m, 'off', Arg.Nat) as number, arg(m, 'd', Arg.Bytes) as Uint8Array, now);
        return;
      case 'img.list':
        return page('images', this.images.list(), m);
      case 'img.rm': {
        const name = arg(m, 'name', Arg.Str) as string;
        if (this.jobs.usesImage(name)) throw codedError('IN_USE', 'image ' + name + ' is being distributed');
        this.images.remove(name);
        return this.save('images');
      }
      case 'job.start':
        return { jobs: this.startJobs(arg(m, 'image', Arg.Str) as string, arg(m, 'devices', Arg.Strs) as string[], m.force === true, now) as unknown as CborValue };
      case 'job.list':
        return page('jobs', this.jobs.list(), m);
      case 'alert.list':
        return page('alerts', this.alerts.list(), m);
      case 'alert.ack': {
        const n = this.alerts.ack(arg(m, 'ids', Arg.Nums) as number[]);
        this.save('ledger');
        return { acked: n };
      }
      case 'activate': {
        const dev = this.joined(arg(m, 'eui', Arg.Str) as string);
        const job = this.jobs.holding(dev.eui);
        if (!job) throw codedError('NOTHING_HELD', 'device ' + dev.eui + ' holds no transferred image to activate');
        this.ota.activate(dev, job, typeof m.at === 'number' ? m.at : this.wall(now), now);
        return { job: job as unknown as CborValue };
      }
      case 'version.read':
        return this.ota.readVersion(this.joined(arg(m, 'eui', Arg.Str) as string), now);
    }
    throw codedError('BAD_OP', 'unknown request ' + JSON.stringify(m.op));
  }

  private startJobs(imageName: string, euis: string[], force: boolean, now: number): Job[] {
    // The reply lists every job started, and must fit one host-link frame.
    if (euis.length > PAGE) throw codedError('BAD_ARGS', 'at most ' + PAGE + ' devices per job.start; send several');
    const img = this.images.get(imageName);
    // All or none: a refused job.start starts nothing, so the host can simply ask again later.
    const running = this.jobs.running();
    const room = Math.min(this.cfg.maxJobs, this.cfg.maxAlerts - this.alerts.held.length) - running;
    if (euis.length > room)
      throw codedError('FULL', 'room for ' + Math.max(room, 0) + ': ' + running + ' running, ' + this.alerts.held.length + ' alerts to ack');
    const devs: Device[] = [];
    for (let i = 0; i < euis.length; i++) {
      devs.push(this.devices.get(euis[i]));
      if (this.jobs.active(devs[i].eui)) throw codedError('BUSY', 'device ' + devs[i].eui + ' already has a transfer in progress');
    }
    const out: Job[] = [];
    for (let i = 0; i < devs.length; i++) {
      out.push(this.jobs.create(devs[i].eui, img as { name: string; size: number; manufacturerCode: number; imageType: number; fileVersion: number }, force, now));
      if (devs[i].nwk !== undefined) this.ota.notify(devs[i]);
    }
    this.save('ledger');
    return out;
  }

  /** A listed device the radio can reach. */
  private joined(eui: string): Device {
    const dev = this.devices.get(eui);
    if (dev.nwk === undefined) throw codedError('NOT_JOINED', 'device ' + dev.eui + ' has not joined the network');
    return dev;
  }
}

/** List items per reply, and devices per job.start: six of the largest items (a job, ~170 bytes of CBOR)
 *  stay well inside one host-link frame. */
export const PAGE = 6;

/** One page of a list from index `m.from`; `more` is where the next page starts, when there is one. */
function page(key: string, items: unknown[], m: Message): Message {
  const from = m.from === undefined ? 0 : (arg(m, 'from', Arg.Nat) as number);
  const out: Message = {};
  out[key] = items.slice(from, from + PAGE) as unknown as CborValue;
  if (from + PAGE < items.length) out.more = from + PAGE;
  return out;
}
