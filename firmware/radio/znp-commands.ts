// Payloads of the ZNP commands the hub uses, both directions (the driver and the stick simulator share them).
// Field order from zigbee-herdsman src/adapter/z-stack/znp/definition.ts; summary in FACTS §4.
import { ByteReader, ByteWriter } from '../core/bytes';

// Status values the driver reacts to (herdsman src/adapter/z-stack/constants/common.ts ZnpCommandStatus).
export const enum ZNP_STATUS {
  SUCCESS = 0x00,
  INVALID_PARAM = 0x02,
  APS_DUPLICATE_ENTRY = 0xb8,
  NWK_NO_ROUTE = 0xcd,
  MAC_NO_ACK = 0xe9,
}

// RPC error codes (TI MT API "RPC Error": MT_RPC_ERR_COMMAND_ID, MT_RPC_ERR_LENGTH).
export const enum RPC_ERR {
  COMMAND_ID = 0x02,
  LENGTH = 0x04,
}

/** SRSPs that carry just a status byte (AF_REGISTER, AF_DATA_REQUEST). */
export function encodeStatus(status: number): Uint8Array {
  return new ByteWriter(1).u8(status).done();
}

export function decodeStatus(data: Uint8Array): number {
  return new ByteReader(data).u8('status');
}

/** SYS_PING SRSP: a bit mask of the MT subsystems the firmware was built with. */
export function encodePingResponse(capabilities: number): Uint8Array {
  return new ByteWriter(2).u16(capabilities).done();
}

export function decodePingResponse(data: Uint8Array): number {
  return new ByteReader(data).u16('capabilities');
}

export interface SysResetInd {
  reason: number; // 0 power-up, 1 external, 2 watchdog
  transportRev: number;
  productId: number;
  majorRel: number;
  minorRel: number;
  hwRev: number;
}

export function encodeSysResetInd(m: SysResetInd): Uint8Array {
  return new ByteWriter(6).u8(m.reason).u8(m.transportRev).u8(m.productId).u8(m.majorRel).u8(m.minorRel).u8(m.hwRev).done();
}

export function decodeSysResetInd(data: Uint8Array): SysResetInd {
  const r = new ByteReader(data);
  return {
    reason: r.u8('reason'),
    transportRev: r.u8('transportRev'),
    productId: r.u8('productId'),
    majorRel: r.u8('majorRel'),
    minorRel: r.u8('minorRel'),
    hwRev: r.u8('hwRev'),
  };
}

export interface AfRegister {
  endpoint: number;
  profileId: number;
  deviceId: number;
  deviceVersion: number;
  latency: number;
  inClusters: number[];
  outClusters: number[];
}

function writeClusters(w: ByteWriter, list: number[]): void {
  w.u8(list.length);
  for (let i = 0; i < list.length; i++) w.u16(list[i]);
}

function readClusters(r: ByteReader, field: string): number[] {
  const n = r.u8(field + 'Count');
  const list: number[] = [];
  for (let i = 0; i < n; i++) list.push(r.u16(field));
  return list;
}

export function encodeAfRegister(m: AfRegister): Uint8Array {
  const w = new ByteWriter(9 + 2 * (m.inClusters.length + m.outClusters.length));
  w.u8(m.endpoint).u16(m.profileId).u16(m.deviceId).u8(m.deviceVersion).u8(m.latency);
  writeClusters(w, m.inClusters);
  writeClusters(w, m.outClusters);
  return w.done();
}

export function decodeAfRegister(data: Uint8Array): AfRegister {
  const r = new ByteReader(data);
  return {
    endpoint: r.u8('endpoint'),
    profileId: r.u16('profileId'),
    deviceId: r.u16('deviceId'),
    deviceVersion: r.u8('deviceVersion'),
    latency: r.u8('latency'),
    inClusters: readClusters(r, 'inCluster'),
    outClusters: readClusters(r, 'outCluster'),
  };
}

export interface AfDataRequest {
  dstAddr: number;
  dstEndpoint: number;
  srcEndpoint: number;
  clusterId: number;
  transId: number;
  options: number;
  radius: number;
  data: Uint8Array;
}

export function encodeAfDataRequest(m: AfDataRequest): Uint8Array {
  const w = new ByteWriter(10 + m.data.length);
  w.u16(m.dstAddr).u8(m.dstEndpoint).u8(m.srcEndpoint).u16(m.clusterId).u8(m.transId).u8(m.options).u8(m.radius);
  return w.u8(m.data.length).bytes(m.data).done();
}

export function decodeAfDataRequest(data: Uint8Array): AfDataRequest {
  const r = new ByteReader(data);
  return {
    dstAddr: r.u16('dstAddr'),
    dstEndpoint: r.u8('dstEndpoint'),
    srcEndpoint: r.u8('srcEndpoint'),
    clusterId: r.u16('clusterId'),
    transId: r.u8('transId'),
    options: r.u8('options'),
    radius: r.u8('radius'),
    data: r.bytes(r.u8('len'), 'data'),
  };
}

export interface AfDataConfirm {
  status: number;
  endpoint: number;
  transId: number;
}

export function encodeAfDataConfirm(m: AfDataConfirm): Uint8Array {
  return new ByteWriter(3).u8(m.status).u8(m.endpoint).u8(m.transId).done();
}

export function decodeAfDataConfirm(data: Uint8Array): AfDataConfirm {
  const r = new ByteReader(data);
  return { status: r.u8('status'), endpoint: r.u8('endpoint'), transId: r.u8('transId') };
}

export interface AfIncomingMsg {
  groupId: number;
  clusterId: number;
  srcAddr: number;
  srcEndpoint: number;
  dstEndpoint: number;
  wasBroadcast: number;
  linkQuality: number;
  securityUse: number;
  timestamp: number;
  transSeq: number;
  data: Uint8Array;
  /** Z-Stack 3.x appends the MAC source (last hop) and the remaining radius; older stacks do not. */
  macSrcAddr?: number;
  radius?: number;
}

export function encodeAfIncomingMsg(m: AfIncomingMsg): Uint8Array {
  const w = new ByteWriter(20 + m.data.length);
  w.u16(m.groupId).u16(m.clusterId).u16(m.srcAddr).u8(m.srcEndpoint).u8(m.dstEndpoint);
  w.u8(m.wasBroadcast).u8(m.linkQuality).u8(m.securityUse).u32(m.timestamp).u8(m.transSeq);
  w.u8(m.data.length).bytes(m.data);
  if (m.macSrcAddr !== undefined) w.u16(m.macSrcAddr).u8(m.radius || 0);
  return w.done();
}

/** Accepts both the Z-Stack 3.x form (with the 3-byte trailer) and the older one without it. */
export function decodeAfIncomingMsg(data: Uint8Array): AfIncomingMsg {
  const r = new ByteReader(data);
  const m: AfIncomingMsg = {
    groupId: r.u16('groupId'),
    clusterId: r.u16('clusterId'),
    srcAddr: r.u16('srcAddr'),
    srcEndpoint: r.u8('srcEndpoint'),
    dstEndpoint: r.u8('dstEndpoint'),
    wasBroadcast: r.u8('wasBroadcast'),
    linkQuality: r.u8('linkQuality'),
    securityUse: r.u8('securityUse'),
    timestamp: r.u32('timestamp'),
    transSeq: r.u8('transSeq'),
    data: r.bytes(r.u8('len'), 'data'),
  };
  if (r.remaining() >= 3) {
    m.macSrcAddr = r.u16('macSrcAddr');
    m.radius = r.u8('radius');
  }
  return m;
}

export interface ZdoEndDeviceAnnce {
  srcAddr: number;
  nwkAddr: number;
  /** 16 upper-case hex digits, most significant first. */
  eui: string;
  capabilities: number;
}

export function encodeEndDeviceAnnce(m: ZdoEndDeviceAnnce): Uint8Array {
  return new ByteWriter(13).u16(m.srcAddr).u16(m.nwkAddr).eui64(m.eui).u8(m.capabilities).done();
}

export function decodeEndDeviceAnnce(data: Uint8Array): ZdoEndDeviceAnnce {
  const r = new ByteReader(data);
  return { srcAddr: r.u16('srcAddr'), nwkAddr: r.u16('nwkAddr'), eui: r.eui64('ieeeAddr'), capabilities: r.u8('capabilities') };
}

/** ZDO_IEEE_ADDR_REQ: who is shortAddr? reqType 0 asks for the device alone, 1 for its children too. */
export interface IeeeAddrReq {
  shortAddr: number;
  reqType: number;
  startIndex: number;
}

export function encodeIeeeAddrReq(m: IeeeAddrReq): Uint8Array {
  return new ByteWriter(4).u16(m.shortAddr).u8(m.reqType).u8(m.startIndex).done();
}

export function decodeIeeeAddrReq(data: Uint8Array): IeeeAddrReq {
  const r = new ByteReader(data);
  return { shortAddr: r.u16('shortAddr'), reqType: r.u8('reqType'), startIndex: r.u8('startIndex') };
}

/** ZDO_IEEE_ADDR_RSP, the device's answer. Z-Stack puts startIndex before numAssocDev (the ZDO frame has them the
 *  other way round; herdsman's zpiObject.ts swaps them back), then the children's short addresses. */
export interface IeeeAddrRsp {
  status: number;
  /** 16 upper-case hex digits, most significant first. */
  eui: string;
  nwkAddr: number;
  startIndex: number;
  assocDevList: number[];
}

export function encodeIeeeAddrRsp(m: IeeeAddrRsp): Uint8Array {
  const w = new ByteWriter(13 + 2 * m.assocDevList.length).u8(m.status).eui64(m.eui).u16(m.nwkAddr).u8(m.startIndex).u8(m.assocDevList.length);
  for (let i = 0; i < m.assocDevList.length; i++) w.u16(m.assocDevList[i]);
  return w.done();
}

export function decodeIeeeAddrRsp(data: Uint8Array): IeeeAddrRsp {
  const r = new ByteReader(data);
  const m: IeeeAddrRsp = { status: r.u8('status'), eui: r.eui64('ieeeAddr'), nwkAddr: r.u16('nwkAddr'), startIndex: r.u8('startIndex'), assocDevList: [] };
  const n = r.u8('numAssocDev');
  for (let i = 0; i < n; i++) m.assocDevList.push(r.u16('assocDevList'));
  return m;
}

export interface RpcError {
  errorCode: number;
  reqCmd0: number;
  reqCmd1: number;
}

export function encodeRpcError(m: RpcError): Uint8Array {
  return new ByteWriter(3).u8(m.errorCode).u8(m.reqCmd0).u8(m.reqCmd1).done();
}

export function decodeRpcError(data: Uint8Array): RpcError {
  const r = new ByteReader(data);
  return { errorCode: r.u8('errorCode'), reqCmd0: r.u8('reqCmd0'), reqCmd1: r.u8('reqCmd1') };
}
