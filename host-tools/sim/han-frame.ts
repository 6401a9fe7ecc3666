// What one ZigBee APS frame looks like on the air: IEEE 802.15.4 MAC header, NWK header with its security
// auxiliary header, APS header, payload, NWK MIC, FCS (FACTS §3, §7). The one place that knows frame sizes:
// the radio model's airtime, the floors and the pcap writer all take them from here. Captures hold the
// frame as a sniffer that knows the network key shows it: security removed, so tshark decodes it unaided.
import { ByteWriter } from '../../firmware/core/bytes';

/** An APS frame between the coordinator (nwk 0x0000) and one device, or a broadcast. */
export interface HanFrame {
  src: number;
  /** A device's short address, 0x0000 for the coordinator, or a broadcast address (≥ 0xFFFC). */
  dst: number;
  srcEndpoint: number;
  dstEndpoint: number;
  clusterId: number;
  profileId: number;
  payload: Uint8Array;
}

/** Sequence numbers a sender puts in the headers (they change no sizes). */
export interface FrameSequence {
  mac: number;
  nwk: number;
  aps: number;
}

export const COORDINATOR = 0x0000;
/** ZigBee broadcast short addresses start here (ZigBee spec §3.6.5); the MAC broadcast is 0xFFFF. */
export const BROADCAST_MIN = 0xfffc;
const MAC_BROADCAST = 0xffff;
export const PAN_ID = 0x1a62;

/** 2.4 GHz O-QPSK at 250 kbit/s. */
export const US_PER_BYTE = 32;
/** Preamble 4 + SFD 1 + length 1. */
export const PHY_BYTES = 6;
export const MAX_PSDU_BYTES = 127;
/** Frame control 2, sequence 1, PAN id 2 (compressed: one), short destination 2, short source 2. */
const MAC_HEADER_BYTES = 9;
const MAC_FCS_BYTES = 2;
/** Frame control 2, destination 2, source 2, radius 1, sequence 1 (ZigBee spec §3.3.1; no IEEE addresses, no source route). */
const NWK_HEADER_BYTES = 8;
/** Every HAN frame is secured with the network key at level 5, ENC-MIC-32 (ZigBee spec §4.3.1.1): an auxiliary
 *  header of security control 1, frame counter 4, source IEEE address 8 (the extended nonce, always set for
 *  NWK frames) and key sequence number 1 (§4.5.1), and a 4-byte MIC after the payload (§4.5.1.1.1).
 *  APS security is not modelled: with it too a 64-byte Image Block Response (81 ZCL bytes) would not fit
 *  a 127-byte PSDU. */
const NWK_AUX_HEADER_BYTES = 14;
const NWK_MIC_BYTES = 4;
/** Frame control 1, destination endpoint 1, cluster 2, profile 2, source endpoint 1, counter 1. */
const APS_HEADER_BYTES = 8;
/** MAC ACK: frame control 2, sequence 1, FCS 2. */
export const ACK_PSDU_BYTES = 5;

/** MAC frame control: data frame, PAN id compression, short addresses, frame version 0; ack requested for unicasts. */
const MAC_FC_DATA = 0x8841;
const MAC_FC_ACK_REQUEST = 0x0020;
const MAC_FC_ACK = 0x0002;
/** NWK frame control: data frame, protocol version 2, discover route enabled (FACTS §7: `48 00`). */
const NWK_FC_DATA = 0x0048;
/** APS frame control: data frame, unicast (0x00) or broadcast (0x08) delivery, no security, no ack request. */
const APS_FC_UNICAST = 0x00;
const APS_FC_BROADCAST = 0x08;
/** Hops a frame may travel (the Z-Stack default, 2 × NWK_MAX_DEPTH). */
const RADIUS = 30;

export function isBroadcast(f: HanFrame): boolean {
  return f.dst >= BROADCAST_MIN;
}

/** MAC frame length on the air (PSDU, FCS included) of an APS frame carrying `payloadBytes`. */
export function psduBytes(payloadBytes: number): number {
  return capturedPsduBytes(payloadBytes) + NWK_AUX_HEADER_BYTES + NWK_MIC_BYTES;
}

/** The same frame as a capture holds it: NWK security removed. */
export function capturedPsduBytes(payloadBytes: number): number {
  return MAC_HEADER_BYTES + NWK_HEADER_BYTES + APS_HEADER_BYTES + payloadBytes + MAC_FCS_BYTES;
}

/** Time on the air of a PSDU of `psdu` bytes with its PHY header. */
export function airtimeUs(psdu: number): number {
  return (PHY_BYTES + psdu) * US_PER_BYTE;
}

export function frameAirtimeUs(f: HanFrame): number {
  return airtimeUs(psduBytes(f.payload.length));
}

export function ackAirtimeUs(): number {
  return airtimeUs(ACK_PSDU_BYTES);
}

/** The MAC frame (PSDU) of `f`, FCS included, NWK security removed: what a sniffer with the network key writes
 *  with LINKTYPE 195. */
export function encodeMacFrame(f: HanFrame, seq: FrameSequence): Uint8Array {
  const bcast = isBroadcast(f);
  const w = new ByteWriter(capturedPsduBytes(f.payload.length));
  w.u16(bcast ? MAC_FC_DATA : MAC_FC_DATA | MAC_FC_ACK_REQUEST).u8(seq.mac).u16(PAN_ID).u16(bcast ? MAC_BROADCAST : f.dst).u16(f.src);
  w.u16(NWK_FC_DATA).u16(f.dst).u16(f.src).u8(RADIUS).u8(seq.nwk);
  w.u8(bcast ? APS_FC_BROADCAST : APS_FC_UNICAST).u8(f.dstEndpoint).u16(f.clusterId).u16(f.profileId).u8(f.srcEndpoint).u8(seq.aps);
  w.bytes(f.payload);
  return withFcs(w);
}

export function encodeMacAck(macSeq: number): Uint8Array {
  return withFcs(new ByteWriter(ACK_PSDU_BYTES).u16(MAC_FC_ACK).u8(macSeq));
}

function withFcs(w: ByteWriter): Uint8Array {
  return w.u16(crc16Kermit(w.done())).done();
}

/** CRC-16/KERMIT (poly 0x1021 reflected, init 0): the 802.15.4 FCS, sent little-endian. */
export function crc16Kermit(b: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < b.length; i++) {
    crc ^= b[i];
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x8408 : crc >>> 1;
  }
  return crc;
}
