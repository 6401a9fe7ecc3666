// Radio port implemented over a TI Z-Stack ZNP co-processor (FACTS §4).
// ZNP answers one synchronous request (SREQ) at a time, so requests wait in a queue; each sent SREQ is
// matched to its SRSP (or an RPC error naming it) and dropped after a timeout so a lost SRSP never wedges
// the radio. Time only arrives as arguments: no timers, no clock.
import { OTA_CLUSTER } from '../core/zcl-ota';
import { HUB_ENDPOINT, PROFILE_SMART_ENERGY, Radio, RadioAddress, RadioEvent } from '../ports/radio';
import {
  decodeAfDataConfirm,
  decodeAfIncomingMsg,
  decodeEndDeviceAnnce,
  decodeIeeeAddrRsp,
  decodeRpcError,
  decodeStatus,
  decodeSysResetInd,
  encodeAfDataRequest,
  encodeAfRegister,
  encodeIeeeAddrReq,
  ZNP_STATUS,
} from './znp-commands';
import {
  AF_DATA_CONFIRM,
  AF_DATA_REQUEST,
  AF_INCOMING_MSG,
  AF_REGISTER,
  buildZnpFrame,
  commandOf,
  frameType,
  RPC_ERROR,
  srspOf,
  SYS_RESET_IND,
  TYPE_SRSP,
  ZDO_END_DEVICE_ANNCE_IND,
  ZDO_IEEE_ADDR_REQ,
  ZDO_IEEE_ADDR_RSP,
  ZnpFrame,
  ZnpFrameReader,
  ZnpReaderStats,
} from './znp-frame';

export interface ZnpDriverOptions {
  endpoint?: number;
  profileId?: number;
  /** SE device id of the hub's endpoint; 0x0500 is the SE "ESP" (energy service portal) the CH implements. */
  deviceId?: number;
  inClusters?: number[];
  outClusters?: number[];
  sreqTimeoutMs?: number;
  /** Z-Stack serves one SREQ at a time (MT API); raise only for a co-processor known to queue them. */
  maxOutstanding?: number;
}

/** Hops an AF_DATA_REQUEST may travel (the Z-Stack default, AF_DEFAULT_RADIUS 2 * NWK_MAX_DEPTH = 30). */
const RADIUS = 30;
const DEVICE_ID_ESP = 0x0500;
const DEFAULT_SREQ_TIMEOUT_MS = 2000;

interface Request {
  command: number;
  frame: Uint8Array;
  /** Data requests carry their handle; registrations and lookups do not. */
  handle: number;
  sentAt: number;
  /** What it was, for error messages. */
  label: string;
}

const NO_HANDLE = -1;

function hex2(n: number): string {
  return (n < 16 ? '0x0' : '0x') + n.toString(16);
}

export class ZnpDriver implements Radio {
  private readonly reader = new ZnpFrameReader();
  private readonly endpoint: number;
  private readonly registerFrame: Uint8Array;
  private readonly timeoutMs: number;
  private readonly maxOutstanding: number;
  private queue: Request[] = [];
  private outstanding: Request[] = [];
  private nextHandle = 0;

  constructor(private readonly write: (bytes: Uint8Array) => void, options?: ZnpDriverOptions) {
    const o = options || {};
    this.endpoint = o.endpoint !== undefined ? o.endpoint : HUB_ENDPOINT;
    this.timeoutMs = o.sreqTimeoutMs || DEFAULT_SREQ_TIMEOUT_MS;
    this.maxOutstanding = o.maxOutstanding || 1;
    this.registerFrame = buildZnpFrame(
      AF_REGISTER,
      encodeAfRegister({
        endpoint: this.endpoint,
        profileId: o.profileId !== undefined ? o.profileId : PROFILE_SMART_ENERGY,
        deviceId: o.deviceId !== undefined ? o.deviceId : DEVICE_ID_ESP,
        deviceVersion: 0,
        latency: 0,
        // The hub is the OTA server, so 0x0019 is an input cluster; it reads client attributes, so also an output one.
        inClusters: o.inClusters || [OTA_CLUSTER],
        outClusters: o.outClusters || [OTA_CLUSTER],
      }),
    );
  }

  /** Frame reader counters: garbage skipped and frames with a bad checksum. */
  stats(): ZnpReaderStats {
    return this.reader.stats;
  }

  start(now: number): void {
    this.register(now);
  }

  send(dst: RadioAddress, clusterId: number, data: Uint8Array, now: number): number {
    const handle = this.nextHandle;
    this.nextHandle = (this.nextHandle + 1) & 0xff;
    const payload = encodeAfDataRequest({
      dstAddr: dst.nwk,
      dstEndpoint: dst.endpoint,
      srcEndpoint: this.endpoint,
      clusterId: clusterId,
      transId: handle,
      options: 0,
      radius: RADIUS,
      data: data,
    });
    // Built now so an oversized frame throws at the caller, not later inside onBytes.
    this.queue.push({ command: AF_DATA_REQUEST, frame: buildZnpFrame(AF_DATA_REQUEST, payload), handle: handle, sentAt: 0, label: 'AF_DATA_REQUEST ' + handle });
    this.pump(now);
    return handle;
  }

  lookup(nwk: number, now: number): void {
    // Request type 0: the device alone, not its children (Z-Stack MT ZDO_IEEE_ADDR_REQ).
    const frame = buildZnpFrame(ZDO_IEEE_ADDR_REQ, encodeIeeeAddrReq({ shortAddr: nwk, reqType: 0, startIndex: 0 }));
    this.queue.push({ command: ZDO_IEEE_ADDR_REQ, frame: frame, handle: NO_HANDLE, sentAt: 0, label: 'ZDO_IEEE_ADDR_REQ 0x' + nwk.toString(16) });
    this.pump(now);
  }

  onBytes(bytes: Uint8Array, now: number): RadioEvent[] {
    const events: RadioEvent[] = [];
    const badBefore = this.reader.stats.badFcs;
    const frames = this.reader.push(bytes);
    if (this.reader.stats.badFcs > badBefore) events.push({ type: 'error', message: 'ZNP frame with bad FCS dropped' });
    for (let i = 0; i < frames.length; i++) {
      try {
        this.handle(frames[i], now, events);
      } catch (e) {
        events.push({ type: 'error', message: 'bad ZNP frame ' + hex2(frames[i].cmd0) + ' ' + hex2(frames[i].cmd1) + ': ' + (e as Error).message });
      }
    }
    this.pump(now);
    return events;
  }

  tick(now: number): RadioEvent[] {
    const events: RadioEvent[] = [];
    const still: Request[] = [];
    for (let i = 0; i < this.outstanding.length; i++) {
      const r = this.outstanding[i];
      if (now - r.sentAt >= this.timeoutMs) events.push({ type: 'error', message: r.label + ': no SRSP within ' + this.timeoutMs + ' ms' });
      else still.push(r);
    }
    this.outstanding = still;
    this.pump(now);
    return events;
  }

  private register(now: number): void {
    for (let i = 0; i < this.queue.length; i++) if (this.queue[i].command === AF_REGISTER) return;
    // Ahead of queued data: nothing can be sent until the endpoint exists.
    this.queue.unshift({ command: AF_REGISTER, frame: this.registerFrame, handle: NO_HANDLE, sentAt: 0, label: 'AF_REGISTER' });
    this.pump(now);
  }

  private pump(now: number): void {
    while (this.outstanding.length < this.maxOutstanding && this.queue.length > 0) {
      const r = this.queue.shift() as Request;
      r.sentAt = now;
      this.outstanding.push(r);
      this.write(r.frame);
    }
  }

  /** Removes and returns the oldest outstanding request that this SRSP (or SREQ) id answers, if any. */
  private take(command: number): Request | null {
    for (let i = 0; i < this.outstanding.length; i++) {
      if (srspOf(this.outstanding[i].command) === srspOf(command)) return this.outstanding.splice(i, 1)[0];
    }
    return null;
  }

  private handle(f: ZnpFrame, now: number, events: RadioEvent[]): void {
    const cmd = commandOf(f);
    if (frameType(f.cmd0) === TYPE_SRSP) {
      this.onSrsp(cmd, f.data, events);
      return;
    }
    switch (cmd) {
      case SYS_RESET_IND: {
        const ind = decodeSysResetInd(f.data);
        events.push({ type: 'reset', reason: ind.reason });
        // The co-processor forgot its endpoints and will never answer what was in flight.
        for (let i = 0; i < this.outstanding.length; i++) {
          if (this.outstanding[i].handle !== NO_HANDLE) events.push({ type: 'error', message: this.outstanding[i].label + ': lost in co-processor reset' });
        }
        this.outstanding = [];
        this.register(now);
        return;
      }
      case AF_DATA_CONFIRM: {
        const c = decodeAfDataConfirm(f.data);
        events.push({ type: 'confirm', handle: c.transId, status: c.status });
        return;
      }
      case AF_INCOMING_MSG: {
        const m = decodeAfIncomingMsg(f.data);
        events.push({
          type: 'message',
          src: { nwk: m.srcAddr, endpoint: m.srcEndpoint },
          dstEndpoint: m.dstEndpoint,
          clusterId: m.clusterId,
          data: m.data,
          linkQuality: m.linkQuality,
        });
        return;
      }
      case ZDO_END_DEVICE_ANNCE_IND: {
        const a = decodeEndDeviceAnnce(f.data);
        events.push({ type: 'announce', nwk: a.nwkAddr, eui: a.eui });
        return;
      }
      case ZDO_IEEE_ADDR_RSP: {
        // A failed answer (the device does not know that address any more) tells the hub nothing.
        const a = decodeIeeeAddrRsp(f.data);
        if (a.status === ZNP_STATUS.SUCCESS) events.push({ type: 'address', nwk: a.nwkAddr, eui: a.eui });
        return;
      }
    }
    // Other indications (ZDO state changes, etc.) are not the hub's business.
  }

  private onSrsp(cmd: number, data: Uint8Array, events: RadioEvent[]): void {
    if (cmd === RPC_ERROR) {
      const e = decodeRpcError(data);
      const r = this.take((e.reqCmd0 << 8) | e.reqCmd1);
      events.push({ type: 'error', message: (r ? r.label : 'unknown request') + ': RPC error ' + e.errorCode });
      return;
    }
    const r = this.take(cmd);
    if (r === null) {
      events.push({ type: 'error', message: 'unexpected SRSP ' + hex2(cmd >> 8) + ' ' + hex2(cmd & 0xff) });
      return;
    }
    const status = decodeStatus(data);
    if (r.command === AF_REGISTER) {
      if (status === ZNP_STATUS.SUCCESS || status === ZNP_STATUS.APS_DUPLICATE_ENTRY) events.push({ type: 'ready' });
      else events.push({ type: 'error', message: 'AF_REGISTER of endpoint ' + this.endpoint + ' failed: status ' + hex2(status) });
    } else if (r.command === ZDO_IEEE_ADDR_REQ) {
      if (status !== ZNP_STATUS.SUCCESS) events.push({ type: 'error', message: r.label + ' refused: status ' + hex2(status) });
    } else if (status !== ZNP_STATUS.SUCCESS) {
      // Refused before transmission: no AF_DATA_CONFIRM will follow, so this is the outcome.
      events.push({ type: 'confirm', handle: r.handle, status: status });
    }
  }
}
