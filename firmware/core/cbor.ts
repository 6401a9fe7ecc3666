// A small CBOR (RFC 8949) codec for host-link messages: unsigned/negative integers, byte strings
// (Uint8Array), text strings (UTF-8), arrays, maps with string keys, true/false/null/undefined and
// floats. No tags, no indefinite lengths: the host encodes with cbor-x set to plain CBOR (FACTS §7).
// Byte strings are sliced with subarray, never copied byte by byte.
//
// Shaped for the Espruino interpreter, which runs the source text itself (FACTS §5): a call costs about
// the text it walks, skipped branches included, and every function held costs JsVars for good (4, plus
// one per parameter). So there are few functions, no methods or writer objects (the state is in module
// variables: neither side ever re-enters), rare cases sit last, and ASCII text (every key, almost every
// value) is decoded by String.fromCharCode.apply and checked by a RegExp, both native, instead of by a
// loop per byte.
import { codedError } from './bytes';

export type CborValue = number | string | boolean | null | undefined | Uint8Array | CborValue[] | { [key: string]: CborValue };

/** Bytes per String.fromCharCode.apply: Espruino takes at most 256 arguments, each a JsVar while it runs. */
const APPLY_BYTES = 32;

// ---- encoding, into `out` (grown by doubling; dropped after each message), `len` bytes so far

let out: Uint8Array | undefined;
let len = 0;

/** Writes a head (major type, argument), with room after it for a byte or text string's `n` bytes or a
 *  float64 (major 7). */
function head(major: number, n: number): void {
  let b = out as Uint8Array;
  const need = len + 5 + (major === 2 || major === 3 ? n : major === 7 ? 8 : 0);
  if (need > b.length) {
    const g = new Uint8Array(Math.max(b.length * 2, need));
    g.set(b.subarray(0, len));
    out = b = g;
  }
  const m = major << 5;
  if (n < 24) b[len++] = m | n;
  else if (n < 0x100) {
    b[len++] = m | 24;
    b[len++] = n;
  } else if (n < 0x10000) {
    b[len++] = m | 25;
    b[len++] = n >> 8;
    b[len++] = n & 0xff;
  } else {
    b[len++] = m | 26;
    b[len++] = (n >>> 24) & 0xff;
    b[len++] = (n >> 16) & 0xff;
    b[len++] = (n >> 8) & 0xff;
    b[len++] = n & 0xff;
  }
}

/** One item. Strings (every key) first, numbers next; containers apart, in putObject. */
function put(v: CborValue): void {
  const t = typeof v;
  if (t === 'string') {
    const s = v as string;
    if (/[^\x00-\x7f]/.test(s)) {
      const u = utf8Encode(s);
      head(3, u.length);
      (out as Uint8Array).set(u, len);
      len += u.length;
    } else {
      head(3, s.length);
      const b = out as Uint8Array;
      for (let i = 0; i < s.length; i++) b[len + i] = s.charCodeAt(i);
      len += s.length;
    }
  } else if (t === 'number') {
    const n = v as number;
    // Integers beyond 32 bits go as float64 (exact up to 2^53), as cbor-x writes them: cbor-x reads a
    // 64-bit CBOR integer as a BigInt, so a unix-ms time would reach the host as one.
    if (Math.floor(n) === n && n >= -0x100000000 && n < 0x100000000 && !(n === 0 && 1 / n < 0)) n >= 0 ? head(0, n) : head(1, -1 - n);
    else {
      head(7, 0); // room for the float; its initial byte is 0xfb, not 0xe0
      (out as Uint8Array)[len - 1] = 0xfb;
      new DataView((out as Uint8Array).buffer).setFloat64(len, n);
      len += 8;
    }
  } else if (t === 'object') putObject(v as object);
  else if (t === 'boolean') head(7, v ? 21 : 20);
  else if (t === 'undefined') head(7, 23);
  else throw codedError('UNSUPPORTED', 'cannot CBOR-encode a ' + t);
}

function putObject(v: object): void {
  if (v === null) head(7, 22);
  else if (v instanceof Uint8Array) {
    head(2, v.length);
    (out as Uint8Array).set(v, len);
    len += v.length;
  } else if (Array.isArray(v)) {
    head(4, v.length);
    for (let i = 0; i < v.length; i++) put(v[i]);
  } else {
    const o = v as { [key: string]: CborValue };
    const keys = Object.keys(o);
    let n = 0;
    for (let i = 0; i < keys.length; i++) if (o[keys[i]] !== undefined) n++;
    head(5, n);
    // An undefined member is left out, as JSON would have it.
    for (let i = 0; i < keys.length; i++) {
      if (o[keys[i]] !== undefined) {
        put(keys[i]);
        put(o[keys[i]]);
      }
    }
  }
}

export function cborEncode(v: CborValue): Uint8Array {
  out = new Uint8Array(64);
  len = 0;
  try {
    put(v);
    return out.subarray(0, len);
  } finally {
    out = undefined; // not held between messages (JsVars)
  }
}

function utf8Encode(s: string): Uint8Array {
  const b = new Uint8Array(s.length * 3);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) b[n++] = c;
    else if (c < 0x800) {
      b[n++] = 0xc0 | (c >> 6);
      b[n++] = 0x80 | (c & 63);
    } else if (c < 0x10000) {
      b[n++] = 0xe0 | (c >> 12);
      b[n++] = 0x80 | ((c >> 6) & 63);
      b[n++] = 0x80 | (c & 63);
    } else {
      b[n++] = 0xf0 | (c >> 18);
      b[n++] = 0x80 | ((c >> 12) & 63);
      b[n++] = 0x80 | ((c >> 6) & 63);
      b[n++] = 0x80 | (c & 63);
    }
  }
  return b.subarray(0, n);
}

// ---- decoding, from `src` at `at`

let src: Uint8Array | undefined;
let at = 0;

function truncated(): Error {
  return codedError('TRUNCATED', 'CBOR truncated at offset ' + at);
}

/** One item at nesting `depth`. Text and byte strings first, then containers; majors 6 (tags) and 7 apart. */
function item(depth: number): CborValue {
  const b = src as Uint8Array;
  if (at >= b.length) throw truncated();
  const ib = b[at++];
  const major = ib >> 5;
  let n = ib & 31;
  let v: CborValue;
  if (major > 5) v = simple(ib);
  else {
    if (n > 23) {
      // 1, 2, 4 or 8 bytes of argument follow
      const k = n === 24 ? 1 : n === 25 ? 2 : n === 26 ? 4 : n === 27 ? 8 : 0;
      if (k === 0) throw codedError('UNSUPPORTED', 'CBOR indefinite or reserved length at offset ' + (at - 1));
      if (at + k > b.length) throw truncated();
      n = 0;
      for (let i = 0; i < k; i++) n = n * 256 + b[at++];
    }
    if (major === 3 || major === 2) {
      if (at + n > b.length) throw truncated();
      v = b.subarray(at, at + n);
      at += n;
      if (major === 3) v = utf8Decode(v);
    } else if (major === 5 || major === 4) {
      if (n > 0 && depth >= 16) throw codedError('UNSUPPORTED', 'CBOR nested too deep');
      const c: CborValue = major === 4 ? [] : {};
      for (let i = 0; i < n; i++) {
        if (major === 4) (c as CborValue[]).push(item(depth + 1));
        else {
          const k = item(depth + 1);
          if (typeof k !== 'string' && typeof k !== 'number') throw codedError('UNSUPPORTED', 'CBOR map key must be a string');
          (c as { [key: string]: CborValue })[k] = item(depth + 1);
        }
      }
      v = c;
    } else v = major === 0 ? n : -1 - n;
  }
  return v;
}

/** Major 7 (simple values and floats), or a tag (major 6), which is refused. */
function simple(ib: number): CborValue {
  if (ib >= 0xf4 && ib <= 0xf7) return ib === 0xf4 ? false : ib === 0xf5 ? true : ib === 0xf6 ? null : undefined;
  const b = src as Uint8Array;
  const k = ib === 0xf9 ? 2 : ib === 0xfa ? 4 : ib === 0xfb ? 8 : 0;
  if (k === 0) throw codedError('UNSUPPORTED', 'unsupported CBOR item 0x' + ib.toString(16) + ' at offset ' + (at - 1));
  if (at + k > b.length) throw truncated();
  const dv = new DataView(b.buffer, b.byteOffset + at);
  at += k;
  if (k === 8) return dv.getFloat64(0);
  if (k === 4) return dv.getFloat32(0);
  const h = dv.getUint16(0);
  const exp = (h >> 10) & 31;
  const mant = h & 1023;
  const sign = h & 0x8000 ? -1 : 1;
  return exp === 0 ? sign * mant * Math.pow(2, -24) : exp === 31 ? (mant ? NaN : sign * Infinity) : sign * (1 + mant / 1024) * Math.pow(2, exp - 15);
}

/** UTF-8 bytes as a string: natively when they are all ASCII, else one code point at a time. */
function utf8Decode(b: Uint8Array): string {
  let s = '';
  // The end is clamped: Espruino 2v29's subarray reads past the end of a view otherwise.
  for (let i = 0; i < b.length; i += APPLY_BYTES) s += String.fromCharCode.apply(null, b.subarray(i, Math.min(i + APPLY_BYTES, b.length)) as unknown as number[]);
  if (/[\x80-\xff]/.test(s)) {
    s = '';
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
  }
  return s;
}

/** Decodes exactly one CBOR item; trailing bytes are an error (a frame holds one message). */
export function cborDecode(b: Uint8Array): CborValue {
  src = b;
  at = 0;
  try {
    const v = item(0);
    if (at !== b.length) throw codedError('MALFORMED', 'CBOR has ' + (b.length - at) + ' trailing bytes');
    return v;
  } finally {
    src = undefined; // the caller's bytes are not held (JsVars)
  }
}
