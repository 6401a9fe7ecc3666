// Little-endian byte reading and writing for ZigBee frames (ZCL and ZNP are little-endian).
// Plain indexed access only: runs unchanged on Espruino (no DataView alignment surprises, no iterators).

/** An Error with a machine-readable code. Not a subclass: ES5-compiled Error subclasses lose their prototype. */
export interface CodedError extends Error {
  code: string;
  /** For OUT_OF_ORDER: the offset the receiver expects. */
  next?: number;
}

export function codedError(code: string, message: string): CodedError {
  const e = new Error(message) as CodedError;
  e.code = code;
  return e;
}

/** Raised when a frame ends before a field it must contain. */
function truncated(field: string, offset: number): CodedError {
  return codedError('TRUNCATED', 'truncated at ' + field + ' (offset ' + offset + ')');
}

export class ByteReader {
  pos: number;
  constructor(public readonly buf: Uint8Array, start?: number) {
    this.pos = start || 0;
  }
  remaining(): number {
    return this.buf.length - this.pos;
  }
  private need(n: number, field: string): number {
    if (this.pos + n > this.buf.length) throw truncated(field, this.pos);
    const p = this.pos;
    this.pos += n;
    return p;
  }
  u8(field: string): number {
    return this.buf[this.need(1, field)];
  }
  u16(field: string): number {
    const p = this.need(2, field);
    return this.buf[p] | (this.buf[p + 1] << 8);
  }
  u32(field: string): number {
    const p = this.need(4, field);
    return (this.buf[p] | (this.buf[p + 1] << 8) | (this.buf[p + 2] << 16)) + this.buf[p + 3] * 0x1000000;
  }
  bytes(n: number, field: string): Uint8Array {
    const p = this.need(n, field);
    return this.buf.subarray(p, p + n);
  }
  /** EUI-64 as 16 upper-case hex digits, most significant byte first (the way it is printed on devices). */
  eui64(field: string): string {
    return euiFromBytes(this.bytes(8, field));
  }
  rest(): Uint8Array {
    const p = this.pos;
    this.pos = this.buf.length;
    return this.buf.subarray(p);
  }
}

export class ByteWriter {
  private buf: Uint8Array;
  len = 0;
  constructor(capacity?: number) {
    this.buf = new Uint8Array(capacity || 64);
  }
  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    const p = this.len;
    this.len += n;
    return p;
  }
  // room() may replace this.buf, so call it before reading this.buf (`this.buf[this.room(1)]` writes to the old buffer).
  u8(v: number): this {
    const p = this.room(1);
    this.buf[p] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    const p = this.room(2);
    this.buf[p] = v & 0xff;
    this.buf[p + 1] = (v >> 8) & 0xff;
    return this;
  }
  u32(v: number): this {
    const p = this.room(4);
    this.buf[p] = v & 0xff;
    this.buf[p + 1] = (v >>> 8) & 0xff;
    this.buf[p + 2] = (v >>> 16) & 0xff;
    this.buf[p + 3] = (v >>> 24) & 0xff;
    return this;
  }
  bytes(b: Uint8Array): this {
    const p = this.room(b.length);
    this.buf.set(b, p);
    return this;
  }
  eui64(eui: string): this {
    return this.bytes(euiToBytes(eui));
  }
  done(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

const HEX = '0123456789ABCDEF';

/** Wire order of an EUI-64 is little-endian; the printed form is big-endian hex. */
export function euiFromBytes(b: Uint8Array): string {
  let s = '';
  for (let i = 7; i >= 0; i--) s += HEX.charAt(b[i] >> 4) + HEX.charAt(b[i] & 15);
  return s;
}

export function euiToBytes(eui: string): Uint8Array {
  const norm = normaliseEui(eui);
  if (norm === null) throw new Error('bad EUI-64: ' + eui);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) out[7 - i] = parseInt(norm.substr(i * 2, 2), 16);
  return out;
}

/** Accepts "00:0D:6F:...", "000d6f...", "0x000D6F..."; returns 16 upper-case hex digits or null. */
export function normaliseEui(eui: string): string | null {
  if (typeof eui !== 'string') return null;
  let s = eui.replace(/[:\-\s]/g, '').toUpperCase();
  if (s.indexOf('0X') === 0) s = s.substr(2);
  // No {16} quantifier: Espruino's RegExp lacks it (it silently never matches).
  return s.length === 16 && /^[0-9A-F]+$/.test(s) ? s : null;
}

export function hex(n: number, digits: number): string {
  let s = n.toString(16).toUpperCase();
  while (s.length < digits) s = '0' + s;
  return '0x' + s;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
