// The hub's end of the host link (firmware/core/wire.ts) against cbor-x as the host uses it
// (host-tools/link/cbor-codec.ts): each side must read what the other writes, framed and CRC-checked.
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { decodeBody, encodeFrame, FrameReader, Item, MAX_BODY, MAX_REPLY, w, wClose } from '../../firmware/core/wire';
import { decodeBody as hostDecode, encodeBody as hostEncode } from '../../host-tools/link/cbor-codec';
import { concat, flipBit } from '../helpers/images';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Items with byte strings as plain arrays: cbor-x hands out Buffers, the hub views. */
const plain = (items: unknown) => (items as unknown[]).map((v) => (v instanceof Uint8Array ? Array.from(v) : v));

/** The hub's frame of `items` (a copy: the shared buffer is overwritten by the next one), or null. */
function hubFrame(items: (Item | undefined)[], crc = crc32): Uint8Array | null {
  items.forEach((v, i) => w(v, i === 0 ? 1 : undefined));
  const f = wClose(crc);
  return f && f.slice();
}

/** What the hub writes for one item: a CBOR head with a minimal argument (RFC 8949 §4.2.1) and its bytes. */
function itemBytes(v: Item): number {
  const n = typeof v === 'number' ? v : v === null ? 0 : v.length;
  const head = v === null || n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
  return head + (typeof v === 'string' || v instanceof Uint8Array ? v.length : 0);
}

const uint = fc.oneof(fc.nat({ max: 30 }), fc.nat({ max: 0x10000 }), fc.nat(), fc.integer({ min: 0, max: 0xffffffff }), fc.maxSafeNat(), fc.constantFrom(23, 24, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1));
const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 70 });
const item: fc.Arbitrary<Item> = fc.oneof(uint, fc.uint8Array({ maxLength: 80 }), ascii, fc.constant(null));
// Every message the hub writes has a first item (a request id, or 0 for an event): w(v, 1) begins it.
const items = fc.array(item, { minLength: 1, maxLength: 12 });

describe('the hub writes (w, wClose)', () => {
  test('cbor-x reads back the items, and the items are the bytes cbor-x writes for them', () => {
    fc.assert(
      fc.property(items, (its) => {
        const f = hubFrame(its)!;
        expect(f).not.toBeNull();
        const body = f.subarray(4, f.length - 4);
        expect(plain(hostDecode(body))).toEqual(plain(its));
        // Past the 3-byte array head, the same bytes as cbor-x's (its head is minimal, ours 0x99 nn nn).
        const host = hostEncode(its);
        const hostHead = its.length < 24 ? 1 : 2;
        expect(hex(body.subarray(3))).toBe(hex(host.subarray(hostHead)));
        expect(Array.from(body.subarray(0, 3))).toEqual([0x99, its.length >> 8, its.length & 0xff]);
      }),
    );
  });

  test('framed: sync C7 4B, length LE, CRC-32 LE over length and body; the hub reads its own frames back', () => {
    fc.assert(
      fc.property(items, (its) => {
        const f = hubFrame(its)!;
        const len = f.length - 8;
        expect(Array.from(f.subarray(0, 4))).toEqual([0xc7, 0x4b, len & 0xff, len >> 8]);
        expect(Buffer.from(f).readUInt32LE(4 + len)).toBe(crc32(f.subarray(2, 4 + len)));
        expect(hex(f)).toBe(hex(encodeFrame(f.subarray(4, 4 + len), crc32)));
        const bodies = new FrameReader(crc32).push(f);
        expect(bodies).toHaveLength(1);
        expect(plain(decodeBody(bodies[0]))).toEqual(plain(its));
      }),
    );
  });

  test('numbers to 2^53 are exact: 0x1a up to 2^32 - 1, 0x1b with the high and low words past it', () => {
    expect(hex(hubFrame([0xffffffff])!.subarray(7, 12))).toBe('1affffffff');
    expect(hex(hubFrame([2 ** 32])!.subarray(7, 16))).toBe('1b0000000100000000');
    const ms = 1732630000123; // a unix ms time
    expect(hex(hubFrame([ms])!.subarray(7, 16))).toBe('1b' + ms.toString(16).padStart(16, '0'));
    expect(hostDecode(hubFrame([ms, 2 ** 53 - 1])!.subarray(4, -4))).toEqual([ms, 2 ** 53 - 1]);
  });

  test('undefined, negative numbers and NaN go as null; the frame stays valid CBOR', () => {
    expect(hostDecode(hubFrame([undefined, -1, NaN, 7])!.subarray(4, -4))).toEqual([null, null, null, 7]);
  });

  test('a signed CRC (as E.CRC32 may return it) frames the same bytes', () => {
    fc.assert(fc.property(items, (its) => expect(hex(hubFrame(its, (b) => crc32(b) | 0)!)).toBe(hex(hubFrame(its)!))));
  });

  test('a body of exactly MAX_REPLY bytes is framed; one byte more gives null, whatever item overflows', () => {
    // [0x99 nn nn] + a byte string head (3 bytes for 256+) + its bytes = MAX_REPLY
    const fill = MAX_REPLY - 3 - 3;
    const f = hubFrame([new Uint8Array(fill).fill(0xab)])!;
    expect(f.length).toBe(MAX_REPLY + 8);
    expect(hubFrame([new Uint8Array(fill + 1)])).toBeNull();
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 40 }), (its) => {
        const size = 3 + its.reduce((n: number, v) => n + itemBytes(v), 0);
        const f = hubFrame(its);
        if (size <= MAX_REPLY) expect(f && f.length).toBe(size + 8);
        else expect(f).toBeNull();
      }),
    );
  });

  test('writes past the end neither throw nor leak into the next frame', () => {
    w(1, 1);
    for (let k = 0; k < 20; k++) w(new Uint8Array(100).fill(0xee));
    w('x'.repeat(600));
    w(2 ** 40);
    expect(wClose(crc32)).toBeNull();
    expect(wClose(crc32)).toBeNull(); // still overflowed until the next message begins
    const f = hubFrame([3, 'ok'])!;
    expect(hostDecode(f.subarray(4, -4))).toEqual([3, 'ok']);
    expect(new FrameReader(crc32).push(f)).toHaveLength(1);
  });
});

describe('the hub reads (decodeBody)', () => {
  test('what cbor-x writes for a flat array of uints, bytes, ASCII text and null comes back item for item', () => {
    fc.assert(
      fc.property(fc.array(item, { maxLength: 40 }), (its) => {
        const got = decodeBody(hostEncode(its));
        expect(got).not.toBeNull();
        expect(plain(got)).toEqual(plain(its));
      }),
    );
  });

  test('byte strings are views of the body, not copies', () => {
    const body = hostEncode([1, Uint8Array.from([9, 8, 7])]);
    const d = decodeBody(body)![1] as Uint8Array;
    expect(d.buffer).toBe(body.buffer);
    body[body.length - 1] = 0x55;
    expect(Array.from(d)).toEqual([9, 8, 0x55]);
  });

  test('a non-minimal array head (the hub\'s own 0x99 nn nn) is read', () => {
    expect(decodeBody(Uint8Array.from([0x99, 0x00, 0x02, 0x01, 0xf6]))).toEqual([1, null]);
    expect(decodeBody(Uint8Array.from([0x9b, 0, 0, 0, 0, 0, 0, 0, 0]))).toEqual([]);
  });

  // Everything the hub does not speak: it must answer null, never throw or misread.
  const outside = fc.oneof(
    fc.integer({ min: -(2 ** 40), max: -1 }), // major 1
    fc.double({ noInteger: true, noNaN: true }), // floats
    fc.constantFrom(true, false, undefined, 2 ** 53, 2 ** 60),
    fc.array(fc.nat(), { maxLength: 3 }), // nesting
    fc.dictionary(fc.string({ maxLength: 3 }), fc.nat(), { maxKeys: 2, noNullPrototype: true }), // maps
  );

  test('an array holding a negative, a float, a boolean, undefined, 2^53 or more, a nested array or a map is null', () => {
    fc.assert(
      fc.property(items, outside, fc.nat(), (its, bad, at) => {
        const a: unknown[] = [...its];
        a.splice(at % (its.length + 1), 0, bad);
        const body = new Uint8Array(hostEncodeRaw(a));
        expect(decodeBody(body)).toBeNull();
      }),
    );
  });

  test('a body that is not one array is null: a bare item, a map, a tag, an indefinite length, trailing bytes', () => {
    expect(decodeBody(hostEncode([]).subarray(0, 0))).toBeNull();
    expect(decodeBody(Uint8Array.from([0x01]))).toBeNull();
    expect(decodeBody(Uint8Array.from([0xa1, 0x61, 0x69, 0x01]))).toBeNull();
    expect(decodeBody(Uint8Array.from([0xd9, 0x01, 0x03, 0x80]))).toBeNull(); // tag 259
    expect(decodeBody(Uint8Array.from([0x82, 0xc1, 0x01, 0x02]))).toBeNull(); // a tagged item
    expect(decodeBody(Uint8Array.from([0x9f, 0x01, 0xff]))).toBeNull();
    expect(decodeBody(Uint8Array.from([0x82, 0x5f, 0x41, 0x00, 0xff, 0x01]))).toBeNull();
    expect(decodeBody(Uint8Array.from([0x81, 0x01, 0x02]))).toBeNull();
  });

  test('every truncation of a valid body is null', () => {
    fc.assert(
      fc.property(fc.array(item, { minLength: 1, maxLength: 8 }), fc.nat(), (its, n) => {
        const b = hostEncode(its);
        expect(decodeBody(b.subarray(0, n % b.length))).toBeNull();
      }),
    );
  });

  test('random bytes never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const got = decodeBody(b);
        expect(got === null || Array.isArray(got)).toBe(true);
      }),
    );
  });
});

/** As the host encodes, and integers of 2^53 and more as 64-bit uints too (the host sends none). */
function hostEncodeRaw(a: unknown[]): Uint8Array {
  return hostEncode(a.map((v) => (typeof v === 'number' && Number.isInteger(v) && v >= 2 ** 53 && v < 2 ** 64 ? BigInt(v) : v)));
}

// ---- frames (ported from the old host-link-frame tests)

const frame = (body: Uint8Array) => encodeFrame(body, crc32);

/** Splits `stream` at the given points (taken modulo its length) and feeds the pieces to `push`. */
function inChunks<T>(stream: Uint8Array, cuts: number[], push: (chunk: Uint8Array) => T[]): T[] {
  const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
  const out: T[] = [];
  let from = 0;
  for (const p of [...points, stream.length]) {
    out.push(...push(stream.slice(from, p)));
    from = p;
  }
  return out;
}

function receive(stream: Uint8Array, cuts: number[] = []) {
  const reader = new FrameReader(crc32);
  const bodies = inChunks(stream, cuts, (c) => reader.push(c));
  return { bodies, stats: reader.stats };
}

const body = fc.uint8Array({ maxLength: 300 });
const bodies = fc.array(body, { maxLength: 6 });
const cuts = fc.array(fc.nat(), { maxLength: 12 });
const hasSync = (b: Uint8Array) => Buffer.from(b).includes(Buffer.from([0xc7, 0x4b]));
/** Line noise or a console banner: anything but the sync marker itself. */
const garbage = fc.uint8Array({ maxLength: 40 }).filter((g) => !hasSync(g));

describe('FrameReader', () => {
  test('bodies round-trip whatever the chunking', () => {
    fc.assert(
      fc.property(bodies, cuts, (bs, cs) => {
        const { bodies: got, stats } = receive(concat(...bs.map(frame)), cs);
        expect(got).toEqual(bs);
        expect(stats).toEqual({ frames: bs.length, skipped: 0, bad: 0 });
      }),
    );
  });

  test('garbage before and between frames is skipped and counted', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(garbage, body), { maxLength: 6 }), cuts, (pairs, cs) => {
        const stream = concat(...pairs.flatMap(([g, b]) => [g, frame(b)]));
        const { bodies: got, stats } = receive(stream, cs);
        expect(got).toEqual(pairs.map(([, b]) => b));
        expect(stats).toEqual({ frames: pairs.length, skipped: pairs.reduce((n, [g]) => n + g.length, 0), bad: 0 });
      }),
    );
  });

  test('a frame with any one bit flipped is dropped; the frames after it still arrive', () => {
    // A flipped length bit can make the reader wait for a longer frame; the filler lets it find out.
    const filler = new Uint8Array(MAX_BODY + 8);
    fc.assert(
      fc.property(body, body, body, body, fc.nat(), cuts, (b1, b2, b3, b4, bit, cs) => {
        const f2 = frame(b2);
        const stream = concat(frame(b1), flipBit(f2, bit % (f2.length * 8)), frame(b3), filler, frame(b4));
        const { bodies: got, stats } = receive(stream, cs);
        expect(got).toEqual([b1, b3, b4]);
        expect(stats.frames).toBe(3);
      }),
    );
  });

  test('a bad CRC counts as bad; garbage counts as skipped', () => {
    const good = frame(Uint8Array.from([1, 2, 3]));
    const badCrc = flipBit(frame(Uint8Array.from([4, 5, 6])), 8 * 9);
    const { bodies: got, stats } = receive(concat(new Uint8Array(10), badCrc, good));
    expect(got).toEqual([Uint8Array.from([1, 2, 3])]);
    // The bad frame's bytes after its sync marker are skipped while hunting for the next one.
    expect(stats).toEqual({ frames: 1, bad: 1, skipped: 10 + badCrc.length - 1 });
  });

  test.each([
    ['longer than MAX_BODY', [0xc7, 0x4b, 0xff, 0xff]],
    ['plausible but false', [0xc7, 0x4b, 0x10, 0x00, 1, 2, 3]],
  ])('a sync marker with a bogus length (%s) does not hide the next frame', (_name, bogus) => {
    const good = frame(Uint8Array.from([9, 8, 7]));
    const { bodies: got, stats } = receive(concat(Uint8Array.from(bogus), good, new Uint8Array(24)));
    expect(got).toEqual([Uint8Array.from([9, 8, 7])]);
    expect(stats.bad).toBe(1);
  });

  test('a false sync marker that claims a long frame does not hold back the sound frames behind it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: MAX_BODY }), garbage, bodies, cuts, (len, g, bs, cs) => {
        // Nothing after the frames: each is out as soon as it is all in, not once `len` bytes have come.
        const { bodies: got, stats } = receive(concat(Uint8Array.from([0xc7, 0x4b, len & 0xff, len >> 8]), g, ...bs.map(frame)), cs);
        expect(got).toEqual(bs);
        expect(stats.bad).toBe(bs.length ? 1 : 0);
      }),
    );
  });

  test('a body of MAX_BODY bytes is framed; one more is refused', () => {
    const max = new Uint8Array(MAX_BODY).fill(0x42);
    expect(receive(frame(max)).bodies).toEqual([max]);
    expect(() => frame(new Uint8Array(MAX_BODY + 1))).toThrow(/exceeds 1400/);
  });

  test('bodies handed out do not change when the caller reuses its chunk buffers', () => {
    fc.assert(
      fc.property(bodies, cuts, (bs, cs) => {
        const reader = new FrameReader(crc32);
        const got = inChunks(concat(...bs.map(frame)), cs, (c) => {
          const out = reader.push(c);
          c.fill(0xc7); // the next read lands in the same buffer
          return out;
        });
        expect(got).toEqual(bs);
        expect(reader.midFrame()).toBe(false);
      }),
    );
  });

  test('a frame split anywhere, even inside its header, is held until whole', () => {
    const f = frame(Uint8Array.from({ length: 200 }, (_, i) => i));
    for (let cut = 1; cut < f.length; cut++) {
      const reader = new FrameReader(crc32);
      expect(reader.push(f.slice(0, cut))).toEqual([]);
      expect(reader.midFrame()).toBe(true);
      expect(reader.push(f.slice(cut))).toEqual([f.subarray(4, f.length - 4)]);
      expect(reader.midFrame()).toBe(false);
    }
  });

  test('a body handed out is not changed by later input', () => {
    const reader = new FrameReader(crc32);
    const f = frame(Uint8Array.from([1, 2, 3]));
    const [first] = reader.push(concat(f, f.subarray(0, 5)));
    reader.push(f.subarray(5));
    expect(first).toEqual(Uint8Array.from([1, 2, 3]));
  });

  test('a console banner before the hub\'s first frame is skipped, and a signed CRC function reads the same', () => {
    const f = hubFrame([0, 3, 1, 'hub ready'])!;
    const banner = Buffer.from(' ____                 _\n|  __|___ ___ ___ _ _|_|___ ___\n>');
    const reader = new FrameReader((b) => crc32(b) | 0);
    const got = reader.push(concat(banner, f));
    expect(got.map((b) => hostDecode(b))).toEqual([[0, 3, 1, 'hub ready']]);
    expect(reader.stats).toEqual({ frames: 1, skipped: banner.length, bad: 0 });
  });
});
