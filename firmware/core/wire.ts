// The hub's end of the host link (docs/host-link.md): frames, and the small fixed subset of CBOR
// (RFC 8949) the hub speaks. A frame is
//   sync 0xC7 0x4B | length u16 LE | body | CRC-32 (zlib) LE over length+body
// and every body is one flat CBOR array of unsigned integers (< 2^53), byte strings, ASCII text and null.
// The host encodes and decodes with cbor-x (host-tools/link/cbor-codec.ts) and owns all the wording
// (host-tools/link/hub-protocol.ts).
//
// Written for Espruino's memory (FACTS §5): each function costs JsVars for as long as the hub runs, so there
// are few; replies go into one buffer allocated once, with no writer object; byte strings are decoded as
// views and copied with Uint8Array#set, text is read with String.fromCharCode.apply and sync markers are
// found with indexOf, all native, rather than by a JavaScript loop per byte. No closures, no Errors.

/** Largest body either side accepts (the host sends 1 KiB image chunks with their arguments). */
export const MAX_BODY = 1400;
/** Largest body the hub sends. */
export const MAX_REPLY = 512;

/** One item of a body; byte strings decoded by the hub are views of the frame body. */
export type Item = number | string | Uint8Array | null;

const SYNC0 = 0xc7;
const SYNC1 = 0x4b;
/** Sync marker, length and CRC-32 around a body. */
const FRAME_OVERHEAD = 8;
/** Bytes per String.fromCharCode.apply: Espruino takes at most 256 arguments, each a JsVar while it runs. */
const APPLY_BYTES = 32;
/** 2^53 - 1: the largest integer a double holds exactly. */
const MAX_UINT = 0x1fffffffffffff;

// RFC 8949 §3.1: the major type is the top 3 bits of an item's initial byte; its argument is in the low
// 5 bits when below 24, else in the 1, 2, 4 or 8 big-endian bytes that follow (additional information
// 24-27); 28-31 (reserved, indefinite length) the hub neither reads nor writes.
const MAJOR_UINT = 0;
const MAJOR_BYTES = 2;
const MAJOR_TEXT = 3;
const MAJOR_ARRAY = 4;
const MAJOR_SIMPLE = 7;
/** RFC 8949 §3.3: simple value 22, null (the initial byte 0xf6). */
const SIMPLE_NULL = 22;
const CBOR_NULL = 0xf6;
/** RFC 8949 §3.1: an array (major 4) whose count is in the next 2 bytes (additional information 25). A
 *  reply's count is patched in when it is closed; decoders accept the non-minimal length (§4.2.1 makes
 *  minimal lengths a rule of deterministic encoding only). */
const ARRAY_U16 = 0x99;

/**
 * A frame body that is one flat CBOR array of uints (< 2^53), byte strings, text and null; null for
 * anything else (maps, floats, negatives, nesting, tags, indefinite lengths, truncation, trailing bytes).
 * Byte strings are subarray views of `b`; text bytes become one character each (the hub's text is ASCII).
 */
export function decodeBody(b: Uint8Array): Item[] | null {
  const items: Item[] = [];
  let p = 0;
  /** Items still to read; -1 until the array's head is read. */
  let left = -1;
  while (left !== 0) {
    if (p >= b.length) return null;
    const ib = b[p++];
    const major = ib >> 5;
    let n = ib & 31;
    if (n > 23) {
      if (n > 27) return null;
      const k = 1 << (n - 24);
      if (p + k > b.length) return null;
      n = 0;
      for (let e = p + k; p < e; p++) n = n * 256 + b[p];
      if (n > MAX_UINT) return null;
    }
    if (left < 0) {
      if (major !== MAJOR_ARRAY) return null;
      left = n;
      continue;
    }
    if (major === MAJOR_UINT) items.push(n);
    else if (ib === CBOR_NULL) items.push(null);
    else if (major === MAJOR_BYTES || major === MAJOR_TEXT) {
      if (p + n > b.length) return null;
      const v = b.subarray(p, p + n);
      p += n;
      if (major === MAJOR_BYTES) items.push(v);
      else {
        let s = '';
        // The end is clamped: Espruino 2v29's subarray reads past the end of a view otherwise.
        for (let i = 0; i < n; i += APPLY_BYTES) s += String.fromCharCode.apply(null, v.subarray(i, Math.min(i + APPLY_BYTES, n)) as unknown as number[]);
        items.push(s);
      }
    } else return null;
    left--;
  }
  return p === b.length ? items : null;
}

/**
 * Accumulates bytes and yields complete, CRC-checked frame bodies. Once a frame's header is in, the frame
 * gets a buffer of its own, sized from its header, that later input is copied into (natively) as it comes:
 * the slices of a long frame cost no search and no re-copying, and its body is handed out as a view of that
 * buffer, which nothing writes again. (On Espruino a call costs about the source text it walks: a slice in
 * the middle of a frame runs push() alone, not scan().)
 */
export class FrameReader {
  /** The frame being received, and how many of its bytes are in. */
  private frame: Uint8Array | undefined;
  private have = 0;
  /** Input too short to tell whether or how long a frame starts there: a sync marker with under 4 bytes, or a last byte SYNC0. */
  private tail: Uint8Array | undefined;
  /** frames handed out; bytes skipped hunting for a sync marker; frames dropped for a bad CRC or an impossible length. */
  stats = { frames: 0, skipped: 0, bad: 0 };
  constructor(private crc32: (b: Uint8Array) => number) {}

  /** Whether part of a frame is held, waiting for the rest. */
  midFrame(): boolean {
    return this.frame !== undefined || this.tail !== undefined;
  }

  /** The bodies of the frames `chunk` completes. `chunk` may be reused by the caller afterwards. */
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
        if (this.sound(f, 0, e, f.length)) {
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
      } else if (this.inner(f, 0, this.have)) {
        this.stats.bad++;
        b = f.slice(1, this.have);
        this.frame = undefined;
        this.have = 0;
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

  /** Whether the frame at b[s] with its body ending at e is all within b's first n bytes and its CRC holds. */
  private sound(b: Uint8Array, s: number, e: number, n: number): boolean {
    return e + 4 <= n && e - s - 4 <= MAX_BODY && this.crc32(b.subarray(s + 2, e)) >>> 0 === (b[e] | (b[e + 1] << 8) | (b[e + 2] << 16)) + b[e + 3] * 0x1000000;
  }

  /** Whether a sound frame lies wholly inside the first n bytes of b after the marker at s: then that marker
   *  is false (noise), and would hold back the frames behind it until its length had come. */
  private inner(b: Uint8Array, s: number, n: number): boolean {
    for (s = b.indexOf(SYNC0, s + 1); s >= 0 && s + 4 <= n; s = b.indexOf(SYNC0, s + 1)) if (b[s + 1] === SYNC1 && this.sound(b, s, s + 4 + (b[s + 2] | (b[s + 3] << 8)), n)) return true;
    return false;
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
        } else if (e + 4 > b.length && this.inner(b, s, b.length)) {
          st.bad++;
          p = s + 1;
        } else if (e + 4 > b.length) {
          this.frame = new Uint8Array(len + FRAME_OVERHEAD);
          this.frame.set(b.subarray(s));
          this.have = b.length - s;
          p = b.length;
        } else if (this.sound(b, s, e, b.length)) {
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

// ---- the hub's replies and events, written into one buffer allocated once:
//   tx[0..3] sync and length, tx[4..6] the array head 0x99 with its count, items from tx[7], then the CRC.

const BODY_START = 4;
const ITEMS_START = 7;
const BODY_END = BODY_START + MAX_REPLY;
const tx = new Uint8Array(MAX_REPLY + FRAME_OVERHEAD);
/** Where the next item goes; past BODY_END once an item did not fit (and before the first message). */
let txLen = BODY_END + 1;
let txCount = 0;

/** Appends one item: a number as a uint (a negative one, or NaN, as null), null or undefined as null, a
 *  string as text (one byte per character: ASCII), bytes as a byte string. Past MAX_REPLY it writes nothing.
 *  With `first`, the item starts a new message in the shared buffer (the frame wClose last returned is
 *  overwritten). (One function, opening and head and all: each function held costs JsVars, and w runs for
 *  every item.) */
export function w(v: Item | undefined, first?: 1): void {
  if (first) {
    txLen = ITEMS_START;
    txCount = 0;
  }
  txCount++;
  let major = MAJOR_SIMPLE;
  let n = SIMPLE_NULL;
  /** Bytes after the head: a byte or text string's. */
  let len = 0;
  if (typeof v === 'number') {
    if (v >= 0) {
      major = MAJOR_UINT;
      n = v;
    }
  } else if (typeof v === 'string' || v instanceof Uint8Array) {
    major = typeof v === 'string' ? MAJOR_TEXT : MAJOR_BYTES;
    n = len = v.length;
  }
  const ai = n < 24 ? n : n < 0x100 ? 24 : n < 0x10000 ? 25 : n < 0x100000000 ? 26 : 27;
  const k = ai < 24 ? 0 : 1 << (ai - 24);
  if (txLen + 1 + k + len > BODY_END) {
    txLen = BODY_END + 1; // overflowed: nothing more is written, and wClose says so
    return;
  }
  tx[txLen] = (major << 5) | ai;
  // The argument big-endian, by division: exact for every integer below 2^53 (bit operators stop at 32 bits).
  let x = n;
  for (let i = txLen + k; i > txLen; i--) {
    tx[i] = x % 256;
    x = Math.floor(x / 256);
  }
  txLen += 1 + k;
  if (typeof v === 'string') for (let i = 0; i < len; i++) tx[txLen++] = v.charCodeAt(i);
  else if (len > 0) {
    tx.set(v as Uint8Array, txLen);
    txLen += len;
  }
}

/** Completes the frame: sync, length, item count and CRC. Returns it as a view of the shared buffer, valid
 *  until the next message is begun, or null when the body overflowed MAX_REPLY. */
export function wClose(crc32: (b: Uint8Array) => number): Uint8Array | null {
  const end = txLen;
  if (end > BODY_END) return null;
  const len = end - BODY_START;
  tx[0] = SYNC0;
  tx[1] = SYNC1;
  tx[2] = len & 0xff;
  tx[3] = len >> 8;
  tx[4] = ARRAY_U16;
  tx[5] = txCount >> 8;
  tx[6] = txCount & 0xff;
  // E.CRC32 may return it signed: the shifts take the same bytes either way.
  const c = crc32(tx.subarray(2, end));
  tx[end] = c & 0xff;
  tx[end + 1] = (c >> 8) & 0xff;
  tx[end + 2] = (c >> 16) & 0xff;
  tx[end + 3] = (c >> 24) & 0xff;
  return tx.subarray(0, end + 4);
}

/** Host side: frames a body (encoded by cbor-x). Throws when the body is longer than the hub accepts. */
export function encodeFrame(body: Uint8Array, crc32: (b: Uint8Array) => number): Uint8Array {
  if (body.length > MAX_BODY) throw new RangeError('host-link body of ' + body.length + ' bytes exceeds ' + MAX_BODY);
  const f = new Uint8Array(body.length + FRAME_OVERHEAD);
  f[0] = SYNC0;
  f[1] = SYNC1;
  f[2] = body.length & 0xff;
  f[3] = body.length >> 8;
  f.set(body, 4);
  const p = 4 + body.length;
  const c = crc32(f.subarray(2, p));
  f[p] = c & 0xff;
  f[p + 1] = (c >> 8) & 0xff;
  f[p + 2] = (c >> 16) & 0xff;
  f[p + 3] = (c >> 24) & 0xff;
  return f;
}
