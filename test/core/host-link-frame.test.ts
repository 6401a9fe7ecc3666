// Host-link framing (firmware/core/host-link-frame.ts) with zlib CRC-32, and HostLink end to end with
// cbor-x on the host side and the firmware CBOR codec on the hub side (docs/host-link.md).
import fc from 'fast-check';
import { crc32 } from 'node:zlib';
import { cborDecode, cborEncode } from '../../firmware/core/cbor';
import { encodeFrame, FrameReader, MAX_BODY } from '../../firmware/core/host-link-frame';
import { BodyCodec, HostLink, Message } from '../../firmware/core/host-link';
import { hostCodec } from '../../host-tools/link/cbor-codec';
import { concat, flipBit } from '../helpers/images';

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

describe('host-link frames', () => {
  test('layout: sync C7 4B, length LE, body, CRC-32 LE over length and body', () => {
    const f = frame(Uint8Array.from([1, 2, 3]));
    expect(Buffer.from(f.subarray(0, 7)).toString('hex')).toBe('c74b0300010203');
    expect(Buffer.from(f).readUInt32LE(7)).toBe(crc32(Uint8Array.from([3, 0, 1, 2, 3])));
  });

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

  test('a body of MAX_BODY bytes is framed; one more is refused', () => {
    const max = new Uint8Array(MAX_BODY).fill(0x42);
    expect(receive(frame(max)).bodies).toEqual([max]);
    expect(() => frame(new Uint8Array(MAX_BODY + 1))).toThrow(expect.objectContaining({ code: 'TOO_BIG' }));
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
});

describe('HostLink: cbor-x on the host, the firmware codec on the hub', () => {
  const firmwareCodec: BodyCodec = { encode: cborEncode, decode: cborDecode };

  /** Both ends with their output captured, as they would be on either side of a serial port. */
  function link() {
    const toHub: Uint8Array[] = [];
    const toHost: Uint8Array[] = [];
    return {
      host: new HostLink((b) => toHub.push(b), crc32, hostCodec),
      hub: new HostLink((b) => toHost.push(b), crc32, firmwareCodec),
      toHub: () => concat(...toHub.splice(0)),
      toHost: () => concat(...toHost.splice(0)),
    };
  }

  const request: fc.Arbitrary<Message> = fc.record(
    {
      i: fc.integer({ min: 0, max: 0xffffffff }),
      op: fc.constantFrom('hello', 'img.begin', 'img.data', 'img.end', 'job.start', 'alert.ack'),
      name: fc.string({ unit: 'binary', maxLength: 24 }),
      off: fc.nat(),
      d: fc.uint8Array({ maxLength: 1024 }),
      time: fc.integer({ min: 0, max: 2 ** 42 }), // unix ms
      ids: fc.array(fc.nat(), { maxLength: 10 }),
    },
    { requiredKeys: ['i', 'op'] },
  );

  const event: fc.Arbitrary<Message> = fc.record({
    ev: fc.constantFrom('job', 'alert', 'log'),
    job: fc.record({
      id: fc.nat(),
      eui: fc.constant('000D6F0000000001'),
      state: fc.constantFrom('queued', 'transferring', 'done', 'failed'),
      off: fc.nat(),
      size: fc.nat(),
      code: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }),
      started: fc.integer({ min: 0, max: 2 ** 42 }),
    }),
    level: fc.constantFrom('info', 'warn'),
    ok: fc.boolean(),
    ratio: fc.double({ noNaN: true, min: 0, max: 1 }),
    none: fc.constant(null),
  });

  test('requests from the host arrive at the hub intact, in order, whatever the chunking', () => {
    fc.assert(
      fc.property(fc.array(request, { maxLength: 5 }), cuts, (msgs, cs) => {
        const l = link();
        msgs.forEach((m) => l.host.send(m));
        const got = inChunks(l.toHub(), cs, (c) => l.hub.onBytes(c));
        expect(got).toEqual(msgs);
      }),
    );
  });

  test('events from the hub arrive at the host intact', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 5 }), cuts, (msgs, cs) => {
        const l = link();
        msgs.forEach((m) => l.hub.send(m));
        const got = inChunks(l.toHost(), cs, (c) => l.host.onBytes(c));
        expect(got).toEqual(msgs); // a field left undefined on the hub is absent at the host, as toEqual allows
      }),
    );
  });

  test('a console banner before the first frame is skipped', () => {
    const l = link();
    l.hub.send({ ev: 'log', level: 'info', msg: 'hub ready' });
    const banner = Buffer.from(' ____                 _\n|  __|___ ___ ___ _ _|_|___ ___\n>');
    expect(l.host.onBytes(concat(banner, l.toHost()))).toEqual([{ ev: 'log', level: 'info', msg: 'hub ready' }]);
    expect(l.host.stats()).toEqual({ frames: 1, skipped: banner.length, bad: 0, undecodable: 0 });
  });

  test('a well-framed body that is not a CBOR map is counted undecodable and the link goes on', () => {
    const l = link();
    const notAMap = frame(cborEncode([1, 2, 3]));
    const notCbor = frame(Uint8Array.from([0xff]));
    l.host.send({ i: 1, op: 'hello' });
    expect(l.hub.onBytes(concat(notAMap, notCbor, l.toHub()))).toEqual([{ i: 1, op: 'hello' }]);
    expect(l.hub.stats()).toMatchObject({ frames: 3, undecodable: 2 });
  });
});
