// A Z-Stack ZNP coordinator stick as seen from its UART (FACTS §4): answers SREQs, carries AF data to and from
// simulated devices over the radio model, reports device announces and asks devices for their EUI-64. Behaviours a driver must cope with are
// kept: unregistered endpoints are refused, re-registration gives 0xB8, a reset forgets every endpoint.
import {
  AfDataRequest,
  decodeAfDataRequest,
  decodeAfRegister,
  decodeIeeeAddrReq,
  encodeAfDataConfirm,
  encodeAfIncomingMsg,
  encodeEndDeviceAnnce,
  encodeIeeeAddrRsp,
  encodePingResponse,
  encodeRpcError,
  encodeStatus,
  encodeSysResetInd,
  RPC_ERR,
  ZNP_STATUS,
  AfRegister,
  IeeeAddrReq,
} from '../../firmware/radio/znp-commands';
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
  SYS_PING,
  SYS_RESET_IND,
  TYPE_SREQ,
  ZDO_END_DEVICE_ANNCE_IND,
  ZDO_IEEE_ADDR_REQ,
  ZDO_IEEE_ADDR_RSP,
  ZnpFrame,
  ZnpFrameReader,
  ZnpReaderStats,
} from '../../firmware/radio/znp-frame';
import { ByteWriter } from '../../firmware/core/bytes';
import { PROFILE_SMART_ENERGY } from '../../firmware/ports/radio';
import { BROADCAST_MIN, COORDINATOR } from './han-frame';
import { NWK_MAX_BROADCAST_RETRIES, RadioModel } from './radio-model';
import { Scheduler } from './scheduler';

/** What the stick needs of a simulated device. */
export interface StickDevice {
  nwk: number;
  /** Its EUI-64: its ZDO gives it to whoever asks (IEEE_addr_req). */
  eui: string;
  endpoint: number;
  receive(clusterId: number, data: Uint8Array): void;
}

export interface SimZnpStickOptions {
  write(bytes: Uint8Array): void;
  radio: RadioModel;
  scheduler: Scheduler;
  devices(): StickDevice[];
  /** An endpoint was registered (or found already registered): the hub can talk now. */
  onHubReady?(): void;
  log?(message: string): void;
}

/** SYS_PING capabilities SYS | AF | ZDO | UTIL | APP (herdsman src/adapter/z-stack/constants/sys.ts). */
const CAPABILITIES = 0x0001 | 0x0008 | 0x0010 | 0x0040 | 0x0100;
/** SYS_RESET_IND of a Z-Stack 3.x.0 coordinator (product 1 is ZStack3x0 in herdsman adapter/tstype.ts ZnpVersion). */
const RESET_IND = { transportRev: 2, productId: 1, majorRel: 2, minorRel: 7, hwRev: 1 };
const BROADCAST_ENDPOINT = 0xff;
/** Device_annce goes to all rx-on-when-idle devices, from and to the ZDO endpoint (ZigBee spec §2.4.3.1.11). */
const BROADCAST_RX_ON_IDLE = 0xfffd;
const ZDO_ENDPOINT = 0;
const ZDO_DEVICE_ANNCE = 0x0013;
const PROFILE_ZDO = 0x0000;
/** Z-Stack 3.x: a device one hop away arrives with the default radius (30) less one hop. */
const INCOMING_RADIUS = 29;
/** ZDO Device_annce payload: sequence 1, nwk 2, ieee 8, capability 1 (ZigBee spec §2.4.3.1.11). */
const ANNOUNCE_BYTES = 12;
/** ZDO IEEE_addr_req (sequence 1, nwk 2, request type 1, start index 1) and its single-device response
 *  (sequence 1, status 1, ieee 8, nwk 2) (ZigBee spec §2.4.3.1.2, §2.4.4.2.2). */
const ZDO_IEEE_ADDR_REQUEST = 0x0001;
const ZDO_IEEE_ADDR_RESPONSE = 0x8001;
const IEEE_ADDR_REQ_BYTES = 5;
const IEEE_ADDR_RSP_BYTES = 12;

export class SimZnpStick {
  private readonly reader = new ZnpFrameReader();
  private endpoints: AfRegister[] = [];
  /** Bumped by reset(): frames still on the air from before it are dropped. */
  private generation = 0;
  private transSeq = 0;
  private zdoSeq = 0;

  constructor(private readonly opts: SimZnpStickOptions) {}

  stats(): ZnpReaderStats {
    return this.reader.stats;
  }

  registeredEndpoints(): number[] {
    return this.endpoints.map((e) => e.endpoint);
  }

  /** Bytes from the host on the stick's UART. */
  onBytes(bytes: Uint8Array): void {
    for (const f of this.reader.push(bytes)) this.onFrame(f);
  }

  /** Power cycle: endpoints are forgotten, in-flight frames lost, SYS_RESET_IND sent. */
  reset(reason = 0): void {
    this.endpoints = [];
    this.generation++;
    this.out(SYS_RESET_IND, encodeSysResetInd({ reason, ...RESET_IND }));
  }

  /** A device put an APS frame on the air for the hub. */
  fromDevice(src: { nwk: number; endpoint: number }, clusterId: number, data: Uint8Array): void {
    const ep = this.hubEndpoint(clusterId);
    if (ep === undefined) return this.log(`frame from 0x${hex4(src.nwk)} dropped: no endpoint registered`);
    const frame = { src: src.nwk, dst: COORDINATOR, srcEndpoint: src.endpoint, dstEndpoint: ep, clusterId, profileId: PROFILE_SMART_ENERGY, payload: data };
    const d = this.opts.radio.unicast(this.opts.scheduler.now(), frame);
    if (!d.delivered) return this.log(`frame from 0x${hex4(src.nwk)} lost after ${d.attempts} attempts`);
    for (const at of d.arrivals)
      this.later(at, () =>
        this.out(
          AF_INCOMING_MSG,
          encodeAfIncomingMsg({
            groupId: 0,
            clusterId,
            srcAddr: src.nwk,
            srcEndpoint: src.endpoint,
            dstEndpoint: ep,
            wasBroadcast: 0,
            linkQuality: d.linkQuality,
            securityUse: 0,
            timestamp: Math.floor(this.opts.scheduler.now()) % 0x100000000,
            transSeq: (this.transSeq = (this.transSeq + 1) & 0xff),
            data,
            macSrcAddr: src.nwk,
            radius: INCOMING_RADIUS,
          }),
        ),
      );
  }

  /** A device broadcast its ZDO end-device announce (the coordinator hears it over that device's link). */
  announce(nwk: number, eui: string, capabilities: number): void {
    const payload = new ByteWriter(ANNOUNCE_BYTES).u8((this.zdoSeq = (this.zdoSeq + 1) & 0xff)).u16(nwk).eui64(eui).u8(capabilities).done();
    const frame = { src: nwk, dst: BROADCAST_RX_ON_IDLE, srcEndpoint: ZDO_ENDPOINT, dstEndpoint: ZDO_ENDPOINT, clusterId: ZDO_DEVICE_ANNCE, profileId: PROFILE_ZDO, payload };
    const heard = this.opts.radio.broadcast(this.opts.scheduler.now(), frame, [nwk], NWK_MAX_BROADCAST_RETRIES).arrivals.get(nwk) ?? [];
    if (heard.length === 0) return this.log(`announce from 0x${hex4(nwk)} lost`);
    this.later(heard[0], () => this.out(ZDO_END_DEVICE_ANNCE_IND, encodeEndDeviceAnnce({ srcAddr: nwk, nwkAddr: nwk, eui, capabilities })));
  }

  private onFrame(f: ZnpFrame): void {
    const cmd = commandOf(f);
    if (frameType(f.cmd0) !== TYPE_SREQ) return this.log(`ignored ZNP frame 0x${hex4(cmd)}`);
    try {
      switch (cmd) {
        case SYS_PING:
          return this.out(srspOf(cmd), encodePingResponse(CAPABILITIES));
        case AF_REGISTER:
          return this.onRegister(decodeAfRegister(f.data));
        case AF_DATA_REQUEST:
          return this.onDataRequest(decodeAfDataRequest(f.data));
        case ZDO_IEEE_ADDR_REQ:
          return this.onIeeeAddrReq(decodeIeeeAddrReq(f.data));
      }
    } catch {
      return this.rpcError(f, RPC_ERR.LENGTH); // a field ran past the end of the frame
    }
    // Real Z-Stack answers an SREQ it does not implement with an RPC error SRSP (herdsman unpi Subsystem.RESERVED).
    this.rpcError(f, RPC_ERR.COMMAND_ID);
  }

  private onRegister(r: AfRegister): void {
    const dup = this.endpoints.some((e) => e.endpoint === r.endpoint);
    if (!dup) this.endpoints.push(r);
    this.out(srspOf(AF_REGISTER), encodeStatus(dup ? ZNP_STATUS.APS_DUPLICATE_ENTRY : ZNP_STATUS.SUCCESS));
    this.log(`endpoint ${r.endpoint} ${dup ? 'already registered' : 'registered'}`);
    if (this.opts.onHubReady) this.opts.onHubReady();
  }

  private onDataRequest(r: AfDataRequest): void {
    if (!this.endpoints.some((e) => e.endpoint === r.srcEndpoint)) {
      // Z-Stack refuses data from an endpoint it does not know and transmits nothing (FACTS §4).
      return this.out(srspOf(AF_DATA_REQUEST), encodeStatus(ZNP_STATUS.INVALID_PARAM));
    }
    this.out(srspOf(AF_DATA_REQUEST), encodeStatus(ZNP_STATUS.SUCCESS));
    const now = this.opts.scheduler.now();
    const confirm = (status: number) => this.out(AF_DATA_CONFIRM, encodeAfDataConfirm({ status, endpoint: r.srcEndpoint, transId: r.transId }));
    const frame = { src: COORDINATOR, dst: r.dstAddr, srcEndpoint: r.srcEndpoint, dstEndpoint: r.dstEndpoint, clusterId: r.clusterId, profileId: this.profileOf(r.srcEndpoint), payload: r.data };
    const wanted = (d: StickDevice) => r.dstEndpoint === BROADCAST_ENDPOINT || d.endpoint === r.dstEndpoint;
    if (r.dstAddr >= BROADCAST_MIN) {
      // Broadcasts are not acknowledged: each device hears it or not, and the confirm is always SUCCESS.
      const devices = this.opts.devices();
      const b = this.opts.radio.broadcast(now, frame, devices.map((d) => d.nwk), NWK_MAX_BROADCAST_RETRIES);
      for (const dev of devices.filter(wanted)) for (const at of b.arrivals.get(dev.nwk) ?? []) this.later(at, () => dev.receive(r.clusterId, r.data));
      return this.later(b.done, () => confirm(ZNP_STATUS.SUCCESS));
    }
    const dest = this.opts.devices().find((d) => d.nwk === r.dstAddr);
    if (!dest) return this.later(now, () => confirm(ZNP_STATUS.NWK_NO_ROUTE));
    const d = this.opts.radio.unicast(now, frame);
    // Delivered to the device's MAC even if no endpoint there wants it (the APS layer drops it).
    if (wanted(dest)) for (const at of d.arrivals) this.later(at, () => dest.receive(r.clusterId, r.data));
    this.later(d.done, () => confirm(d.delivered ? ZNP_STATUS.SUCCESS : ZNP_STATUS.MAC_NO_ACK));
  }

  /** Asks the device at shortAddr over the air; its ZDO answers at once, and the answer goes up as an AREQ.
   *  Nobody at that address, or either frame lost: no answer at all, as from a real stick. */
  private onIeeeAddrReq(r: IeeeAddrReq): void {
    this.out(srspOf(ZDO_IEEE_ADDR_REQ), encodeStatus(ZNP_STATUS.SUCCESS));
    const dev = this.opts.devices().find((d) => d.nwk === r.shortAddr);
    if (!dev) return this.log(`IEEE_addr_req for 0x${hex4(r.shortAddr)}: no such device on the network`);
    const seq = (this.zdoSeq = (this.zdoSeq + 1) & 0xff);
    const zdo = (src: number, dst: number, clusterId: number, payload: Uint8Array) => ({ src, dst, srcEndpoint: ZDO_ENDPOINT, dstEndpoint: ZDO_ENDPOINT, clusterId, profileId: PROFILE_ZDO, payload });
    const ask = new ByteWriter(IEEE_ADDR_REQ_BYTES).u8(seq).u16(dev.nwk).u8(r.reqType).u8(r.startIndex).done();
    const there = this.opts.radio.unicast(this.opts.scheduler.now(), zdo(COORDINATOR, dev.nwk, ZDO_IEEE_ADDR_REQUEST, ask));
    if (!there.delivered) return this.log(`IEEE_addr_req to 0x${hex4(dev.nwk)} lost`);
    this.later(there.arrivals[0], () => {
      const answer = new ByteWriter(IEEE_ADDR_RSP_BYTES).u8(seq).u8(ZNP_STATUS.SUCCESS).eui64(dev.eui).u16(dev.nwk).done();
      const back = this.opts.radio.unicast(this.opts.scheduler.now(), zdo(dev.nwk, COORDINATOR, ZDO_IEEE_ADDR_RESPONSE, answer));
      if (!back.delivered) return this.log(`IEEE_addr_rsp from 0x${hex4(dev.nwk)} lost`);
      this.later(back.arrivals[0], () => this.out(ZDO_IEEE_ADDR_RSP, encodeIeeeAddrRsp({ status: ZNP_STATUS.SUCCESS, eui: dev.eui, nwkAddr: dev.nwk, startIndex: 0, assocDevList: [] })));
    });
  }

  private profileOf(endpoint: number): number {
    const e = this.endpoints.find((x) => x.endpoint === endpoint);
    return e ? e.profileId : PROFILE_SMART_ENERGY;
  }

  /** The registered endpoint that serves a cluster (else the first one): where device frames are addressed. */
  private hubEndpoint(clusterId: number): number | undefined {
    const serving = this.endpoints.find((e) => e.inClusters.indexOf(clusterId) >= 0);
    return (serving || this.endpoints[0])?.endpoint;
  }

  private rpcError(f: ZnpFrame, errorCode: number): void {
    this.out(RPC_ERROR, encodeRpcError({ errorCode, reqCmd0: f.cmd0, reqCmd1: f.cmd1 }));
  }

  /** Runs fn at scheduler time `at`, unless the stick is reset first. */
  private later(at: number, fn: () => void): void {
    const gen = this.generation;
    this.opts.scheduler.setTimer(Math.max(0, at - this.opts.scheduler.now()), () => {
      if (gen === this.generation) fn();
    });
  }

  private out(command: number, data: Uint8Array): void {
    this.opts.write(buildZnpFrame(command, data));
  }

  private log(message: string): void {
    if (this.opts.log) this.opts.log(message);
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
