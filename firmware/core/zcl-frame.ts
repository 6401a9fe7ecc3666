// ZCL frame header and the few general (profile-wide) commands the hub needs:
// Read Attributes (0x00/0x01) to read a device's firmware version, Default Response (0x0B).
// Source: ZigBee Cluster Library spec (07-5123), §2.4 (frame format), §2.5 (general commands).
import { ByteReader, ByteWriter, codedError } from './bytes';

export const FRAME_TYPE_GLOBAL = 0;
export const FRAME_TYPE_CLUSTER = 1;
export const DIR_CLIENT_TO_SERVER = 0;
export const DIR_SERVER_TO_CLIENT = 1;

export interface ZclHeader {
  frameType: number; // 0 general, 1 cluster-specific
  manufacturerCode?: number; // present only in manufacturer-specific frames
  direction: number; // 0 client→server, 1 server→client
  disableDefaultResponse: boolean;
  seq: number;
  commandId: number;
}

export interface ZclFrame {
  header: ZclHeader;
  payload: Uint8Array;
}

export function parseZclFrame(buf: Uint8Array): ZclFrame {
  const r = new ByteReader(buf);
  const fc = r.u8('frameControl');
  const frameType = fc & 3;
  if (frameType > 1) throw codedError('MALFORMED', 'reserved ZCL frame type ' + frameType);
  const header: ZclHeader = {
    frameType: frameType,
    direction: (fc >> 3) & 1,
    disableDefaultResponse: (fc & 0x10) !== 0,
    seq: 0,
    commandId: 0,
  };
  if (fc & 4) header.manufacturerCode = r.u16('manufacturerCode');
  header.seq = r.u8('transactionSequence');
  header.commandId = r.u8('commandId');
  return { header: header, payload: r.rest() };
}

export function buildZclFrame(h: ZclHeader, payload: Uint8Array): Uint8Array {
  return writeZclHeader(new ByteWriter(payload.length + 5), h).bytes(payload).done();
}

/** The ZCL header into `w`, for a caller that writes the payload after it in the same buffer. */
export function writeZclHeader(w: ByteWriter, h: ZclHeader): ByteWriter {
  const mfr = h.manufacturerCode !== undefined;
  w.u8((h.frameType & 3) | (mfr ? 4 : 0) | ((h.direction & 1) << 3) | (h.disableDefaultResponse ? 0x10 : 0));
  if (mfr) w.u16(h.manufacturerCode as number);
  return w.u8(h.seq).u8(h.commandId);
}

// General command ids (ZCL §2.5).
export const CMD_READ_ATTRIBUTES = 0x00;
export const CMD_READ_ATTRIBUTES_RESPONSE = 0x01;
export const CMD_DEFAULT_RESPONSE = 0x0b;

// ZCL data types we read and write (ZCL §2.6.2).
export const TYPE_UINT8 = 0x20;
export const TYPE_UINT16 = 0x21;
export const TYPE_UINT32 = 0x23;

export interface AttributeRecord {
  id: number;
  status: number;
  type?: number;
  value?: number;
}

export function encodeReadAttributes(ids: number[]): Uint8Array {
  const w = new ByteWriter(ids.length * 2);
  for (let i = 0; i < ids.length; i++) w.u16(ids[i]);
  return w.done();
}

export function decodeReadAttributes(p: Uint8Array): number[] {
  if (p.length % 2) throw codedError('MALFORMED', 'read attributes payload has odd length ' + p.length);
  const r = new ByteReader(p);
  const ids: number[] = [];
  while (r.remaining() > 0) ids.push(r.u16('attributeId'));
  return ids;
}

function valueSize(type: number): number {
  if (type === TYPE_UINT8) return 1;
  if (type === TYPE_UINT16) return 2;
  if (type === TYPE_UINT32) return 4;
  throw codedError('UNSUPPORTED', 'unsupported ZCL data type ' + type);
}

export function encodeReadAttributesResponse(records: AttributeRecord[]): Uint8Array {
  const w = new ByteWriter();
  for (let i = 0; i < records.length; i++) {
    const rec = records[i];
    w.u16(rec.id).u8(rec.status);
    if (rec.status !== 0) continue;
    const t = rec.type as number;
    const n = valueSize(t);
    w.u8(t);
    if (n === 1) w.u8(rec.value as number);
    else if (n === 2) w.u16(rec.value as number);
    else w.u32(rec.value as number);
  }
  return w.done();
}

export function decodeReadAttributesResponse(p: Uint8Array): AttributeRecord[] {
  const r = new ByteReader(p);
  const out: AttributeRecord[] = [];
  while (r.remaining() > 0) {
    const rec: AttributeRecord = { id: r.u16('attributeId'), status: r.u8('status') };
    if (rec.status === 0) {
      rec.type = r.u8('dataType');
      const n = valueSize(rec.type);
      rec.value = n === 1 ? r.u8('value') : n === 2 ? r.u16('value') : r.u32('value');
    }
    out.push(rec);
  }
  return out;
}

export interface DefaultResponse {
  commandId: number;
  status: number;
}

export function encodeDefaultResponse(d: DefaultResponse): Uint8Array {
  return new ByteWriter(2).u8(d.commandId).u8(d.status).done();
}

export function decodeDefaultResponse(p: Uint8Array): DefaultResponse {
  const r = new ByteReader(p);
  return { commandId: r.u8('commandId'), status: r.u8('status') };
}
