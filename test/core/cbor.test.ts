// The firmware CBOR codec against cbor-x configured as the host uses it (host-tools/link/cbor-codec.ts):
// each side must read what the other writes, since the host link carries one CBOR map per frame.
import fc from 'fast-check';
import { cborDecode, cborEncode, CborValue } from '../../firmware/core/cbor';
import type { Message } from '../../firmware/core/host-link';
import { hostCodec } from '../../host-tools/link/cbor-codec';

// '__proto__' is excluded: as an object key it sets the prototype instead of a property, on both sides.
const key = fc.string({ unit: 'binary', maxLength: 8 }).filter((k) => k !== '__proto__');

const leaf: fc.Arbitrary<CborValue> = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(), // includes negatives and values past 2^32 up to 2^53-1
  fc.double().filter((d) => !Object.is(d, -0)), // cbor-x writes -0 as the integer 0
  fc.string({ unit: 'binary', maxLength: 20 }), // non-ASCII and astral code points
  fc.uint8Array({ maxLength: 40 }),
  fc.boolean(),
  fc.constant(null),
);

const { message } = fc.letrec<{ value: CborValue; message: Message }>((tie) => ({
  value: fc.oneof({ maxDepth: 4 }, leaf, fc.array(tie('value'), { maxLength: 4 }), tie('message')),
  message: fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
}));

describe('firmware CBOR codec against cbor-x (host codec)', () => {
  test('cbor-x decodes what the firmware encodes', () => {
    fc.assert(fc.property(message, (m) => expect(hostCodec.decode(cborEncode(m))).toEqual(m)));
  });

  test('the firmware decodes what cbor-x encodes', () => {
    fc.assert(fc.property(message, (m) => expect(cborDecode(hostCodec.encode(m))).toEqual(m)));
  });

  test('both sides write the same bytes (the host writes plain CBOR: no tags, minimal lengths)', () => {
    fc.assert(fc.property(message, (m) => expect(Buffer.from(hostCodec.encode(m)).toString('hex')).toBe(Buffer.from(cborEncode(m)).toString('hex'))));
  });

  test('a unix-millisecond time from the hub reaches the host as a number', () => {
    const m = { ev: 'alert', time: 1732630000123, neg: -5000000000 };
    expect(hostCodec.decode(cborEncode(m))).toEqual(m);
  });

  test('byte strings arrive as bytes on both sides', () => {
    const m = { d: new Uint8Array([0, 1, 0xfe, 0xff]) };
    const atHost = hostCodec.decode(cborEncode(m)) as { d: Uint8Array };
    const atHub = cborDecode(hostCodec.encode(m)) as { d: Uint8Array };
    expect(atHost.d).toBeInstanceOf(Uint8Array);
    expect(Array.from(atHost.d)).toEqual([0, 1, 0xfe, 0xff]);
    expect(atHub.d).toBeInstanceOf(Uint8Array);
    expect(Array.from(atHub.d)).toEqual([0, 1, 0xfe, 0xff]);
  });
});

describe('text strings: ASCII takes a native path, anything else a code point at a time', () => {
  // Both paths, on both sides, at every length around the 32-byte pieces String.fromCharCode.apply takes.
  const ascii = fc.string({ unit: fc.integer({ min: 0, max: 0x7f }).map((c) => String.fromCharCode(c)), maxLength: 100 });
  // Whole code points either side of at least one past ASCII (no lone surrogates: cbor-x would write U+FFFD).
  const notAscii = fc
    .tuple(fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }).filter((t) => /[^\x00-\x7f]/.test(t)), fc.string({ unit: 'binary', maxLength: 40 }))
    .map(([a, t, b]) => a + t + b);

  test.each([
    ['ASCII', ascii],
    ['with characters past ASCII', notAscii],
  ])('%s: cbor-x reads what the firmware writes, the bytes are the same, and the firmware reads it back', (_name, text) => {
    fc.assert(
      fc.property(text, text, (k, v) => {
        const m = { [k === '__proto__' ? 'k' : k]: v, s: v };
        const b = cborEncode(m);
        expect(Buffer.from(b).toString('hex')).toBe(Buffer.from(hostCodec.encode(m)).toString('hex'));
        expect(hostCodec.decode(b)).toEqual(m);
        expect(cborDecode(b)).toEqual(m);
      }),
    );
  });

  test('every byte value from 0x00 to 0x7f, and 0x80 right after 32 ASCII bytes', () => {
    const all = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');
    const late = 'x'.repeat(32) + '\u0080';
    for (const v of [all, late, late + 'y'.repeat(40)]) expect(cborDecode(cborEncode(v))).toBe(v);
  });
});

describe('firmware CBOR decoder on malformed input', () => {
  test('every truncation of a message is TRUNCATED', () => {
    fc.assert(
      fc.property(message, fc.nat(), (m, n) => {
        const b = cborEncode(m);
        const cut = b.subarray(0, n % b.length);
        expect(() => cborDecode(cut)).toThrow(expect.objectContaining({ code: 'TRUNCATED' }));
      }),
    );
  });

  test('bytes after the message are an error', () => {
    fc.assert(
      fc.property(message, fc.uint8Array({ minLength: 1, maxLength: 8 }), (m, extra) => {
        const b = cborEncode(m);
        const withExtra = new Uint8Array(b.length + extra.length);
        withExtra.set(b);
        withExtra.set(extra, b.length);
        expect(() => cborDecode(withExtra)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
      }),
    );
  });

  test('indefinite lengths and tags are refused, not misread', () => {
    expect(() => cborDecode(Uint8Array.from([0x9f, 0x01, 0xff]))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
    expect(() => cborDecode(Uint8Array.from([0xd9, 0x01, 0x03, 0xa0]))).toThrow(expect.objectContaining({ code: 'UNSUPPORTED' }));
  });
});
