// The Comms Hub core: device log, images, jobs, alerts and the OTA server, driven by host-link
// messages, radio events and the time. No I/O of its own: everything goes through HubPorts.
import { AlertQueue } from './alert-queue';
import { codedError, CodedError } from './bytes';
import { CborValue } from './cbor';
import { Device, DeviceLog } from './device-log';
import { ImageCatalog, ImageMeta } from './image-catalog';
import { Message } from './host-link';
import { defaultResponseFrame, OtaServer, OtaServerConfig } from './ota-server';
import { OutboxConfig, RadioOutbox } from './radio-outbox';
import { Job, JobTable } from './transfer-jobs';
import { buildZclFrame, DIR_SERVER_TO_CLIENT, FRAME_TYPE_CLUSTER, parseZclFrame, ZclFrame } from './zcl-frame';
import { CMD, encodeOta, OTA_CLUSTER, STATUS } from './zcl-ota';
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
  /** Least time between two progress events for one job. */
  progressIntervalMs: number;
  /** Upload progress is made durable every this many bytes, so an interrupted upload resumes near where it stopped. */
  uploadCheckpointBytes: number;
  /** Least time between two lookups of one unknown network address (a device whose announce the hub missed). */
  lookupIntervalMs: number;
}

export const DEFAULT_CONFIG: HubConfig = {
  fw: '0.1.0',
  board: 'node',
  mode: 'stored',
  maxChunk: 1024,
  maxDevices: 32,
  progressIntervalMs: 500,
  uploadCheckpointBytes: 16 * 1024,
  lookupIntervalMs: 30000,
  maxBlock: 64,
  silenceTimeoutMs: 10 * 60 * 1000,
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
  kv: KeyValueStore;
  radio: Radio;
  sendHost(m: Message): void;
}

type Handler = (hub: Hub, m: Message, now: number) => Message | void;

export class Hub {
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

  constructor(private ports: HubPorts, readonly cfg: HubConfig) {
    const kv = ports.kv;
    this.devices = new DeviceLog(cfg.maxDevices, kv.get('devices'));
    this.images = new ImageCatalog(ports.images, kv.get('images'));
    // Jobs and alerts live under one key so a reset can never keep one without the other
    // (a job marked done without its alert, or an alert for a job that will run again).
    const ledger = (kv.get('ledger') || {}) as { jobs?: unknown; alerts?: unknown };
    this.jobs = new JobTable(ledger.jobs);
    this.alerts = new AlertQueue(ledger.alerts);
    this.outbox = new RadioOutbox(cfg, function (dst, cluster, data, now) {
      return ports.radio.send(dst, cluster, data, now);
    });
    const self = this;
    this.ota = new OtaServer(cfg, this.jobs, this.images, this.alerts, {
      send: function (dev: Device, zcl: Uint8Array) {
        if (dev.nwk === undefined) return self.log('cannot reach ' + dev.eui + ': it has not joined');
        self.outbox.enqueue(dev.eui, { nwk: dev.nwk, endpoint: dev.endpoint || HUB_ENDPOINT }, OTA_CLUSTER, zcl, self.now);
      },
      queued: function (dev: Device) {
        return self.outbox.queued(dev.eui);
      },
      cancel: function (dev: Device) {
        self.outbox.clear(dev.eui);
      },
      device: function (eui: string) {
        return self.devices.find(eui);
      },
      jobChanged: function (job: Job, stateChanged: boolean) {
        self.jobChanged(job, stateChanged);
      },
      alertRaised: function (a) {
        self.save('ledger');
        ports.sendHost({ ev: 'alert', alert: a as unknown as CborValue });
      },
      log: function (msg: string) {
        self.log(msg);
      },
      wall: function (now: number) {
        return self.wall(now);
      },
    });
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

  onHostMessage(m: Message, now: number): void {
    this.now = now;
    const handler = typeof m.op === 'string' ? HANDLERS[m.op] : undefined;
    let reply: Message;
    try {
      if (!handler) throw codedError('BAD_OP', 'unknown request ' + JSON.stringify(m.op));
      reply = handler(this, m, now) || {};
      reply.ok = true;
    } catch (e) {
      const err = e as CodedError;
      reply = { ok: false, err: err.code || 'INTERNAL', msg: err.message };
      if (err.next !== undefined) reply.next = err.next;
    }
    reply.i = m.i;
    this.ports.sendHost(reply);
  }

  onRadioBytes(b: Uint8Array, now: number): void {
    this.now = now;
    this.radioEvents(this.ports.radio.onBytes(b, now), now);
  }

  tick(now: number): void {
    this.now = now;
    this.radioEvents(this.ports.radio.tick(now), now);
    this.outbox.tick(now);
    this.ota.tick(now);
  }

  private radioEvents(evs: RadioEvent[], now: number): void {
    for (let i = 0; i < evs.length; i++) {
      const ev = evs[i];
      if (ev.type === 'message') this.onRadioMessage(ev.src.nwk, ev.src.endpoint, ev.clusterId, ev.data, now);
      else if (ev.type === 'announce') this.onAnnounce(ev.nwk, ev.eui, now);
      else if (ev.type === 'address') this.locate(ev.nwk, ev.eui, now);
      else if (ev.type === 'reset') this.log('radio co-processor reset (reason ' + ev.reason + '); registering again');
      else if (ev.type === 'error') this.log('radio: ' + ev.message);
      else if (ev.type === 'confirm') {
        this.outbox.confirmed(ev.handle, now);
        if (ev.status !== 0) this.log('radio: frame ' + ev.handle + ' not delivered (status 0x' + ev.status.toString(16) + ')');
      }
    }
  }

  private onAnnounce(nwk: number, eui: string, now: number): void {
    const dev = this.locate(nwk, eui, now);
    if (dev) this.ota.rejoined(dev, now);
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
      zcl = buildZclFrame(h, encodeOta({ cmd: 0x02, status: STATUS.NOT_AUTHORIZED }));
    } else zcl = defaultResponseFrame(f, STATUS.NOT_AUTHORIZED);
    this.outbox.enqueue('0x' + nwk.toString(16), { nwk: nwk, endpoint: endpoint }, OTA_CLUSTER, zcl, now);
  }

  private jobChanged(job: Job, stateChanged: boolean): void {
    const key = String(job.id);
    const last = this.lastProgress[key];
    if (!stateChanged && last !== undefined && this.now - last < this.cfg.progressIntervalMs) return;
    this.lastProgress[key] = this.now;
    if (stateChanged) this.save('ledger');
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

  addDevice(eui: string, type: string, now: number): Device {
    const d = this.devices.add(eui, type);
    const nwk = this.unlisted[d.eui];
    if (nwk !== undefined && d.nwk === undefined) {
      delete this.unlisted[d.eui];
      this.devices.bind(d, nwk, now);
    }
    this.save('devices');
    return d;
  }

  // Host requests (docs/host-link.md) that need the OTA server.
  startJobs(imageName: string, euis: string[], force: boolean, now: number): Job[] {
    const img = this.images.get(imageName);
    const devs: Device[] = [];
    for (let i = 0; i < euis.length; i++) {
      devs.push(this.devices.get(euis[i]));
      if (this.jobs.active(devs[i].eui)) throw codedError('BUSY', 'device ' + devs[i].eui + ' already has a transfer in progress');
    }
    const out: Job[] = [];
    for (let i = 0; i < devs.length; i++) {
      const job = this.jobs.create(devs[i].eui, imageInfo(img), force, now);
      out.push(job);
      if (devs[i].nwk !== undefined) this.ota.notify(devs[i]);
    }
    this.save('ledger');
    return out;
  }

  activate(eui: string, at: number, now: number): Job {
    const dev = this.devices.get(eui);
    const job = this.jobs.holding(dev.eui);
    if (!job) throw codedError('NOTHING_HELD', 'device ' + dev.eui + ' holds no transferred image to activate');
    if (dev.nwk === undefined) throw codedError('NOT_JOINED', 'device ' + dev.eui + ' has not joined the network');
    this.ota.activate(dev, job, at, now);
    return job;
  }

  readVersion(eui: string, now: number): void {
    const dev = this.devices.get(eui);
    if (dev.nwk === undefined) throw codedError('NOT_JOINED', 'device ' + dev.eui + ' has not joined the network');
    this.ota.readVersion(dev, now);
  }

  setClock(unixMs: number, now: number): void {
    this.clockOffset = unixMs - now;
  }
}

function imageInfo(m: ImageMeta): { name: string; size: number; manufacturerCode: number; imageType: number; fileVersion: number } {
  return { name: m.name, size: m.size, manufacturerCode: m.manufacturerCode as number, imageType: m.imageType as number, fileVersion: m.fileVersion as number };
}

function str(m: Message, key: string): string {
  const v = m[key];
  if (typeof v !== 'string') throw codedError('BAD_ARGS', '"' + key + '" must be a string');
  return v;
}

function num(m: Message, key: string): number {
  const v = m[key];
  if (typeof v !== 'number' || v < 0 || Math.floor(v) !== v) throw codedError('BAD_ARGS', '"' + key + '" must be a non-negative integer');
  return v;
}

function bytesArg(m: Message, key: string): Uint8Array {
  const v = m[key];
  if (!(v instanceof Uint8Array)) throw codedError('BAD_ARGS', '"' + key + '" must be a byte string');
  return v;
}

function strList(m: Message, key: string): string[] {
  const v = m[key];
  if (!Array.isArray(v) || v.length === 0) throw codedError('BAD_ARGS', '"' + key + '" must be a non-empty list');
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== 'string') throw codedError('BAD_ARGS', '"' + key + '" must hold strings');
  return v as string[];
}

const HANDLERS: { [op: string]: Handler } = {
  hello: function (hub, m, now) {
    if (typeof m.time === 'number') hub.setClock(m.time, now);
    return { fw: hub.cfg.fw, board: hub.cfg.board, mode: hub.cfg.mode, time: hub.wall(now), maxChunk: hub.cfg.maxChunk };
  },
  'dev.add': function (hub, m, now) {
    return { device: hub.addDevice(str(m, 'eui'), str(m, 'type'), now) as unknown as CborValue };
  },
  'dev.rm': function (hub, m) {
    const d = hub.devices.get(str(m, 'eui'));
    if (hub.jobs.active(d.eui)) throw codedError('BUSY', 'device ' + d.eui + ' has a transfer in progress');
    hub.devices.remove(d.eui);
    hub.save('devices');
  },
  'dev.list': function (hub) {
    return { devices: hub.devices.list() as unknown as CborValue };
  },
  'img.begin': function (hub, m) {
    const next = hub.images.begin(str(m, 'name'), num(m, 'size'), num(m, 'crc'));
    hub.save('images');
    return { next: next };
  },
  'img.data': function (hub, m) {
    const off = num(m, 'off');
    const next = hub.images.data(str(m, 'name'), off, bytesArg(m, 'd'));
    const cp = hub.cfg.uploadCheckpointBytes;
    if (Math.floor(next / cp) > Math.floor(off / cp)) hub.save('images');
    return { next: next };
  },
  'img.end': function (hub, m) {
    try {
      return { image: hub.images.end(str(m, 'name')) as unknown as CborValue };
    } finally {
      hub.save('images');
    }
  },
  'img.list': function (hub) {
    return { images: hub.images.list() as unknown as CborValue };
  },
  'img.rm': function (hub, m) {
    const name = str(m, 'name');
    if (hub.jobs.usesImage(name)) throw codedError('IN_USE', 'image ' + name + ' is being distributed');
    hub.images.remove(name);
    hub.save('images');
  },
  'job.start': function (hub, m, now) {
    return { jobs: hub.startJobs(str(m, 'image'), strList(m, 'devices'), m.force === true, now) as unknown as CborValue };
  },
  'job.list': function (hub) {
    return { jobs: hub.jobs.list() as unknown as CborValue };
  },
  'alert.list': function (hub) {
    return { alerts: hub.alerts.list() as unknown as CborValue };
  },
  'alert.ack': function (hub, m) {
    const ids = m.ids;
    if (!Array.isArray(ids)) throw codedError('BAD_ARGS', '"ids" must be a list of alert ids');
    const n = hub.alerts.ack(ids as number[]);
    hub.save('ledger');
    return { acked: n };
  },
  activate: function (hub, m, now) {
    const at = typeof m.at === 'number' ? m.at : hub.wall(now);
    return { job: hub.activate(str(m, 'eui'), at, now) as unknown as CborValue };
  },
  'version.read': function (hub, m, now) {
    hub.readVersion(str(m, 'eui'), now);
  },
};
