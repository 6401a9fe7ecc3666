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

/**
 * Accumulates bytes and yields complete, CRC-checked frame bodies. Once a frame's header is in, the frame
 * gets a buffer of its own, sized from its header, that later input is copied into (natively) as it comes:
 * the slices of a long frame cost no search and no re-copying, and its body is handed out as a view of that
 * buffer, which nothing writes again. (On Espruino a call costs about the source text it walks, and each
 * function held costs JsVars: a slice in the middle of a frame runs push() alone.)
 */
export class FrameReader {
  /** The frame being received, and how many of its bytes are in. */
  private frame: Uint8Array | undefined;
  private have = 0;
  /** Input too short to tell whether or how long a frame starts there: a sync marker with under 4 bytes, or a last byte SYNC0. */
  private tail: Uint8Array | undefined;
  stats: FrameReaderStats = { frames: 0, skipped: 0, bad: 0 };
  constructor(private crc32: Crc32) {}

  /** Whether part of a frame is held, waiting for the rest. */
  midFrame(): boolean {
    return this.frame !== undefined || this.tail !== undefined;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    const f = this.frame;
    let b: Uint8Array | undefined = chunk;
    if (f) {
      // The frame in hand takes what it lacks; input after its end is searched as usual.
      const k = Math.min(f.length - this.have, b.length);
      f.set(k < b.length ? b.subarray(0, k) : b, this.have);
      this.have += k;
      if (this.have === f.length) {
        b = b.subarray(k);
        this.frame = undefined;
        this.have = 0;
        const e = f.length - 4;
        if (this.crc32(f.subarray(2, e)) >>> 0 === (f[e] | (f[e + 1] << 8) | (f[e + 2] << 16)) + f[e + 3] * 0x1000000) {
          out.push(f.subarray(4, e));
          this.stats.frames++;
        } else {
          // Bad: its bytes after the sync marker are searched again, ahead of the rest.
          this.stats.bad++;
          const j = new Uint8Array(f.length - 1 + b.length);
          j.set(f.subarray(1));
          j.set(b, f.length - 1);
          b = j;
        }
      } else b = undefined;
    } else if (this.tail) {
      const j = new Uint8Array(this.tail.length + b.length);
      j.set(this.tail);
      j.set(b, this.tail.length);
      b = j;
      this.tail = undefined;
    }
    if (b && b.length > 0) this.scan(b, out);
    return out;
  }

  /** Searches `b`: whole frames out (their bodies copied: `b` may be the caller's, to be reused), a frame
   *  begun kept to be filled, a short tail kept; garbage and false markers skipped and counted. */
  private scan(b: Uint8Array, out: Uint8Array[]): void {
    const st = this.stats;
    for (let p = 0; p < b.length; ) {
      // The next sync marker; indexOf is native, so garbage is skipped without a JS loop per byte.
      let s = b.indexOf(SYNC0, p);
      while (s >= 0 && s + 1 < b.length && b[s + 1] !== SYNC1) s = b.indexOf(SYNC0, s + 1);
      if (s < 0) {
        st.skipped += b.length - p;
        p = b.length;
      } else {
        st.skipped += s - p;
        const len = s + 4 <= b.length ? b[s + 2] | (b[s + 3] << 8) : -1;
        const e = s + 4 + len;
        if (len < 0) {
          this.tail = new Uint8Array(b.subarray(s));
          p = b.length;
        } else if (len > MAX_BODY) {
          st.bad++;
          p = s + 1;
        } else if (e + 4 > b.length) {
          this.frame = new Uint8Array(len + FRAME_OVERHEAD);
          this.frame.set(b.subarray(s));
          this.have = b.length - s;
          p = b.length;
        } else if (this.crc32(b.subarray(s + 2, e)) >>> 0 === (b[e] | (b[e + 1] << 8) | (b[e + 2] << 16)) + b[e + 3] * 0x1000000) {
          const body = new Uint8Array(len);
          body.set(b.subarray(s + 4, e));
          out.push(body);
          st.frames++;
          p = e + 4;
        } else {
          st.bad++;
          p = s + 1;
        }
      }
    }
  }
}
