// The hub's OTA Upgrade server: answers each whitelisted device's OTA client for the job it has,
// one session per device, and turns the outcome into GBCS alerts (FACTS §1–2).
import { Alert, AlertQueue, ALERT_TRANSFER_FAILED, ALERT_TRANSFER_SUCCEEDED, ALERT_VERSION_READ, RESPONSE } from './alert-queue';
import { Device } from './device-log';
import { ImageCatalog } from './image-catalog';
import { hardwareInRange } from './image-header';
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
import { decodeOta, encodeOta, ImageId, OtaCommand, STATUS, UPGRADE_TIME_WAIT, zigbeeTime } from './zcl-ota';

/** OTA client attribute CurrentFileVersion (OTA spec §6.7.2). */
const ATTR_CURRENT_FILE_VERSION = 0x0002;

export interface OtaServerConfig {
  /** Largest block the hub sends whatever the client asks (the APS payload limit with security, FACTS §3). */
  maxBlock: number;
  /** A transferring job fails with File Transfer Failure after this long without a request. */
  silenceTimeoutMs: number;
  /** How long to wait for a device to answer a version read. */
  versionReadTimeoutMs: number;
}

export interface OtaServerContext {
  send(dev: Device, zcl: Uint8Array): void;
  jobChanged(job: Job, stateChanged: boolean): void;
  alertRaised(alert: Alert): void;
  log(msg: string): void;
  /** Unix ms for a core time. */
  wall(now: number): number;
}

export class OtaServer {
  private seq = 0;
  /** Devices with an outstanding version read: eui → deadline. */
  private versionReads: { [eui: string]: number } = {};

  constructor(
    private cfg: OtaServerConfig,
    private jobs: JobTable,
    private images: ImageCatalog,
    private alerts: AlertQueue,
    private ctx: OtaServerContext,
  ) {}

  /** A frame on the OTA cluster from a whitelisted device. */
  handle(dev: Device, f: ZclFrame, now: number): void {
    if (f.header.frameType === FRAME_TYPE_GLOBAL) {
      if (f.header.commandId === CMD_READ_ATTRIBUTES_RESPONSE) this.onVersion(dev, f, now);
      // Default Responses and other general commands from clients need no answer (FACTS §2).
      return;
    }
    let c: OtaCommand;
    try {
      c = decodeOta(f.header.commandId, f.payload);
    } catch (e) {
      this.ctx.log('malformed OTA command 0x' + f.header.commandId.toString(16) + ' from ' + dev.eui + ': ' + (e as Error).message);
      if (!f.header.disableDefaultResponse) this.defaultResponse(dev, f, STATUS.MALFORMED_COMMAND);
      return;
    }
    const job = this.jobs.active(dev.eui);
    if (job && job.state !== 'queued') job.contact = now;
    if (c.cmd === 0x01) {
      dev.fileVersion = c.fileVersion;
      if (c.hardwareVersion !== undefined) dev.hardwareVersion = c.hardwareVersion;
      this.onQuery(dev, job, c.manufacturerCode, c.imageType, c.hardwareVersion, f.header.seq, now);
    } else if (c.cmd === 0x03) {
      this.onBlock(dev, job, c, c.fileOffset, c.maxDataSize, f.header.seq, now);
    } else if (c.cmd === 0x06) {
      this.onEnd(dev, job, c.status, c, f, now);
    } else if (!f.header.disableDefaultResponse) {
      this.defaultResponse(dev, f, STATUS.UNSUP_COMMAND);
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
    this.sendOta(dev, this.endResponse(job, current, upgrade), this.nextSeq());
    this.setState(job, 'activating', now);
  }

  readVersion(dev: Device, now: number): void {
    this.versionReads[dev.eui] = now + this.cfg.versionReadTimeoutMs;
    const h = { frameType: FRAME_TYPE_GLOBAL, direction: DIR_SERVER_TO_CLIENT, disableDefaultResponse: true, seq: this.nextSeq(), commandId: CMD_READ_ATTRIBUTES };
    this.ctx.send(dev, buildZclFrame(h, encodeReadAttributes([ATTR_CURRENT_FILE_VERSION])));
  }

  /** Times out silent transfers and unanswered version reads. */
  tick(now: number): void {
    const jobs = this.jobs.list();
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i];
      if (j.state === 'transferring' && now - j.contact > this.cfg.silenceTimeoutMs) {
        this.ctx.log('device ' + j.eui + ' silent for ' + Math.round((now - j.contact) / 1000) + ' s during transfer');
        this.fail(j, RESPONSE.FILE_TRANSFER_FAILURE, now);
      }
    }
    const pending = Object.keys(this.versionReads);
    for (let i = 0; i < pending.length; i++) {
      if (now < this.versionReads[pending[i]]) continue;
      delete this.versionReads[pending[i]];
      this.raise(ALERT_VERSION_READ, pending[i], now, { activationStatus: 1 });
    }
  }

  private onQuery(dev: Device, job: Job | undefined, mfr: number, type: number, hw: number | undefined, seq: number, now: number): void {
    if (!job) return this.sendOta(dev, { cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE }, seq);
    const img = this.images.get(job.image);
    const hwOk = hardwareInRange(img.minHw, img.maxHw, hw);
    if (mfr !== job.manufacturerCode || type !== job.imageType || !hwOk) {
      // Refused before a single block is sent (DESIGN "What the hub promises").
      this.ctx.log(
        'device ' + dev.eui + ' (manufacturer ' + mfr + ', image type ' + type + ', hardware ' + hw + ') does not match image ' + job.image,
      );
      this.sendOta(dev, { cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE }, seq);
      return this.fail(job, RESPONSE.HARDWARE_VERSION_MISMATCH, now);
    }
    if (job.state === 'transferred' || job.state === 'activating') {
      // Already holds this image; nothing more to send.
      return this.sendOta(dev, { cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE }, seq);
    }
    this.sendOta(dev, { cmd: 0x02, status: STATUS.SUCCESS, image: { manufacturerCode: job.manufacturerCode, imageType: job.imageType, fileVersion: job.fileVersion, imageSize: job.size } }, seq);
    job.contact = now;
    if (job.state === 'queued') this.setState(job, 'transferring', now);
  }

  private onBlock(dev: Device, job: Job | undefined, id: ImageId, off: number, maxDataSize: number, seq: number, now: number): void {
    if (!job || job.state !== 'transferring' || !sameImage(job, id) || off >= job.size) {
      // A request for an image this device is not being given: ABORT tells the client to stop (OTA §6.10.8).
      return this.sendOta(dev, { cmd: 0x05, status: STATUS.ABORT }, seq);
    }
    const n = Math.min(maxDataSize, this.cfg.maxBlock, job.size - off);
    const data = this.images.read(job.image, off, n);
    this.sendOta(dev, { cmd: 0x05, status: STATUS.SUCCESS, block: { manufacturerCode: id.manufacturerCode, imageType: id.imageType, fileVersion: id.fileVersion, fileOffset: off, data: data } }, seq);
    if (off + n > job.off) {
      job.off = off + n;
      job.updated = now;
      this.ctx.jobChanged(job, false);
    }
  }

  private onEnd(dev: Device, job: Job | undefined, status: number, id: ImageId, f: ZclFrame, now: number): void {
    if (!job || !sameImage(job, id) || (job.state !== 'transferring' && job.state !== 'transferred')) {
      this.ctx.log('Upgrade End Request from ' + dev.eui + ' for an image it is not being given');
      return this.defaultResponse(dev, f, STATUS.SUCCESS);
    }
    if (status !== STATUS.SUCCESS) {
      // After a failed Upgrade End the server answers with a Default Response, not an Upgrade End Response (FACTS §2).
      this.defaultResponse(dev, f, STATUS.SUCCESS);
      return this.fail(job, status === STATUS.INVALID_IMAGE ? RESPONSE.IMAGE_DISCARDED : RESPONSE.FILE_TRANSFER_FAILURE, now);
    }
    const current = zigbeeTime(this.ctx.wall(now));
    // A PPMID activates on completion; an HCALCS holds the image until told (SECMP0007, FACTS §1).
    const ppmid = dev.type === 'PPMID';
    this.sendOta(dev, this.endResponse(job, current, ppmid ? current : UPGRADE_TIME_WAIT), f.header.seq);
    if (job.state === 'transferred') return; // a repeated Upgrade End: answered again, alerted once
    job.off = job.size;
    this.raise(ALERT_TRANSFER_SUCCEEDED, job.eui, now, { fileVersion: job.fileVersion, responseCode: RESPONSE.SUCCESS });
    this.setState(job, ppmid ? 'done' : 'transferred', now);
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
      if (r.id !== ATTR_CURRENT_FILE_VERSION || this.versionReads[dev.eui] === undefined) continue;
      delete this.versionReads[dev.eui];
      if (r.status !== 0) {
        this.raise(ALERT_VERSION_READ, dev.eui, now, { activationStatus: 1 });
        continue;
      }
      dev.fileVersion = r.value;
      const job = this.jobs.holding(dev.eui);
      const activated = job !== undefined && job.state === 'activating' && r.value === job.fileVersion;
      this.raise(ALERT_VERSION_READ, dev.eui, now, { fileVersion: r.value, activationStatus: job && job.state === 'activating' && !activated ? 1 : 0 });
      if (job && activated) this.setState(job, 'done', now);
    }
  }

  private fail(job: Job, code: number, now: number): void {
    job.code = code;
    this.raise(ALERT_TRANSFER_FAILED, job.eui, now, { fileVersion: job.fileVersion, responseCode: code });
    this.setState(job, 'failed', now);
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

  private endResponse(job: Job, current: number, upgrade: number): OtaCommand {
    return { cmd: 0x07, manufacturerCode: job.manufacturerCode, imageType: job.imageType, fileVersion: job.fileVersion, currentTime: current, upgradeTime: upgrade };
  }

  private sendOta(dev: Device, c: OtaCommand, seq: number): void {
    const h = { frameType: FRAME_TYPE_CLUSTER, direction: DIR_SERVER_TO_CLIENT, disableDefaultResponse: true, seq: seq, commandId: c.cmd };
    this.ctx.send(dev, buildZclFrame(h, encodeOta(c)));
  }

  private defaultResponse(dev: Device, f: ZclFrame, status: number): void {
    const h = { frameType: FRAME_TYPE_GLOBAL, direction: DIR_SERVER_TO_CLIENT, disableDefaultResponse: true, seq: f.header.seq, commandId: CMD_DEFAULT_RESPONSE };
    this.ctx.send(dev, buildZclFrame(h, encodeDefaultResponse({ commandId: f.header.commandId, status: status })));
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) & 0xff;
    return this.seq;
  }
}

function sameImage(job: Job, id: ImageId): boolean {
  return job.manufacturerCode === id.manufacturerCode && job.imageType === id.imageType && job.fileVersion === id.fileVersion;
}
