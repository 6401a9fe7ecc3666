// A Z-Stack ZNP coordinator stick as seen from its UART (FACTS §4): answers SREQs, carries AF data to and from
// simulated devices over the radio model, reports device announces and asks devices for their EUI-64. Behaviours a driver must cope with are
// kept: unregistered endpoints are refused, re-registration gives 0xB8, a reset forgets every endpoint.
// A host that starts a network of its own (zigbee-herdsman's zstack adapter) gets what it asks at start-up from
// znp-startup.ts; once it forms a network the devices join it only while it permits joining, and it can
// interview them (ZDO descriptor requests, answered over the air by each device's ZDO, zdo-device.ts).
// An SREQ the stick does not implement gets Z-Stack's RPC error and is reported by name (onUnsupported).
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
import { Delivery, NWK_MAX_BROADCAST_RETRIES, RadioModel } from './radio-model';
import { runRadioOn } from './radio-clock';
import { Scheduler } from './scheduler';
import { NodeDescription, ZDO_CLUSTER, ZDO_RESPONSE, zdoAnswer, ZdoNode } from './zdo-device';
import { ZnpStartup } from './znp-startup';

/** What the stick needs of a simulated device: its ZDO answers from its EUI-64 (IEEE_addr_req) and description. */
export interface StickDevice extends ZdoNode {
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
  /** An SREQ the simulated stick cannot answer, named; the host got an RPC error. */
  onUnsupported?(message: string): void;
  /** Multiplier for the stick's own delays (forming a network), like every simulated delay. */
  timeScale?: number;
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
/** ZDO IEEE_addr_req after its sequence number: nwk 2, request type 1, start index 1 (ZigBee spec §2.4.3.1.2). */
const IEEE_ADDR_REQ_BYTES = 4;
/** The stick's own IEEE address: TI's OUI, as on a CC2652 stick. */
const STICK_EUI = '00124B0001C0FFEE';
/** The coordinator's node descriptor fields: logical type coordinator, capabilities alternate PAN coordinator |
 *  FFD | mains | rx on idle | allocate address (ZigBee spec §2.3.2.3.7), manufacturer TI (herdsman ManufacturerCode). */
const COORDINATOR_NODE = { logicalType: 0, capabilities: 0x8f, manufacturerCode: 0x0000 };
/** ZDO requests the host sends to a node by NWK address: SREQ data is dstAddr u16 then the request's ZDO
 *  payload; the answer is an AREQ of srcAddr u16 then the response's ZDO payload (MT API ZDO interface). */
const ZDO_REQUESTS = new Map([
  [0x2502, { cluster: ZDO_CLUSTER.NODE_DESC, areq: 0x4582 }],
  [0x2504, { cluster: ZDO_CLUSTER.SIMPLE_DESC, areq: 0x4584 }],
  [0x2505, { cluster: ZDO_CLUSTER.ACTIVE_EP, areq: 0x4585 }],
]);
/** ZDO_MGMT_PERMIT_JOIN_REQ: addrMode u8, dstAddr u16, duration u8 (s), tcSignificance u8. */
const ZDO_MGMT_PERMIT_JOIN_REQ = 0x2536;
/** ZDO_TC_DEV_IND: the trust centre let a device join: nwk u16, IEEE, parent u16. */
const ZDO_TC_DEV_IND = 0x45ca;
/** SYS_RESET_REQ (AREQ): the host resets the stick, which answers with SYS_RESET_IND. */
const SYS_RESET_REQ = 0x4100;
/** AF_DATA_REQUEST_EXT: dstAddrMode u8, dstAddr 8, dstEndpoint u8, dstPanId u16, srcEndpoint u8, clusterId u16,
 *  transId u8, options u8, radius u8, len u16, data. Herdsman sends green power and inter-PAN frames with it;
 *  the simulated HAN has neither, so it is confirmed (SRSP) and goes nowhere. */
const AF_DATA_REQUEST_EXT = 0x2402;
/** MT subsystem names, to name an unsupported command (MT API §2; herdsman unpi/constants.ts Subsystem). */
const SUBSYSTEMS = ['RPC', 'SYS', 'MAC', 'NWK', 'AF', 'ZDO', 'SAPI', 'UTIL', 'DEBUG', 'APP', 'OTA', 'ZNP', 'UNKNOWN', 'UBL', 'RESERVED', 'APP_CNF'];

export class SimZnpStick {
  private readonly reader = new ZnpFrameReader();
  private endpoints: AfRegister[] = [];
  /** Bumped by reset(): frames still on the air from before it are dropped. */
  private generation = 0;
  private transSeq = 0;
  private zdoSeq = 0;
  private readonly startup: ZnpStartup;
  /** The devices on the stick's network; null: the network it came with, which every device on the air is on. */
  private members: Set<number> | null = null;
  /** Scheduler time until which the network permits joining. */
  private permitUntil = 0;

  constructor(private readonly opts: SimZnpStickOptions) {
    runRadioOn(opts.radio, opts.scheduler);
    this.startup = new ZnpStartup({
      eui: STICK_EUI,
      out: (command, data) => this.out(command, data),
      later: (ms, fn) => this.later(this.opts.scheduler.now() + ms * (this.opts.timeScale ?? 1), fn),
      onFormed: () => {
        this.members = new Set();
        this.log('formed a new network: devices join it while joining is permitted');
      },
    });
  }

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
    this.startup.onReset();
    this.out(SYS_RESET_IND, encodeSysResetInd({ reason, ...RESET_IND }));
  }

  /** A device put an APS frame on the air for the hub. */
  fromDevice(src: { nwk: number; endpoint: number }, clusterId: number, data: Uint8Array): void {
    const ep = this.hubEndpoint(clusterId);
    if (ep === undefined) return this.log(`frame from 0x${hex4(src.nwk)} dropped: no endpoint registered`);
    if (!this.isMember(src.nwk)) return this.log(`frame from 0x${hex4(src.nwk)} dropped: not on the stick's network`);
    const frame = { src: src.nwk, dst: COORDINATOR, srcEndpoint: src.endpoint, dstEndpoint: ep, clusterId, profileId: PROFILE_SMART_ENERGY, payload: data };
    const gen = this.generation;
    const incoming = (linkQuality: number) =>
      this.out(
        AF_INCOMING_MSG,
        encodeAfIncomingMsg({
          groupId: 0,
          clusterId,
          srcAddr: src.nwk,
          srcEndpoint: src.endpoint,
          dstEndpoint: ep,
          wasBroadcast: 0,
          linkQuality,
          securityUse: 0,
          timestamp: Math.floor(this.opts.scheduler.now()) % 0x100000000,
          transSeq: (this.transSeq = (this.transSeq + 1) & 0xff),
          data,
          macSrcAddr: src.nwk,
          radius: INCOMING_RADIUS,
        }),
      );
    const arrived = (arrivals: number[], linkQuality: number) => {
      for (const at of arrivals) this.later(at, () => incoming(linkQuality), gen);
    };
    const done = (d: Delivery) => {
      if (d.arrivals.length === 0) this.log(`frame from 0x${hex4(src.nwk)} lost after ${d.attempts} attempts`);
    };
    this.opts.radio.unicast(this.opts.scheduler.now(), frame, { arrived, done });
  }

  /** A device broadcast its ZDO end-device announce (the coordinator hears it over that device's link). */
  announce(nwk: number, eui: string, capabilities: number): void {
    if (!this.isMember(nwk)) {
      const dev = this.opts.devices().find((d) => d.nwk === nwk);
      if (dev && this.opts.scheduler.now() < this.permitUntil) return this.admit(dev);
      return this.log(`announce from 0x${hex4(nwk)} dropped: not on the stick's network`);
    }
    const payload = new ByteWriter(ANNOUNCE_BYTES).u8((this.zdoSeq = (this.zdoSeq + 1) & 0xff)).u16(nwk).eui64(eui).u8(capabilities).done();
    const frame = { src: nwk, dst: BROADCAST_RX_ON_IDLE, srcEndpoint: ZDO_ENDPOINT, dstEndpoint: ZDO_ENDPOINT, clusterId: ZDO_DEVICE_ANNCE, profileId: PROFILE_ZDO, payload };
    const gen = this.generation;
    let heard = false;
    this.opts.radio.broadcast(this.opts.scheduler.now(), frame, [nwk], NWK_MAX_BROADCAST_RETRIES, {
      arrived: (_, at) => {
        heard = true;
        this.later(at[0], () => this.out(ZDO_END_DEVICE_ANNCE_IND, encodeEndDeviceAnnce({ srcAddr: nwk, nwkAddr: nwk, eui, capabilities })), gen);
      },
      done: () => heard || this.log(`announce from 0x${hex4(nwk)} lost`),
    });
  }

  private onFrame(f: ZnpFrame): void {
    const cmd = commandOf(f);
    if (cmd === SYS_RESET_REQ) return this.reset();
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
        case ZDO_MGMT_PERMIT_JOIN_REQ:
          return this.onPermitJoin(f.data);
        case AF_DATA_REQUEST_EXT:
          return this.out(srspOf(cmd), encodeStatus(ZNP_STATUS.SUCCESS));
      }
      const zdo = ZDO_REQUESTS.get(cmd);
      if (zdo) return this.onZdoRequest(cmd, zdo.cluster, zdo.areq, f.data);
      if (this.startup.handle(cmd, f.data)) return;
    } catch {
      return this.rpcError(f, RPC_ERR.LENGTH); // a field ran past the end of the frame
    }
    // Real Z-Stack answers an SREQ it does not implement with an RPC error SRSP (herdsman unpi Subsystem.RESERVED).
    // A host may wait for the SRSP it expected (herdsman: 6 s); say which command, so that is never a mystery.
    this.rpcError(f, RPC_ERR.COMMAND_ID);
    const name = `${SUBSYSTEMS[f.cmd0 & 0x1f] ?? 'subsystem ' + (f.cmd0 & 0x1f)} command 0x${hex2(f.cmd1)}`;
    const message = `unsupported ZNP SREQ ${name} (CMD0 0x${hex2(f.cmd0)} CMD1 0x${hex2(f.cmd1)}): the simulated stick does not implement it and answered with an RPC error`;
    this.log(message);
    if (this.opts.onUnsupported) this.opts.onUnsupported(message);
  }

  /** Opens (or closes, duration 0) the network for joining; devices not on it yet join now (TC_DEV_IND, then
   *  their announce), as devices waiting in pairing mode do. */
  private onPermitJoin(data: Uint8Array): void {
    const duration = data[3];
    if (duration === undefined) throw new RangeError('ZDO_MGMT_PERMIT_JOIN_REQ too short');
    this.out(srspOf(ZDO_MGMT_PERMIT_JOIN_REQ), encodeStatus(ZNP_STATUS.SUCCESS));
    this.permitUntil = this.opts.scheduler.now() + duration * 1000 * (this.opts.timeScale ?? 1);
    if (duration === 0) return;
    for (const d of this.opts.devices()) if (!this.isMember(d.nwk)) this.admit(d);
  }

  /** A device joins the stick's network: the trust centre reports it, then the device announces itself. */
  private admit(d: StickDevice): void {
    if (!d.description) return this.log(`0x${hex4(d.nwk)} cannot join: it has no node description`);
    (this.members as Set<number>).add(d.nwk);
    this.out(ZDO_TC_DEV_IND, new ByteWriter(12).u16(d.nwk).eui64(d.eui).u16(COORDINATOR).done());
    this.announce(d.nwk, d.eui, d.description.capabilities);
  }

  private isMember(nwk: number): boolean {
    return this.members === null || this.members.has(nwk);
  }

  /** The devices the stick can reach: on the air and on its network. */
  private reachable(): StickDevice[] {
    return this.opts.devices().filter((d) => this.isMember(d.nwk));
  }

  /** A ZDO request for a node: the stick answers for itself, a device answers over the air; the response comes
   *  up as an AREQ. Nobody at that address, or either frame lost: no answer at all, as from a real stick. */
  private onZdoRequest(cmd: number, cluster: number, areq: number, data: Uint8Array): void {
    const dst = data[0] | (data[1] << 8);
    const request = data.subarray(2);
    if (request.length < 2) throw new RangeError('ZDO request too short');
    this.out(srspOf(cmd), encodeStatus(ZNP_STATUS.SUCCESS));
    const up = (src: number, answer: Uint8Array) => this.out(areq, new ByteWriter(answer.length + 2).u16(src).bytes(answer).done());
    if (dst === COORDINATOR) {
      const answer = zdoAnswer(this.coordinatorNode(), cluster, request);
      if (answer) this.later(this.opts.scheduler.now(), () => up(COORDINATOR, answer));
      return;
    }
    const dev = this.reachable().find((d) => d.nwk === dst);
    if (!dev) return this.log(`ZDO request 0x${hex4(cluster)} for 0x${hex4(dst)}: no such device on the network`);
    this.zdoOverTheAir(dev, cluster, request, (answer) => up(dev.nwk, answer));
  }

  /** The stick as a ZDO node: the endpoints the host registered. */
  private coordinatorNode(): ZdoNode {
    const description: NodeDescription = { ...COORDINATOR_NODE, endpoints: this.endpoints };
    return { nwk: COORDINATOR, eui: STICK_EUI, description };
  }

  /** Sends a ZDO request to a device and hands its response payload (after the sequence number) to `done`. */
  private zdoOverTheAir(dev: StickDevice, cluster: number, request: Uint8Array, done: (answer: Uint8Array) => void): void {
    const seq = (this.zdoSeq = (this.zdoSeq + 1) & 0xff);
    const zdo = (src: number, dst: number, clusterId: number, payload: Uint8Array) => ({ src, dst, srcEndpoint: ZDO_ENDPOINT, dstEndpoint: ZDO_ENDPOINT, clusterId, profileId: PROFILE_ZDO, payload });
    const ask = new ByteWriter(request.length + 1).u8(seq).bytes(request).done();
    const gen = this.generation;
    const answer = () => {
      const a = zdoAnswer(dev, cluster, request);
      if (!a) return this.log(`ZDO request 0x${hex4(cluster)} to 0x${hex4(dev.nwk)}: not answered`);
      const payload = new ByteWriter(a.length + 1).u8(seq).bytes(a).done();
      this.opts.radio.unicast(this.opts.scheduler.now(), zdo(dev.nwk, COORDINATOR, cluster | ZDO_RESPONSE, payload), {
        arrived: (at) => this.later(at[0], () => done(a), gen),
        done: (d) => d.arrivals.length > 0 || this.log(`ZDO response 0x${hex4(cluster | ZDO_RESPONSE)} from 0x${hex4(dev.nwk)} lost`),
      });
    };
    this.opts.radio.unicast(this.opts.scheduler.now(), zdo(COORDINATOR, dev.nwk, cluster, ask), {
      arrived: (at) => this.later(at[0], answer, gen),
      done: (d) => d.arrivals.length > 0 || this.log(`ZDO request 0x${hex4(cluster)} to 0x${hex4(dev.nwk)} lost`),
    });
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
    const gen = this.generation;
    const confirm = (status: number) => this.out(AF_DATA_CONFIRM, encodeAfDataConfirm({ status, endpoint: r.srcEndpoint, transId: r.transId }));
    const frame = { src: COORDINATOR, dst: r.dstAddr, srcEndpoint: r.srcEndpoint, dstEndpoint: r.dstEndpoint, clusterId: r.clusterId, profileId: this.profileOf(r.srcEndpoint), payload: r.data };
    const wanted = (d: StickDevice) => r.dstEndpoint === BROADCAST_ENDPOINT || d.endpoint === r.dstEndpoint;
    if (r.dstAddr >= BROADCAST_MIN) {
      // Broadcasts are not acknowledged: each device hears it or not, and the confirm is always SUCCESS.
      const devices = this.reachable();
      return this.opts.radio.broadcast(now, frame, devices.map((d) => d.nwk), NWK_MAX_BROADCAST_RETRIES, {
        arrived: (nwk, arrivals) => {
          const dev = devices.find((d) => d.nwk === nwk);
          if (dev && wanted(dev)) for (const at of arrivals) this.later(at, () => dev.receive(r.clusterId, r.data), gen);
        },
        done: (at) => this.later(at, () => confirm(ZNP_STATUS.SUCCESS), gen),
      });
    }
    const dest = this.reachable().find((d) => d.nwk === r.dstAddr);
    if (!dest) return this.later(now, () => confirm(ZNP_STATUS.NWK_NO_ROUTE));
    this.opts.radio.unicast(now, frame, {
      // Delivered to the device's MAC even if no endpoint there wants it (the APS layer drops it).
      arrived: (arrivals) => wanted(dest) && arrivals.forEach((at) => this.later(at, () => dest.receive(r.clusterId, r.data), gen)),
      done: (d) => this.later(d.done, () => confirm(d.delivered ? ZNP_STATUS.SUCCESS : ZNP_STATUS.MAC_NO_ACK), gen),
    });
  }

  /** Asks the device at shortAddr over the air; its ZDO answers at once, and the answer goes up as an AREQ.
   *  Nobody at that address, or either frame lost: no answer at all, as from a real stick. */
  private onIeeeAddrReq(r: IeeeAddrReq): void {
    this.out(srspOf(ZDO_IEEE_ADDR_REQ), encodeStatus(ZNP_STATUS.SUCCESS));
    const dev = this.reachable().find((d) => d.nwk === r.shortAddr);
    if (!dev) return this.log(`IEEE_addr_req for 0x${hex4(r.shortAddr)}: no such device on the network`);
    const request = new ByteWriter(IEEE_ADDR_REQ_BYTES).u16(dev.nwk).u8(r.reqType).u8(r.startIndex).done();
    this.zdoOverTheAir(dev, ZDO_CLUSTER.IEEE_ADDR, request, () =>
      this.out(ZDO_IEEE_ADDR_RSP, encodeIeeeAddrRsp({ status: ZNP_STATUS.SUCCESS, eui: dev.eui, nwkAddr: dev.nwk, startIndex: 0, assocDevList: [] })),
    );
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

  /** Runs fn at scheduler time `at`, unless the stick is reset first (or has been since `gen`, when a frame was handed to the radio). */
  private later(at: number, fn: () => void, gen = this.generation): void {
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

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}
