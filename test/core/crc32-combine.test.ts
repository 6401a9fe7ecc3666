// Piecewise CRC-32 must equal zlib's CRC-32 of the whole: the hub checks uploaded images this way.
import fc from 'fast-check';
import * as zlib from 'zlib';
import { crc32Append, crc32Pieces, crc32Shifter } from '../../firmware/core/crc32-combine';

test('crc(A‖B) from crc(A), crc(B) and len(B) equals zlib.crc32 of A‖B', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
      const whole = zlib.crc32(Buffer.concat([a, b])) >>> 0;
      expect(crc32Append(zlib.crc32(a), crc32Shifter(b.length), zlib.crc32(b))).toBe(whole);
    }),
  );
});

test('a file read in pieces of any size gives the CRC-32 of the whole file', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 5000 }), fc.integer({ min: 1, max: 1100 }), (file, piece) => {
      const reads: number[] = [];
      const crc = crc32Pieces(file.length, piece, (off, len) => {
        reads.push(len);
        return zlib.crc32(file.subarray(off, off + len));
      });
      expect(crc).toBe(zlib.crc32(file) >>> 0);
      expect(Math.max(...reads)).toBeLessThanOrEqual(piece); // never more than a piece in RAM
    }),
    { numRuns: 60 },
  );
});
