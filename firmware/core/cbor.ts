// A small CBOR (RFC 8949) codec for host-link messages: unsigned/negative integers, byte strings
// (Uint8Array), text strings (UTF-8), arrays, maps with string keys, true/false/null/undefined and
// floats. No tags, no indefinite lengths: the host encodes with cbor-x set to plain CBOR (FACTS §7).
// Byte strings are sliced with subarray, never copied byte by byte.
import { ByteWriter, codedError } from './bytes';

export type CborValue = number | string | boolean | null | undefined | Uint8Array | CborValue[] | { [key: string]: CborValue };

function head(w: ByteWriter, major: number, n: number): void {
  const m = major << 5;
  if (n < 24) w.u8(m | n);
  else if (n < 0x100) w.u8(m | 24).u8(n);
  else if (n < 0x10000) w.u8(m | 25).u8(n >> 8).u8(n & 0xff);
  else w.u8(m | 26).u8((n >>> 24) & 0xff).u8((n >> 16) & 0xff).u8((n >> 8) & 0xff).u8(n & 0xff);
}

function utf8Encode(s: string): Uint8Array {
  const w = new ByteWriter(s.length);
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) w.u8(c);
    else if (c < 0x800) w.u8(0xc0 | (c >> 6)).u8(0x80 | (c & 63));
    else if (c < 0x10000) w.u8(0xe0 | (c >> 12)).u8(0x80 | ((c >> 6) & 63)).u8(0x80 | (c & 63));
    else w.u8(0xf0 | (c >> 18)).u8(0x80 | ((c >> 12) & 63)).u8(0x80 | ((c >> 6) & 63)).u8(0x80 | (c & 63));
  }
  return w.done();
}

function utf8Decode(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; ) {
    const c = b[i++];
    let cp: number;
    if (c < 0x80) cp = c;
    else if (c < 0xe0) cp = ((c & 31) << 6) | (b[i++] & 63);
    else if (c < 0xf0) {
      cp = ((c & 15) << 12) | ((b[i] & 63) << 6) | (b[i + 1] & 63);
      i += 2;
    } else {
      cp = ((c & 7) << 18) | ((b[i] & 63) << 12) | ((b[i + 1] & 63) << 6) | (b[i + 2] & 63);
      i += 3;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      s += String.fromCharCode(0xd800 + (cp >> 10), 0xdc00 + (cp & 1023));
    } else s += String.fromCharCode(cp);
  }
  return s;
}

function encodeInto(w: ByteWriter, v: CborValue): void {
  if (v === undefined) w.u8(0xf7);
  else if (v === null) w.u8(0xf6);
  else if (v === true) w.u8(0xf5);
  else if (v === false) w.u8(0xf4);
  else if (typeof v === 'number') {
    // Integers beyond 32 bits go as float64 (exact up to 2^53), as cbor-x writes them: cbor-x reads a
    // 64-bit CBOR integer as a BigInt, so a unix-ms time would reach the host as one.
    if (Math.floor(v) === v && v >= -0x100000000 && v < 0x100000000 && !(v === 0 && 1 / v < 0)) {
      if (v >= 0) head(w, 0, v);
      else head(w, 1, -1 - v);
    } else {
      const dv = new DataView(new ArrayBuffer(8));
      dv.setFloat64(0, v);
      w.u8(0xfb).bytes(new Uint8Array(dv.buffer));
    }
  } else if (typeof v === 'string') {
    const b = utf8Encode(v);
    head(w, 3, b.length);
    w.bytes(b);
  } else if (v instanceof Uint8Array) {
    head(w, 2, v.length);
    w.bytes(v);
  } else if (Array.isArray(v)) {
    head(w, 4, v.length);
    for (let i = 0; i < v.length; i++) encodeInto(w, v[i]);
  } else if (typeof v === 'object') {
    const keys = Object.keys(v);
    let n = 0;
    for (let i = 0; i < keys.length; i++) if (v[keys[i]] !== undefined) n++;
    head(w, 5, n);
    for (let i = 0; i < keys.length; i++) {
      const val = v[keys[i]];
      if (val === undefined) continue; // absent, as JSON would have it
      encodeInto(w, keys[i]);
      encodeInto(w, val);
    }
  } else throw codedError('UNSUPPORTED', 'cannot CBOR-encode a ' + typeof v);
}

export function cborEncode(v: CborValue): Uint8Array {
  const w = new ByteWriter(64);
  encodeInto(w, v);
  return w.done();
}

function halfToFloat(h: number): number {
  const exp = (h >> 10) & 31;
  const mant = h & 1023;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * mant * Math.pow(2, -24);
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * Math.pow(2, exp - 15);
}

class Decoder {
  pos = 0;
  constructor(private b: Uint8Array) {}
  private need(n: number): number {
    if (this.pos + n > this.b.length) throw codedError('TRUNCATED', 'CBOR truncated at offset ' + this.pos);
    const p = this.pos;
    this.pos += n;
    return p;
  }
  private uint(info: number): number {
    if (info < 24) return info;
    const b = this.b;
    if (info === 24) return b[this.need(1)];
    if (info === 25) {
      const p = this.need(2);
      return (b[p] << 8) | b[p + 1];
    }
    if (info === 26) {
      const p = this.need(4);
      return b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
    }
    if (info === 27) {
      const p = this.need(8);
      let n = 0;
      for (let i = 0; i < 8; i++) n = n * 256 + b[p + i];
      return n;
    }
    throw codedError('UNSUPPORTED', 'CBOR indefinite or reserved length at offset ' + (this.pos - 1));
  }
  value(depth: number): CborValue {
    if (depth > 16) throw codedError('UNSUPPORTED', 'CBOR nested too deep');
    const ib = this.b[this.need(1)];
    const major = ib >> 5;
    const info = ib & 31;
    switch (major) {
      case 0:
        return this.uint(info);
      case 1:
        return -1 - this.uint(info);
      case 2: {
        const n = this.uint(info);
        const p = this.need(n);
        return this.b.subarray(p, p + n);
      }
      case 3: {
        const n = this.uint(info);
        const p = this.need(n);
        return utf8Decode(this.b.subarray(p, p + n));
      }
      case 4: {
        const n = this.uint(info);
        const a: CborValue[] = [];
        for (let i = 0; i < n; i++) a.push(this.value(depth + 1));
        return a;
      }
      case 5: {
        const n = this.uint(info);
        const o: { [key: string]: CborValue } = {};
        for (let i = 0; i < n; i++) {
          const k = this.value(depth + 1);
          if (typeof k !== 'string' && typeof k !== 'number') throw codedError('UNSUPPORTED', 'CBOR map key must be a string');
          o[String(k)] = this.value(depth + 1);
        }
        return o;
      }
      case 7: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22) return null;
        if (info === 23) return undefined;
        const dv = new DataView(this.b.buffer, this.b.byteOffset);
        if (info === 25) return halfToFloat(dv.getUint16(this.need(2)));
        if (info === 26) return dv.getFloat32(this.need(4));
        if (info === 27) return dv.getFloat64(this.need(8));
      }
    }
    throw codedError('UNSUPPORTED', 'unsupported CBOR item 0x' + ib.toString(16) + ' at offset ' + (this.pos - 1));
  }
}

/** Decodes exactly one CBOR item; trailing bytes are an error (a frame holds one message). */
export function cborDecode(b: Uint8Array): CborValue {
  const d = new Decoder(b);
  const v = d.value(0);
  if (d.pos !== b.length) throw codedError('MALFORMED', 'CBOR has ' + (b.length - d.pos) + ' trailing bytes');
  return v;
}
