// CRC-32 (zlib) of a whole file from the CRCs of its pieces, as zlib's crc32_combine does it (zlib
// crc32.c): appending n bytes multiplies the CRC by x^(8n) in GF(2), a fixed 32×32 bit matrix. The
// native E.CRC32 has no running value, so a large image is checked a piece at a time — no copy of it in
// RAM — with one matrix built per piece length and a ≤32-step product per piece.

/** Operator matrix (32 columns, one Uint32 each) that appends `len` zero bytes to a CRC. */
export function crc32Shifter(len: number): Uint32Array {
  // One zero bit: the reflected polynomial in column 0, then a shift.
  let power: Uint32Array = new Uint32Array(32);
  power[0] = 0xedb88320;
  for (let n = 1; n < 32; n++) power[n] = 1 << (n - 1);
  // Square it up to one zero byte (8 bits).
  for (let i = 0; i < 3; i++) power = product(power, power);
  let result: Uint32Array | null = null;
  for (let n = len; n > 0; n = Math.floor(n / 2)) {
    if (n & 1) result = result ? product(power, result) : power;
    if (n > 1) power = product(power, power);
  }
  return result || identity();
}

/** CRC-32 of A‖B, from crc(A), crc(B) and the shifter for B's length. */
export function crc32Append(crcA: number, shifter: Uint32Array, crcB: number): number {
  return (times(shifter, crcA >>> 0) ^ crcB) >>> 0;
}

/** CRC-32 of `length` bytes read `piece` bytes at a time through `crcOf(offset, length)`. */
export function crc32Pieces(length: number, piece: number, crcOf: (offset: number, length: number) => number): number {
  if (length <= piece) return crcOf(0, length) >>> 0;
  const full = crc32Shifter(piece);
  let crc = crcOf(0, piece) >>> 0;
  let off = piece;
  for (; off + piece <= length; off += piece) crc = crc32Append(crc, full, crcOf(off, piece));
  if (off < length) crc = crc32Append(crc, crc32Shifter(length - off), crcOf(off, length - off));
  return crc;
}

function times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i];
  return sum >>> 0;
}

/** a·b: apply b, then a. */
function product(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(32);
  for (let n = 0; n < 32; n++) out[n] = times(a, b[n]);
  return out;
}

function identity(): Uint32Array {
  const m = new Uint32Array(32);
  for (let n = 0; n < 32; n++) m[n] = (1 << n) >>> 0;
  return m;
}
