// What a node's ZDO says about itself when asked over the air (ZigBee spec §2.4.3.1, §2.4.4.2): its node
// descriptor, active endpoints, simple descriptors and IEEE address. A ZNP host interviews every device that
// joins with these (zigbee-herdsman Device.interviewInternal); the simulated stick answers the same requests
// for itself (the coordinator) from the endpoints the host registered.
import { ByteReader, ByteWriter } from '../../firmware/core/bytes';

/** One application endpoint as a simple descriptor states it (ZigBee spec §2.3.2.5). */
export interface SimpleDescriptor {
  endpoint: number;
  profileId: number;
  deviceId: number;
  deviceVersion: number;
  inClusters: number[];
  outClusters: number[];
}

/** What the node descriptor and the simple descriptors say. */
export interface NodeDescription {
  /** ZigBee spec §2.3.2.3.1: 0 coordinator, 1 router, 2 end device. */
  logicalType: number;
  /** MAC capability flags (ZigBee spec §2.3.2.3.7), as in its device announce. */
  capabilities: number;
  manufacturerCode: number;
  endpoints: SimpleDescriptor[];
}

export interface ZdoNode {
  nwk: number;
  eui: string;
  /** Absent: the node answers IEEE_addr_req only. */
  description?: NodeDescription;
}

/** Smart Energy profile and the device ids a PPMID (an In-Premise Display with prepayment functions) and an
 *  HCALCS (a Load Control Device) state (ZigBee Smart Energy Standard 07-5356, device descriptions). */
const PROFILE_SMART_ENERGY = 0x0109;
const SE_DEVICE_ID = { PPMID: 0x0502, HCALCS: 0x0504 };
/** Basic (0x0000) served, OTA Upgrade (0x0019) as a client: what a host looks for to offer firmware. */
const SIM_IN_CLUSTERS = [0x0000];
const SIM_OUT_CLUSTERS = [0x0019];

/** A simulated PPMID or HCALCS: one Smart Energy endpoint. */
export function simDeviceDescription(type: 'PPMID' | 'HCALCS', endpoint: number, capabilities: number, manufacturerCode: number): NodeDescription {
  const ep = { endpoint, profileId: PROFILE_SMART_ENERGY, deviceId: SE_DEVICE_ID[type], deviceVersion: 0, inClusters: SIM_IN_CLUSTERS, outClusters: SIM_OUT_CLUSTERS };
  return { logicalType: logicalTypeOf(capabilities), capabilities, manufacturerCode, endpoints: [ep] };
}

/** ZDO request and response cluster ids (ZigBee spec §2.4.3.1, §2.4.4.2; responses are request | 0x8000). */
export const ZDO_CLUSTER = { IEEE_ADDR: 0x0001, NODE_DESC: 0x0002, SIMPLE_DESC: 0x0004, ACTIVE_EP: 0x0005 } as const;
export const ZDO_RESPONSE = 0x8000;

/** ZDO status values (ZigBee spec Table 2.137). */
const ZDO_SUCCESS = 0x00;
const ZDO_INVALID_EP = 0x82;
const ZDO_NOT_SUPPORTED = 0x84;
const ZDO_NOT_ACTIVE = 0x83;

/** MAC capability bit of a full-function device (ZigBee spec §2.3.2.3.7): a router, not an end device. */
const CAP_FFD = 0x02;
/** Node descriptor byte 1: frequency band bit for 2.4 GHz (bit 3 of the band field, ZigBee spec Table 2.33). */
const BAND_2400MHZ = 0x40;
/** Largest NWK/APS buffers a Z-Stack 3.x node states (maxBufferSize 80, max in/out transfer size 160). */
const MAX_BUFFER = 80;
const MAX_TRANSFER = 160;
/** Server mask: stack compliance revision 22 in bits 9–15 (ZigBee spec §2.3.2.3.10, R22). */
const SERVER_MASK = 22 << 9;

/** The logical type a device's capability flags imply: routers are FFDs, the rest end devices. */
function logicalTypeOf(capabilities: number): number {
  return capabilities & CAP_FFD ? 1 : 2;
}

/**
 * The node's answer to a ZDO request (the request payload after its sequence number): the response payload
 * after the sequence number, or null for a request about another node (it stays silent, as a device does).
 */
export function zdoAnswer(node: ZdoNode, clusterId: number, request: Uint8Array): Uint8Array | null {
  const r = new ByteReader(request);
  const nwkOfInterest = r.u16('nwkAddrOfInterest');
  if (nwkOfInterest !== node.nwk) return null;
  const w = new ByteWriter();
  // Single-device response: status, IEEE address, NWK address (§2.4.4.2.2).
  if (clusterId === ZDO_CLUSTER.IEEE_ADDR) return w.u8(ZDO_SUCCESS).eui64(node.eui).u16(node.nwk).done();
  const d = node.description;
  if (!d) return null;
  switch (clusterId) {
    case ZDO_CLUSTER.NODE_DESC:
      // status, nwkAddrOfInterest, then the 13-byte node descriptor (§2.3.2.3, §2.4.4.2.3).
      return w
        .u8(ZDO_SUCCESS)
        .u16(node.nwk)
        .u8(d.logicalType)
        .u8(BAND_2400MHZ)
        .u8(d.capabilities)
        .u16(d.manufacturerCode)
        .u8(MAX_BUFFER)
        .u16(MAX_TRANSFER)
        .u16(SERVER_MASK)
        .u16(MAX_TRANSFER)
        .u8(0)
        .done();
    case ZDO_CLUSTER.ACTIVE_EP: {
      // status, nwkAddrOfInterest, count, endpoints (§2.4.4.2.6).
      w.u8(ZDO_SUCCESS).u16(node.nwk).u8(d.endpoints.length);
      for (const e of d.endpoints) w.u8(e.endpoint);
      return w.done();
    }
    case ZDO_CLUSTER.SIMPLE_DESC: {
      // status, nwkAddrOfInterest, length, simple descriptor (§2.4.4.2.5); no descriptor: status and address only.
      const ep = r.u8('endpoint');
      const e = d.endpoints.find((x) => x.endpoint === ep);
      // 0 is the ZDO's own and 0xFF the broadcast endpoint; 241–254 are reserved but in use (242: Green Power).
      if (ep === 0 || ep === 0xff) return w.u8(ZDO_INVALID_EP).u16(node.nwk).u8(0).done();
      if (!e) return w.u8(ZDO_NOT_ACTIVE).u16(node.nwk).u8(0).done();
      const desc = new ByteWriter().u8(e.endpoint).u16(e.profileId).u16(e.deviceId).u8(e.deviceVersion & 0x0f).u8(e.inClusters.length);
      for (const c of e.inClusters) desc.u16(c);
      desc.u8(e.outClusters.length);
      for (const c of e.outClusters) desc.u16(c);
      const bytes = desc.done();
      return w.u8(ZDO_SUCCESS).u16(node.nwk).u8(bytes.length).bytes(bytes).done();
    }
  }
  return w.u8(ZDO_NOT_SUPPORTED).done();
}
