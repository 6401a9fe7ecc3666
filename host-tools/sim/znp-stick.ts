// A Z-Stack ZNP coordinator stick as seen from its UART (FACTS §4): answers SREQs, carries AF data to and from
// simulated devices over the radio model, and reports device announces. Behaviours a driver must cope with are
// kept: unregistered endpoints are refused, re-registration gives 0xB8, a reset forgets every endpoint.
import {
  AfDataRequest,
  decodeAfDataRequest,
  decodeAfRegister,
  encodeAfDataConfirm,
  encodeAfIncomingMsg,
  encodeEndDeviceAnnce,
  encodePingResponse,
  encodeRpcError,
  encodeStatus,
  encodeSysResetInd,
  RPC_ERR,
  ZNP_STATUS,
  AfRegister,
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
  ZnpFrame,
  ZnpFrameReader,
  ZnpReaderStats,
} from '../../firmware/radio/znp-frame';
import { RadioModel } from './radio-model';
import { Scheduler } from './scheduler';

/** What the stick needs of a simulated device. */
export interface StickDevice {
  nwk: number;
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
/** ZigBee broadcast short addresses: all devices, rx-on-when-idle, routers (ZigBee spec §3.6.5). */
const BROADCAST_MIN = 0xfffc;
const BROADCAST_ENDPOINT = 0xff;
/** Z-Stack 3.x: a device one hop away arrives with the default radius (30) less one hop. */
const INCOMING_RADIUS = 29;
/** ZDO Device_annce payload: sequence 1, nwk 2, ieee 8, capability 1 (ZigBee spec §2.4.3.1.11). */
const ANNOUNCE_BYTES = 12;

export class SimZnpStick {
  private readonly reader = new ZnpFrameReader();
  private endpoints: AfRegister[] = [];
  /** Bumped by reset(): frames still on the air from before it are dropped. */
  private generation = 0;
  private transSeq = 0;

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
    const d = this.opts.radio.send(this.opts.scheduler.now(), src.nwk, data.length);
    if (!d.delivered) return this.log(`frame from 0x${hex4(src.nwk)} lost after ${d.attempts} attempts`);
    this.later(d.at, () =>
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

  /** A device broadcast its ZDO end-device announce. */
  announce(nwk: number, eui: string, capabilities: number): void {
    const d = this.opts.radio.send(this.opts.scheduler.now(), nwk, ANNOUNCE_BYTES);
    if (!d.delivered) return this.log(`announce from 0x${hex4(nwk)} lost`);
    this.later(d.at, () => this.out(ZDO_END_DEVICE_ANNCE_IND, encodeEndDeviceAnnce({ srcAddr: nwk, nwkAddr: nwk, eui, capabilities })));
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
    const targets = this.opts.devices().filter((d) => (r.dstAddr >= BROADCAST_MIN || d.nwk === r.dstAddr) && (r.dstEndpoint === BROADCAST_ENDPOINT || d.endpoint === r.dstEndpoint));
    if (r.dstAddr >= BROADCAST_MIN) {
      // Broadcasts are not acknowledged: each device hears it or not, and the confirm is always SUCCESS.
      let last = now;
      for (const dev of targets) {
        const d = this.opts.radio.send(now, dev.nwk, r.data.length);
        last = Math.max(last, d.at);
        if (d.delivered) this.later(d.at, () => dev.receive(r.clusterId, r.data));
      }
      return this.later(last, () => confirm(ZNP_STATUS.SUCCESS));
    }
    const known = this.opts.devices().some((d) => d.nwk === r.dstAddr);
    const d = this.opts.radio.send(now, r.dstAddr, r.data.length);
    if (!known) return this.later(d.at, () => confirm(ZNP_STATUS.NWK_NO_ROUTE));
    this.later(d.at, () => {
      // Delivered to the device's MAC even if no endpoint there wants it (the APS layer drops it).
      if (d.delivered) for (const dev of targets) dev.receive(r.clusterId, r.data);
      confirm(d.delivered ? ZNP_STATUS.SUCCESS : ZNP_STATUS.MAC_NO_ACK);
    });
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
