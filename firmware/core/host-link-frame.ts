// Host-link framing between `chub` and the hub (DESIGN "Host link"):
//   sync 0xC7 0x4B | length u16 LE | body (one CBOR message) | CRC-32 (zlib) LE over length+body
// The reader resynchronises after garbage or a bad CRC by searching for the next sync marker,
// so a console banner, line noise or a half frame cannot wedge the link.
import { codedError } from './bytes';

export const SYNC0 = 0xc7;
export const SYNC1 = 0x4b;
export const FRAME_OVERHEAD = 8;
/** Largest body either side sends: a 1 KiB data chunk plus its message fields. */
export const MAX_BODY = 1400;

export type Crc32 = (data: Uint8Array) => number;

export function encodeFrame(body: Uint8Array, crc32: Crc32): Uint8Array {
  if (body.length > MAX_BODY) throw codedError('TOO_BIG', 'host-link body of ' + body.length + ' bytes exceeds ' + MAX_BODY);
  const out = new Uint8Array(body.length + FRAME_OVERHEAD);
  out[0] = SYNC0;
  out[1] = SYNC1;
  out[2] = body.length & 0xff;
  out[3] = body.length >> 8;
  out.set(body, 4);
  const c = crc32(out.subarray(2, 4 + body.length));
  const p = 4 + body.length;
  out[p] = c & 0xff;
  out[p + 1] = (c >>> 8) & 0xff;
  out[p + 2] = (c >>> 16) & 0xff;
  out[p + 3] = (c >>> 24) & 0xff;
  return out;
}

export interface FrameReaderStats {
  frames: number;
  /** Bytes skipped while hunting for a sync marker. */
  skipped: number;
  /** Frames dropped for a bad CRC or an impossible length. */
  bad: number;
}

/** Accumulates bytes and yields complete, CRC-checked frame bodies. */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0);
  stats: FrameReaderStats = { frames: 0, skipped: 0, bad: 0 };
  constructor(private crc32: Crc32) {}

  /** Whether part of a frame is held, waiting for the rest. */
  midFrame(): boolean {
    return this.buf.length > 0;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    let b: Uint8Array;
    if (this.buf.length === 0) b = chunk;
    else {
      b = new Uint8Array(this.buf.length + chunk.length);
      b.set(this.buf, 0);
      b.set(chunk, this.buf.length);
    }
    const out: Uint8Array[] = [];
    let p = 0;
    for (;;) {
      const s = findSync(b, p);
      if (s < 0) {
        // Keep a trailing SYNC0: its partner may be in the next chunk.
        const keep = b.length > p && b[b.length - 1] === SYNC0 ? 1 : 0;
        this.stats.skipped += b.length - p - keep;
        p = b.length - keep;
        break;
      }
      this.stats.skipped += s - p;
      p = s;
      if (b.length - p < 4) break;
      const len = b[p + 2] | (b[p + 3] << 8);
      if (len > MAX_BODY) {
        this.stats.bad++;
        p += 1;
        continue;
      }
      if (b.length - p < len + FRAME_OVERHEAD) break;
      const e = p + 4 + len;
      const want = (b[e] | (b[e + 1] << 8) | (b[e + 2] << 16)) + b[e + 3] * 0x1000000;
      if (this.crc32(b.subarray(p + 2, e)) >>> 0 !== want) {
        this.stats.bad++;
        p += 1;
        continue;
      }
      // Copy: the caller may keep the body after the next push reuses this buffer.
      out.push(new Uint8Array(b.subarray(p + 4, e)));
      this.stats.frames++;
      p = e + 4;
    }
    this.buf = p >= b.length ? new Uint8Array(0) : new Uint8Array(b.subarray(p));
    return out;
  }
}

function findSync(b: Uint8Array, from: number): number {
  for (let i = from; i + 1 < b.length; i++) {
    // indexOf is native on typed arrays (Node and Espruino), so garbage is skipped without a JS loop per byte.
    i = b.indexOf(SYNC0, i);
    if (i < 0 || i + 1 >= b.length) return -1;
    if (b[i + 1] === SYNC1) return i;
  }
  return -1;
}
