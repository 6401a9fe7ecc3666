// The hub's OTA Upgrade server: answers each whitelisted device's OTA client for the job it has,
// one session per device, paces clients, and turns each outcome into GBCS alerts (FACTS §1–2).
import { Alert, AlertQueue, ALERT_TRANSFER_FAILED, ALERT_TRANSFER_SUCCEEDED, ALERT_VERSION_READ, RESPONSE } from './alert-queue';
import { Device } from './device-log';
import { ImageCatalog } from './image-catalog';
import { hardwareInRange } from './image-header';
import { OtaSession } from './ota-session';
import { Job, JobTable } from './transfer-jobs';
import {
  buildZclFrame,
  CMD_DEFAULT_RESPONSE,
  CMD_READ_ATTRIBUTES,
  CMD_READ_ATTRIBUTES_RESPONSE,
  decodeReadAttributesResponse,
  DIR_SERVER_TO_CLIENT,
  encodeDefaultResponse,
  encodeReadAttributes,
  FRAME_TYPE_CLUSTER,
  FRAME_TYPE_GLOBAL,
  ZclFrame,
} from './zcl-frame';
import { buildServerFrame, ClientCommand, decodeFromClient, ImageId, isServerToClient, ServerCommand, STATUS, UPGRADE_TIME_WAIT, zigbeeTime } from './zcl-ota';

/** OTA client attribute CurrentFileVersion (OTA spec §6.7.2). */
const ATTR_CURRENT_FILE_VERSION = 0x0002;
/** Version reads are sent this many times within versionReadTimeoutMs before giving up (lossy links). */
const VERSION_READ_TRIES = 3;
/** After an activation, a device still on its old version is read again this many times (it may be slow to reboot). */
const ACTIVATION_CHECKS = 3;
/** A paced client whose next request comes this many times our block period (ms) later read it as seconds:
 *  half of the ×1000 it would be, so the sign shows before the silence timeout for periods up to ~1 s. */
const SECONDS_MISREAD = 500;
/** A client whose streamed range is on its way asks again after this many seconds (WAIT_FOR_DATA requestTime). */
const STREAM_WAIT_S = 1;

export interface OtaServerConfig {
  /** Largest block the hub sends whatever the client asks (the APS payload limit with security, FACTS §3). */
  maxBlock: number;
  /** A transferring job fails with File Transfer Failure after this long without a request. */
  silenceTimeoutMs: number;
  /** How long to wait for a device to answer a version read. */
  versionReadTimeoutMs: number;
  /** Transfers served at once; more clients are told WAIT_FOR_DATA until a slot frees. */
  maxSessions: number;
  /** How long a client without a slot is asked to wait before asking again (seconds). */
  busyWaitS: number;
  /** Least time between two blocks for one client (0 = as fast as it asks); faster clients are slowed with WAIT_FOR_DATA. */
  minBlockPeriodMs: number;
  /** After an activation time, how long a device gets to reboot before the hub reads its version. */
  activationSettleMs: number;
}

export interface OtaServerContext {
  /** Queue a ZCL frame on the OTA cluster for a device (fairly scheduled with the others). */
  send(dev: Device, zcl: Uint8Array): void;
  /** Frames still queued for a device: page runs wait until its queue drains. */
  queued(dev: Device): number;
  /** Drop frames still queued for a device (a cancelled page run). */
  cancel(dev: Device): void;
  device(eui: string): Device | undefined;
  jobChanged(job: Job, stateChanged: boolean): void;
  alertRaised(alert: Alert): void;
  log(msg: string): void;
  /** Unix ms for a core time. */
  wall(now: number): number;
}

interface VersionRead {
  deadline: number;
  nextTry: number;
  /** Set when the read checks an activation: how many checks came before it. */
  check?: number;
}

interface ScheduledRead {
  /** When the device activates; a rejoin from then on means it has rebooted. */
  activates: number;
  due: number;
  check: number;
}

export class OtaServer {
  private seq = 0;
  private sessions: { [eui: string]: OtaSession } = {};
  private versionReads: { [eui: string]: VersionRead } = {};
  /** Version reads due after an activation: eui → when the device activates and when to read. */
  private scheduledReads: { [eui: string]: ScheduledRead } = {};

  constructor(
    private cfg: OtaServerConfig,
    private jobs: JobTable,
    private images: ImageCatalog,
    private alerts: AlertQueue,
    private ctx: OtaServerContext,
  ) {}

  /** After a restart: silence is counted from now, and activations still pending get their version read. */
  resume(now: number): void {
    const jobs = this.jobs.list();
    for (let i = 0; i < jobs.length; i++) {
      if (jobs[i].state === 'transferring') jobs[i].contact = now;
      if (jobs[i].state === 'activating') this.scheduledReads[jobs[i].eui] = { activates: now, due: now + this.cfg.activationSettleMs, check: 0 };
    }
  }

  /** A frame on the OTA cluster from a whitelisted device. */
  handle(dev: Device, f: ZclFrame, now: number): void {
    if (f.header.frameType === FRAME_TYPE_GLOBAL) {
      if (f.header.commandId === CMD_READ_ATTRIBUTES_RESPONSE) this.onVersion(dev, f, now);
      // Default Responses and other general commands from clients need no answer (FACTS §2).
      return;
    }
    // A server-to-client command sent to the server.
    if (isServerToClient(f.header.commandId)) return this.defaultResponse(dev, f, STATUS.UNSUP_COMMAND);
    let c: ClientCommand;
    try {
      c = decodeFromClient(f.header.commandId, f.payload);
    } catch (e) {
      this.ctx.log('malformed OTA command 0x' + f.header.commandId.toString(16) + ' from ' + dev.eui + ': ' + (e as Error).message);
      // Errors get a Default Response whatever the disable-default-response bit says (ZCL §2.5.12.2).
      return this.defaultResponse(dev, f, (e as { code?: string }).code === 'UNSUPPORTED' ? STATUS.UNSUP_COMMAND : STATUS.MALFORMED_COMMAND);
    }
    const job = this.jobs.active(dev.eui);
    if (job && job.state !== 'queued') job.contact = now;
    const s = this.session(dev.eui);
    s.lastSeen = now;
    if (c.cmd === 0x01) {
      dev.fileVersion = c.fileVersion;
      if (c.hardwareVersion !== undefined) dev.hardwareVersion = c.hardwareVersion;
      this.onQuery(dev, job, c, f.header.seq, now);
    } else if (c.cmd === 0x03) {
      if (c.minimumBlockPeriod !== undefined) s.clientMinPeriodMs = c.minimumBlockPeriod;
      this.cancelPage(dev, s);
      if (this.mayServe(dev, job, s, c, c.fileOffset, f, now)) this.sendBlock(dev, job as Job, s, c, c.fileOffset, c.maxDataSize, f.header.seq, now);
    } else if (c.cmd === 0x04) {
      this.cancelPage(dev, s);
      if (this.mayServe(dev, job, s, c, c.fileOffset, f, now)) {
        s.startPage(c, c.fileOffset, (job as Job).size, c.pageSize, c.maxDataSize, c.responseSpacing, f.header.seq, now);
        this.servePages(now);
      }
    } else {
      this.cancelPage(dev, s);
      // A repeated Upgrade End for a job that already ended well (its answer was lost, or the hub restarted
      // before sending it) is answered again, so the device still activates; the alert was raised once.
      const last = this.jobs.latest(dev.eui);
      const repeat = !job && last && last.state === 'done' && c.status === STATUS.SUCCESS && sameImage(last, c);
      this.onEnd(dev, repeat ? last : job, c.status, c, f, now);
    }
  }

  /** Tell a device it has an image waiting (unicast Image Notify: payload type 0, jitter 100, FACTS §2). */
  notify(dev: Device): void {
    this.sendOta(dev, { cmd: 0x00, payloadType: 0, queryJitter: 100 }, this.nextSeq());
  }

  /** Tell a device holding an image (HCALCS) to activate it at `at` (unix ms; now if not later). */
  activate(dev: Device, job: Job, at: number, now: number): void {
    const current = zigbeeTime(this.ctx.wall(now));
    const upgrade = Math.max(current, zigbeeTime(at));
    this.setState(job, 'activating', now);
    this.sendOta(dev, this.endResponse(job, current, upgrade), this.nextSeq());
    // Read the version once the device has had time to reboot into it (GBCS: 0x8F8B after activation).
    const activates = now + (upgrade - current) * 1000;
    this.scheduledReads[dev.eui] = { activates: activates, due: activates + this.cfg.activationSettleMs, check: 0 };
  }

  /** A device rejoined: if it was activating, it has rebooted into its new image — read it now. */
  rejoined(dev: Device, now: number): void {
    const r = this.scheduledReads[dev.eui];
    if (r !== undefined && now >= r.activates) this.checkActivation(dev, r, now);
  }

  /** Reads a device's version for the host (the answer is always an 0x8F8B alert). */
  readVersion(dev: Device, now: number): void {
    this.versionReads[dev.eui] = { deadline: now + this.cfg.versionReadTimeoutMs, nextTry: now };
    this.sendVersionRead(dev, now);
  }

  private checkActivation(dev: Device, r: ScheduledRead, now: number): void {
    delete this.scheduledReads[dev.eui];
    this.versionReads[dev.eui] = { deadline: now + this.cfg.versionReadTimeoutMs, nextTry: now, check: r.check };
    this.sendVersionRead(dev, now);
  }

  /** Serves due page blocks, times out silent transfers and unanswered version reads. */
  tick(now: number): void {
    this.servePages(now);
    const jobs = this.jobs.list();
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i];
      if (j.state === 'transferring' && now - j.contact > this.cfg.silenceTimeoutMs) {
        this.ctx.log('device ' + j.eui + ' silent for ' + Math.round((now - j.contact) / 1000) + ' s during transfer');
        this.fail(j, RESPONSE.FILE_TRANSFER_FAILURE, now);
      }
    }
    const scheduled = Object.keys(this.scheduledReads);
    for (let i = 0; i < scheduled.length; i++) {
      const eui = scheduled[i];
      const dev = this.ctx.device(eui);
      if (now < this.scheduledReads[eui].due) continue;
      if (dev) this.checkActivation(dev, this.scheduledReads[eui], now);
      else delete this.scheduledReads[eui];
    }
    const pending = Object.keys(this.versionReads);
    for (let i = 0; i < pending.length; i++) {
      const eui = pending[i];
      const r = this.versionReads[eui];
      const dev = this.ctx.device(eui);
      if (now >= r.deadline || !dev) {
        delete this.versionReads[eui];
        this.raise(ALERT_VERSION_READ, eui, now, { activationStatus: 1 });
      } else if (now >= r.nextTry) this.sendVersionRead(dev, now);
    }
  }

  /** Whether the server has page blocks waiting for their spacing (the runtime may tick sooner). */
  nextPageAt(): number {
    let t = -1;
    const keys = Object.keys(this.sessions);
    for (let i = 0; i < keys.length; i++) {
      const p = this.sessions[keys[i]].page;
      if (p && (t < 0 || p.nextAt < t)) t = p.nextAt;
    }
    return t;
  }

  private session(eui: string): OtaSession {
    return this.sessions[eui] || (this.sessions[eui] = new OtaSession(eui));
  }

  private endSession(eui: string): void {
    delete this.sessions[eui];
  }

  private onQuery(dev: Device, job: Job | undefined, c: { manufacturerCode: number; imageType: number; fileVersion: number; hardwareVersion?: number }, seq: number, now: number): void {
    const none: ServerCommand = { cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE };
    if (!job) return this.sendOta(dev, none, seq);
    // Already holds this image (HCALCS waiting for activation): nothing more to send.
    if (job.state === 'transferred' || job.state === 'activating') return this.sendOta(dev, none, seq);
    const img = this.images.get(job.image);
    if (c.manufacturerCode !== job.manufacturerCode || c.imageType !== job.imageType || !hardwareInRange(img.minHw, img.maxHw, c.hardwareVersion)) {
      // Refused before a single block is sent (DESIGN "What the hub promises").
      this.ctx.log(
        'device ' + dev.eui + ' (manufacturer ' + c.manufacturerCode + ', image type ' + c.imageType + ', hardware ' + c.hardwareVersion + ') does not match image ' + job.image,
      );
      this.sendOta(dev, none, seq);
      return this.fail(job, RESPONSE.HARDWARE_VERSION_MISMATCH, now);
    }
    if (c.fileVersion >= job.fileVersion && !job.force) {
      // GBCS gives no response code for "already up to date"; Image Discarded is the closest (our choice).
      this.ctx.log('device ' + dev.eui + ' runs version ' + c.fileVersion + ', not older than ' + job.fileVersion + '; refused (use force)');
      this.sendOta(dev, none, seq);
      return this.fail(job, RESPONSE.IMAGE_DISCARDED, now);
    }
    this.sendOta(dev, { cmd: 0x02, status: STATUS.SUCCESS, image: { manufacturerCode: job.manufacturerCode, imageType: job.imageType, fileVersion: job.fileVersion, imageSize: job.size } }, seq);
    job.contact = now;
    if (job.state === 'queued') this.setState(job, 'transferring', now);
  }

  /** Whether a block/page request can be served now; answers ABORT, NO_IMAGE_AVAILABLE or WAIT_FOR_DATA when not. */
  private mayServe(dev: Device, job: Job | undefined, s: OtaSession, id: ImageId, off: number, f: ZclFrame, now: number): boolean {
    const seq = f.header.seq;
    if (!job || job.state === 'transferred' || job.state === 'activating' || !sameImage(job, id)) {
      // The hub holds nothing, or not that image, for this device: NO_IMAGE_AVAILABLE tells the client to stop
      // asking (in a Default Response, as the Silicon Labs reference server answers a block it cannot read).
      this.defaultResponse(dev, f, STATUS.NO_IMAGE_AVAILABLE);
      return false;
    }
    if (off >= job.size) {
      this.sendOta(dev, { cmd: 0x05, status: STATUS.ABORT }, seq);
      return false;
    }
    if (job.state === 'queued') this.setState(job, 'transferring', now); // a client resuming after our restart skips the query
    if (!s.admitted && this.admittedCount(now) >= this.cfg.maxSessions) {
      this.wait(dev, s, this.cfg.busyWaitS, seq, now);
      return false;
    }
    s.admitted = true;
    if (this.cfg.minBlockPeriodMs > 0 && s.lastBlockAt >= 0) {
      const gap = now - s.lastBlockAt;
      if (!s.periodInSeconds && s.periodAskedMs > 0 && gap >= s.periodAskedMs * SECONDS_MISREAD) {
        // It paused about our period read as seconds (FACTS §2: some clients do): say the period again in seconds.
        s.periodInSeconds = true;
        this.wait(dev, s, 0, seq, now);
        return false;
      }
      if (gap < this.cfg.minBlockPeriodMs && s.clientMinPeriodMs < this.cfg.minBlockPeriodMs) {
        // Too fast for the hub: ask for a longer block period, which the client adopts (FACTS §2) — in ms,
        // as a client this fast evidently counts that way.
        s.periodInSeconds = false;
        this.wait(dev, s, 0, seq, now);
        return false;
      }
    }
    return true;
  }

  private wait(dev: Device, s: OtaSession, seconds: number, seq: number, now: number): void {
    const current = zigbeeTime(this.ctx.wall(now));
    const period = Math.max(this.cfg.minBlockPeriodMs, s.clientMinPeriodMs);
    s.periodAskedMs = period;
    const stated = s.periodInSeconds ? Math.ceil(period / 1000) : period;
    this.sendOta(dev, { cmd: 0x05, status: STATUS.WAIT_FOR_DATA, wait: { currentTime: current, requestTime: current + seconds, minimumBlockPeriod: stated } }, seq);
  }

  /** Slots held by sessions that asked recently; a client quiet for busyWaitS × 2 gives its slot up until it asks again. */
  private admittedCount(now: number): number {
    let n = 0;
    const keys = Object.keys(this.sessions);
    for (let i = 0; i < keys.length; i++) {
      const s = this.sessions[keys[i]];
      if (s.admitted && now - s.lastSeen > this.cfg.busyWaitS * 2000) s.admitted = false;
      if (s.admitted) n++;
    }
    return n;
  }

  /** Sends the block at `off`, or WAIT_FOR_DATA while a streamed image's range is on its way (false). */
  private sendBlock(dev: Device, job: Job, s: OtaSession, id: ImageId, off: number, maxDataSize: number, seq: number, now: number): boolean {
    const data = this.images.read(job.image, off, Math.min(maxDataSize, this.cfg.maxBlock, job.size - off), now);
    if (!data) {
      this.wait(dev, s, STREAM_WAIT_S, seq, now);
      return false;
    }
    const n = data.length;
    this.sendOta(dev, { cmd: 0x05, status: STATUS.SUCCESS, block: { manufacturerCode: id.manufacturerCode, imageType: id.imageType, fileVersion: id.fileVersion, fileOffset: off, data: data } }, seq);
    s.lastBlockAt = now;
    if (off + n > job.off) {
      job.off = off + n;
      job.updated = now;
      this.ctx.jobChanged(job, false);
    }
    return true;
  }

  /** Sends each page run's next block when its spacing has passed and the device's queue is empty. */
  private servePages(now: number): void {
    const keys = Object.keys(this.sessions);
    for (let i = 0; i < keys.length; i++) {
      const s = this.sessions[keys[i]];
      const dev = this.ctx.device(s.eui);
      const job = this.jobs.active(s.eui);
      if (!s.page || !dev || !job || job.state !== 'transferring') {
        s.page = null;
        continue;
      }
      if (this.ctx.queued(dev) > 0) continue;
      const b = s.duePageBlock(now, this.cfg.maxBlock);
      // A page run that reaches a streamed range not yet here ends; the client asks again after the wait.
      if (b && !this.sendBlock(dev, job, s, b.id, b.off, b.n, b.seq, now)) s.page = null;
    }
  }

  private cancelPage(dev: Device, s: OtaSession): void {
    if (!s.page) return;
    s.page = null;
    this.ctx.cancel(dev);
  }

  // Durable first, then visible: the job's end and its alert are persisted before the device hears
  // the answer, so a reset between the two makes the device ask again instead of losing the outcome.
  private onEnd(dev: Device, job: Job | undefined, status: number, id: ImageId, f: ZclFrame, now: number): void {
    if (!job || !sameImage(job, id) || (job.state !== 'transferring' && job.state !== 'transferred' && job.state !== 'done')) {
      this.ctx.log('Upgrade End Request from ' + dev.eui + ' for an image it is not being given');
      return this.defaultResponse(dev, f, STATUS.SUCCESS);
    }
    if (status !== STATUS.SUCCESS) {
      if (job.state === 'transferring') this.fail(job, status === STATUS.INVALID_IMAGE ? RESPONSE.IMAGE_DISCARDED : RESPONSE.FILE_TRANSFER_FAILURE, now);
      // After a failed Upgrade End the server answers with a Default Response, not an Upgrade End Response (FACTS §2).
      return this.defaultResponse(dev, f, STATUS.SUCCESS);
    }
    // A PPMID activates on completion; an HCALCS holds the image until told (SECMP0007, FACTS §1).
    const ppmid = dev.type === 'PPMID';
    if (job.state === 'transferring') {
      // (A repeated Upgrade End is answered again below, but alerted once.)
      job.off = job.size;
      this.endSession(dev.eui);
      job.state = ppmid ? 'done' : 'transferred';
      job.updated = now;
      this.raise(ALERT_TRANSFER_SUCCEEDED, job.eui, now, { fileVersion: job.fileVersion, responseCode: RESPONSE.SUCCESS });
      this.ctx.jobChanged(job, true);
    }
    const current = zigbeeTime(this.ctx.wall(now));
    this.sendOta(dev, this.endResponse(job, current, ppmid ? current : UPGRADE_TIME_WAIT), f.header.seq);
  }

  private onVersion(dev: Device, f: ZclFrame, now: number): void {
    let recs;
    try {
      recs = decodeReadAttributesResponse(f.payload);
    } catch (e) {
      return this.ctx.log('malformed Read Attributes Response from ' + dev.eui + ': ' + (e as Error).message);
    }
    for (let i = 0; i < recs.length; i++) {
      const r = recs[i];
      const read = this.versionReads[dev.eui];
      if (r.id !== ATTR_CURRENT_FILE_VERSION || read === undefined) continue;
      delete this.versionReads[dev.eui];
      if (r.status !== 0) {
        this.raise(ALERT_VERSION_READ, dev.eui, now, { activationStatus: 1 });
        continue;
      }
      dev.fileVersion = r.value;
      const job = this.jobs.holding(dev.eui);
      const activating = job !== undefined && job.state === 'activating';
      const activated = activating && r.value === (job as Job).fileVersion;
      if (activating && !activated && read.check !== undefined && read.check + 1 < ACTIVATION_CHECKS) {
        // Not rebooted into it yet: look again later rather than report a failed activation.
        this.scheduledReads[dev.eui] = { activates: now, due: now + this.cfg.activationSettleMs, check: read.check + 1 };
        continue;
      }
      // activationStatus 1 when an activation was due and the device still runs something else.
      this.raise(ALERT_VERSION_READ, dev.eui, now, { fileVersion: r.value, activationStatus: activating && !activated ? 1 : 0 });
      if (job && activating && (activated || read.check !== undefined)) this.setState(job, 'done', now);
    }
  }

  private sendVersionRead(dev: Device, now: number): void {
    const r = this.versionReads[dev.eui];
    r.nextTry = now + Math.ceil(this.cfg.versionReadTimeoutMs / VERSION_READ_TRIES);
    const h = { frameType: FRAME_TYPE_GLOBAL, direction: DIR_SERVER_TO_CLIENT, disableDefaultResponse: true, seq: this.nextSeq(), commandId: CMD_READ_ATTRIBUTES };
    this.ctx.send(dev, buildZclFrame(h, encodeReadAttributes([ATTR_CURRENT_FILE_VERSION])));
  }

  private fail(job: Job, code: number, now: number): void {
    job.code = code;
    job.state = 'failed';
    job.updated = now;
    this.endSession(job.eui);
    this.raise(ALERT_TRANSFER_FAILED, job.eui, now, { fileVersion: job.fileVersion, responseCode: code });
    this.ctx.jobChanged(job, true);
  }

  private raise(code: number, eui: string, now: number, extra: { fileVersion?: number; responseCode?: number; activationStatus?: number }): void {
    this.ctx.alertRaised(
      this.alerts.raise({ code: code, eui: eui, time: this.ctx.wall(now), fileVersion: extra.fileVersion, responseCode: extra.responseCode, activationStatus: extra.activationStatus }),
    );
  }

  private setState(job: Job, state: Job['state'], now: number): void {
    job.state = state;
    job.updated = now;
    this.ctx.jobChanged(job, true);
  }

  private endResponse(job: Job, current: number, upgrade: number): ServerCommand {
    return { cmd: 0x07, manufacturerCode: job.manufacturerCode, imageType: job.imageType, fileVersion: job.fileVersion, currentTime: current, upgradeTime: upgrade };
  }

  private sendOta(dev: Device, c: ServerCommand, seq: number): void {
    const h = { frameType: FRAME_TYPE_CLUSTER, direction: DIR_SERVER_TO_CLIENT, disableDefaultResponse: true, seq: seq, commandId: c.cmd };
    this.ctx.send(dev, buildServerFrame(h, c));
  }

  private defaultResponse(dev: Device, f: ZclFrame, status: number): void {
    this.ctx.send(dev, defaultResponseFrame(f, status));
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) & 0xff;
    return this.seq;
  }
}

/** A ZCL Default Response to a client's frame, server → client. */
export function defaultResponseFrame(f: ZclFrame, status: number): Uint8Array {
  const h = { frameType: FRAME_TYPE_GLOBAL, direction: DIR_SERVER_TO_CLIENT, disableDefaultResponse: true, seq: f.header.seq, commandId: CMD_DEFAULT_RESPONSE };
  return buildZclFrame(h, encodeDefaultResponse({ commandId: f.header.commandId, status: status }));
}

function sameImage(job: Job, id: ImageId): boolean {
  return job.manufacturerCode === id.manufacturerCode && job.imageType === id.imageType && job.fileVersion === id.fileVersion;
}
