// Z-Stack ZNP "Monitor and Test" (MT) frames over UNPI/UART: SOF, LEN, CMD0, CMD1, DATA, FCS.
// Source: TI Z-Stack Monitor and Test API; zigbee-herdsman src/adapter/z-stack/unpi/{constants,frame,parser}.ts;
// summary in FACTS §4.
import { concatBytes } from '../core/bytes';

export const SOF = 0xfe;
/** Largest DATA a frame may carry (herdsman unpi/constants.ts MaxDataSize; Z-Stack's MT buffer). */
export const MAX_DATA = 250;

// CMD0 = type << 5 | subsystem (herdsman unpi/constants.ts Type, Subsystem).
export const TYPE_SREQ = 0x20;
export const TYPE_AREQ = 0x40;
export const TYPE_SRSP = 0x60;
const TYPE_MASK = 0xe0;

/**
 * Commands as 16-bit ids, CMD0 << 8 | CMD1, so they can be switched on.
 * From zigbee-herdsman src/adapter/z-stack/znp/definition.ts (SYS ping/resetInd, AF register/dataRequest/
 * dataConfirm/incomingMsg, ZDO ieeeAddrReq/ieeeAddrRsp/endDeviceAnnceInd).
 */
export const SYS_PING = 0x2101;
export const SYS_RESET_IND = 0x4180;
export const AF_REGISTER = 0x2400;
export const AF_DATA_REQUEST = 0x2401;
export const AF_DATA_CONFIRM = 0x4480;
export const AF_INCOMING_MSG = 0x4481;
export const ZDO_IEEE_ADDR_REQ = 0x2501;
export const ZDO_IEEE_ADDR_RSP = 0x4581;
export const ZDO_END_DEVICE_ANNCE_IND = 0x45c1;
/**
 * What Z-Stack answers to an SREQ it cannot handle: an SRSP in the reserved subsystem 0 (herdsman
 * unpi/constants.ts Subsystem.RESERVED), data [errorCode, reqCmd0, reqCmd1] (MT API "RPC Error").
 */
export const RPC_ERROR = 0x6000;

export interface ZnpFrame {
  cmd0: number;
  cmd1: number;
  data: Uint8Array;
}

/** The 16-bit id of a frame's command (CMD0 << 8 | CMD1). */
export function commandOf(f: ZnpFrame): number {
  return (f.cmd0 << 8) | f.cmd1;
}

/** TYPE_SREQ, TYPE_AREQ or TYPE_SRSP. */
export function frameType(cmd0: number): number {
  return cmd0 & TYPE_MASK;
}

/** The id of the SRSP that answers an SREQ id: same subsystem and CMD1, type SRSP. */
export function srspOf(sreq: number): number {
  return (sreq & 0x1fff) | (TYPE_SRSP << 8);
}

function fcs(b: Uint8Array, from: number, to: number): number {
  let x = 0;
  for (let i = from; i < to; i++) x ^= b[i];
  return x;
}

/** Builds a frame for a command id; throws if the data does not fit one frame. */
export function buildZnpFrame(command: number, data: Uint8Array): Uint8Array {
  if (data.length > MAX_DATA) throw new Error('ZNP frame data too long: ' + data.length + ' > ' + MAX_DATA);
  const out = new Uint8Array(data.length + 5);
  out[0] = SOF;
  out[1] = data.length;
  out[2] = command >> 8;
  out[3] = command & 0xff;
  out.set(data, 4);
  out[out.length - 1] = fcs(out, 1, out.length - 1);
  return out;
}

export interface ZnpReaderStats {
  frames: number;
  /** Bytes skipped while looking for a start of frame. */
  garbageBytes: number;
  /** Frames dropped because their checksum was wrong. */
  badFcs: number;
}

/**
 * Turns UART chunks into frames. Keeps at most one partial frame between calls; after garbage or a bad
 * checksum it drops only the SOF byte and searches again, so a real frame starting inside the bad one is found.
 */
export class ZnpFrameReader {
  stats: ZnpReaderStats = { frames: 0, garbageBytes: 0, badFcs: 0 };
  private pending = new Uint8Array(0);

  push(chunk: Uint8Array): ZnpFrame[] {
    const buf = this.pending.length ? concatBytes(this.pending, chunk) : chunk;
    const out: ZnpFrame[] = [];
    let p = 0;
    while (p < buf.length) {
      const sof = buf.indexOf(SOF, p);
      if (sof < 0) {
        this.stats.garbageBytes += buf.length - p;
        p = buf.length;
        break;
      }
      this.stats.garbageBytes += sof - p;
      p = sof;
      if (p + 1 >= buf.length) break;
      const len = buf[p + 1];
      if (len > MAX_DATA) {
        // No real frame is this long: the 0xFE was noise.
        this.stats.garbageBytes++;
        p++;
        continue;
      }
      const end = p + len + 5;
      if (end > buf.length) break;
      if (fcs(buf, p + 1, end - 1) !== buf[end - 1]) {
        this.stats.badFcs++;
        p++;
        continue;
      }
      out.push({ cmd0: buf[p + 2], cmd1: buf[p + 3], data: new Uint8Array(buf.subarray(p + 4, end - 1)) });
      this.stats.frames++;
      p = end;
    }
    // Copy the partial frame: the caller may reuse its chunk.
    this.pending = new Uint8Array(buf.subarray(p));
    return out;
  }
}
