// The OTA file header parser (firmware/core/image-header.ts) on generated files, broken files (each a
// specific error), untidy-but-servable files (ok, with warnings), files past its caps, and any bytes at all;
// and the hub's header check it is built on (checkHeader, firmware/core/ota-fixed-header.ts), which must
// decide every file as the parser does, and which img.end runs on an upload.
// The Image Integrity Code that generated files end with is test/core/image-integrity.test.ts's.
import fc from 'fast-check';
import * as zlib from 'zlib';
import { Err } from '../../firmware/core/codes';
import { I } from '../../firmware/core/hub';
import {
  bytesSource,
  findMagic,
  findSubElement,
  ByteSource,
  HEADER_CODES,
  HeaderResult,
  MAX_SUB_ELEMENTS,
  MAX_WARNINGS,
  OtaHeader,
  parseImageHeader,
  TAG_INTEGRITY_CODE,
  TAG_UPGRADE_IMAGE,
} from '../../firmware/core/image-header';
import { checkHeader, Hc, Hf, Ota } from '../../firmware/core/ota-fixed-header';
import { FrameReader } from '../../firmware/core/wire';
import { buildImage, ImageOptions } from '../../host-tools/image/image-builder';
import { decodeBody } from '../../host-tools/link/cbor-codec';
import { CHUB_MARK } from '../../host-tools/image/image-integrity';
import { imageReport, reportLines } from '../../host-tools/image/image-report';
import {
  appendInside,
  concat,
  corruptMagic,
  makeImage,
  subElement,
  truncate,
  withBytesAt,
  withHeaderField,
  withHeaderStringBytes,
  withPrefix,
  withTrailing,
} from '../helpers/images';
import { Bench } from '../helpers/core-bench';

const MAGIC_LE = [0x1e, 0xf1, 0xee, 0x0b];

function parse(file: Uint8Array): HeaderResult {
  return parseImageHeader(bytesSource(file));
}

function header(file: Uint8Array): OtaHeader {
  const r = parse(file);
  if (!r.ok) throw new Error(`expected a parsable file, got ${r.code}: ${r.message}`);
  return r.header;
}

function errorCode(file: Uint8Array): string {
  const r = parse(file);
  return r.ok ? 'ok' : r.code;
}

/** checkHeader as img.end runs it: the file's first Ota.Max bytes, its length, a row of -2 written from 1. */
function check(file: Uint8Array): { code: number; row: number[] } {
  const row = new Float64Array(Hf.MaxHw + 3).fill(-2);
  const code = checkHeader(file.subarray(0, Ota.Max), file.length, row, 1);
  return { code, row: Array.from(row) };
}

/**
 * Asserts that checkHeader and parseImageHeader decide `file` alike, and returns checkHeader's code for it.
 * The parser runs the check from the first magic it finds: at offset 0, the hub's verdict; later (a vendor
 * prefix), the hub says NoMagic and the check from there is the parser's. It refuses what the check refuses,
 * with the matching code; what the check passes it parses to the same fields, or refuses only for its caps
 * on listing sub-elements and warnings (the hub lists neither).
 */
function agree(file: Uint8Array): number {
  const r = parse(file);
  const atZero = check(file);
  const start = findMagic(bytesSource(file));
  if (start !== 0) expect(atZero).toEqual({ code: Hc.NoMagic, row: [-2, -2, -2, -2, -2, -2, -2] });
  if (start < 0) {
    expect(r).toMatchObject({ ok: false, code: 'NO_MAGIC' });
    return atZero.code;
  }
  const c = check(file.subarray(start));
  if (start === 0) expect(c).toEqual(atZero);
  expect(c.code).not.toBe(Hc.NoMagic);
  if (c.code !== Hc.Ok) {
    expect(r.ok ? 'ok' : r.code).toBe(HEADER_CODES[c.code]);
    expect(c.row).toEqual([-2, -2, -2, -2, -2, -2, -2]);
  } else if (!r.ok) expect(['TOO_MANY_SUB_ELEMENTS', 'TOO_MANY_WARNINGS']).toContain(r.code);
  else {
    const h = r.header;
    expect(h.start).toBe(start);
    expect(c.row).toEqual([-2, h.manufacturerCode, h.imageType, h.fileVersion, h.minHardwareVersion ?? -1, h.maxHardwareVersion ?? -1, -2]);
  }
  return atZero.code;
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex').toUpperCase());
// All optional fields and the integrity code take 97 bytes: 56 + 1 + 8 + 4 header, 6 payload tag, 6 + 16 code.
const MAX_OVERHEAD = 97;

const imageOptions: fc.Arbitrary<ImageOptions> = fc
  .record({
    manufacturerCode: u16,
    imageType: u16,
    fileVersion: fc.integer({ min: 0, max: 0xffffffff }),
    zigbeeStackVersion: u16,
    headerString: fc.string({ unit: 'grapheme-ascii', maxLength: 25 }).filter((t) => !t.endsWith(CHUB_MARK)),
    hw: fc.option(fc.tuple(u16, u16), { nil: undefined }),
    securityCredentialVersion: fc.option(fc.integer({ min: 0, max: 0xff }), { nil: undefined }),
    upgradeFileDestination: fc.option(eui, { nil: undefined }),
    size: fc.integer({ min: MAX_OVERHEAD, max: 3000 }),
    seed: fc.nat(),
    integrityCode: fc.boolean(),
  })
  .map(({ hw, ...o }) => (hw ? { ...o, minHardwareVersion: Math.min(...hw), maxHardwareVersion: Math.max(...hw) } : o));

describe('generated OTA files', () => {
  test('parse(build(options)) gives the options back, with sub-elements that tile the file exactly', () => {
    fc.assert(
      fc.property(imageOptions, (o) => {
        const file = buildImage(o);
        const h = header(file);
        expect(file.length).toBe(o.size);
        const { subElements, warnings, headerLength, ...fields } = h;
        expect(warnings).toEqual([]);
        expect(fields).toEqual({
          start: 0,
          headerVersion: 0x0100,
          fieldControl: (o.securityCredentialVersion !== undefined ? 1 : 0) | (o.upgradeFileDestination ? 2 : 0) | (o.minHardwareVersion !== undefined ? 4 : 0),
          manufacturerCode: o.manufacturerCode,
          imageType: o.imageType,
          fileVersion: o.fileVersion,
          zigbeeStackVersion: o.zigbeeStackVersion,
          headerString: o.integrityCode ? (o.headerString ? `${o.headerString} ${CHUB_MARK}` : CHUB_MARK) : o.headerString,
          totalImageSize: o.size,
          securityCredentialVersion: o.securityCredentialVersion,
          upgradeFileDestination: o.upgradeFileDestination,
          minHardwareVersion: o.minHardwareVersion,
          maxHardwareVersion: o.maxHardwareVersion,
        });
        expect(subElements.map((s) => s.tag)).toEqual(o.integrityCode ? [TAG_UPGRADE_IMAGE, TAG_INTEGRITY_CODE] : [TAG_UPGRADE_IMAGE]);
        const end = subElements.reduce((off, s) => (expect(s.offset).toBe(off + 6), s.offset + s.length), headerLength);
        expect(end).toBe(o.size);
      }),
    );
  });

  test.each<[string, Partial<ImageOptions>, number, number]>([
    ['no optional fields', {}, 0x0000, 56],
    ['security credential version', { securityCredentialVersion: 3 }, 0x0001, 57],
    ['upgrade file destination', { upgradeFileDestination: '000D6F0000000001' }, 0x0002, 64],
    ['hardware versions', { minHardwareVersion: 1, maxHardwareVersion: 0x10 }, 0x0004, 60],
    ['all three', { securityCredentialVersion: 0, upgradeFileDestination: '000D6F0000000001', minHardwareVersion: 2, maxHardwareVersion: 2 }, 0x0007, 69],
  ])('%s: field control and header length', (_name, opts, fieldControl, headerLength) => {
    const h = header(makeImage(opts));
    expect(h.fieldControl).toBe(fieldControl);
    expect(h.headerLength).toBe(headerLength);
    expect(h.headerVersion).toBe(0x0100);
  });

  test('defaults: ZigBee PRO stack, header string "test image [chub]", an Image Integrity Code', () => {
    const h = header(makeImage());
    expect(h.zigbeeStackVersion).toBe(2);
    expect(h.headerString).toBe('test image [chub]');
    expect(h.subElements.map((s) => s.tag)).toEqual([TAG_UPGRADE_IMAGE, TAG_INTEGRITY_CODE]);
  });

  test('the payload is deterministic for a seed and differs between seeds', () => {
    expect(makeImage({ seed: 7 })).toEqual(makeImage({ seed: 7 }));
    const payload = (file: Uint8Array) => {
      const s = findSubElement(header(file), TAG_UPGRADE_IMAGE)!;
      return file.subarray(s.offset, s.offset + s.length);
    };
    expect(payload(makeImage({ seed: 7 }))).not.toEqual(payload(makeImage({ seed: 8 })));
  });

  test('the smallest possible file has an empty payload; one byte less is refused', () => {
    const all = { securityCredentialVersion: 1, upgradeFileDestination: '000D6F0000000001', minHardwareVersion: 1, maxHardwareVersion: 2 };
    expect(findSubElement(header(makeImage({ ...all, size: MAX_OVERHEAD })), TAG_UPGRADE_IMAGE)!.length).toBe(0);
    expect(() => makeImage({ ...all, size: MAX_OVERHEAD - 1 })).toThrow(/too small.*97 bytes/);
  });

  test.each<[string, Partial<ImageOptions>, RegExp]>([
    ['only a minimum hardware version', { minHardwareVersion: 1 }, /both/],
    ['minimum above maximum hardware version', { minHardwareVersion: 3, maxHardwareVersion: 2 }, /above the maximum/],
    ['a manufacturer code over 16 bits', { manufacturerCode: 0x10000 }, /manufacturer code/],
    ['a negative file version', { fileVersion: -1 }, /file version/],
    ['a destination that is not an EUI-64', { upgradeFileDestination: '1234' }, /EUI-64/],
    ['a header string over 32 bytes', { headerString: 'x'.repeat(33), integrityCode: false }, /33 bytes; the field holds 32$/],
  ])('refuses %s', (_name, opts, message) => {
    expect(() => makeImage(opts)).toThrow(expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringMatching(message) }));
  });
});

describe('broken OTA files: each a specific error', () => {
  const file = makeImage({ upgradeFileDestination: '000D6F0000000001', minHardwareVersion: 1, maxHardwareVersion: 2 });

  test('truncated in the fixed header', () => expect(errorCode(truncate(file, 30))).toBe('TRUNCATED'));
  test('truncated in the optional fields', () => expect(errorCode(truncate(file, 60))).toBe('TRUNCATED'));
  test('truncated in the payload', () => expect(errorCode(truncate(file, 500))).toBe('TRUNCATED'));

  test('every truncation after the magic is TRUNCATED', () => {
    fc.assert(fc.property(fc.integer({ min: 4, max: file.length - 1 }), (n) => expect(errorCode(truncate(file, n))).toBe('TRUNCATED')));
  });

  test('wrong magic', () => expect(errorCode(corruptMagic(file))).toBe('NO_MAGIC'));
  test('an empty file', () => expect(errorCode(new Uint8Array(0))).toBe('NO_MAGIC'));
  test('total image size smaller than the header', () => expect(errorCode(withHeaderField(file, 'totalImageSize', 40))).toBe('SIZE_MISMATCH'));
  test('unknown header version', () => expect(errorCode(withHeaderField(file, 'headerVersion', 0x0200))).toBe('UNKNOWN_HEADER_VERSION'));
  test('a header length shorter than its fields', () => expect(errorCode(withHeaderField(file, 'headerLength', 56))).toBe('BAD_HEADER_LENGTH'));

  test('a minor header version change is still read', () => {
    expect(header(withHeaderField(file, 'headerVersion', 0x0101)).headerVersion).toBe(0x0101);
  });
});

describe('untidy but servable OTA files: ok, with warnings', () => {
  const file = makeImage();

  test('trailing bytes after totalImageSize', () => {
    const h = header(withTrailing(file, 17));
    expect(h.totalImageSize).toBe(file.length);
    expect(h.warnings).toEqual([expect.stringMatching(/17 trailing bytes/)]);
  });

  test('a prefix before the magic: the header and sub-elements are read from the magic on', () => {
    const h = header(withPrefix(file, 33));
    expect(h.start).toBe(33);
    expect(h.subElements).toEqual(header(file).subElements);
    expect(h.warnings).toEqual([expect.stringMatching(/33 byte prefix/)]);
  });

  test('with a prefix, a magic repeated inside the payload does not move the start: the first one wins', () => {
    const payload = findSubElement(header(file), TAG_UPGRADE_IMAGE)!;
    const h = header(withPrefix(withBytesAt(file, payload.offset + 100, MAGIC_LE), 9));
    expect(h.start).toBe(9);
    expect(h.manufacturerCode).toBe(0x1234);
  });

  test('stray bytes after the last sub-element', () => {
    const h = header(appendInside(file, new Uint8Array(3)));
    expect(h.subElements).toHaveLength(2);
    expect(h.warnings).toEqual([expect.stringMatching(/3 stray bytes at offset 1024/)]);
  });

  test('a sub-element whose length overruns the file', () => {
    const h = header(appendInside(file, subElement(0xf100, new Uint8Array(10), 1000)));
    expect(h.subElements.map((s) => s.tag)).toEqual([TAG_UPGRADE_IMAGE, TAG_INTEGRITY_CODE]);
    expect(h.warnings).toEqual([expect.stringMatching(/0xF100.*claims 1000 bytes but 10 remain/)]);
  });

  test('a repeated tag: both are listed, the first is the one found', () => {
    const h = header(appendInside(file, subElement(TAG_UPGRADE_IMAGE, new Uint8Array(5))));
    expect(h.subElements.filter((s) => s.tag === TAG_UPGRADE_IMAGE)).toHaveLength(2);
    expect(findSubElement(h, TAG_UPGRADE_IMAGE)!.length).toBe(1024 - 56 - 6 - 22);
    expect(h.warnings).toEqual([expect.stringMatching(/0x0000 repeated at offset 1024/)]);
  });

  test('a binary header string is shown with dots', () => {
    const h = header(withHeaderStringBytes(file, [0x41, 0x01, 0xff, 0x42]));
    expect(h.headerString).toBe('A..B');
    expect(h.warnings).toEqual([expect.stringMatching(/non-printable/)]);
  });
});

describe('caps: files of too many sub-elements or oddities are refused, saying what and where', () => {
  const file = makeImage({ integrityCode: false, size: 256 }); // 56-byte header, its sub-elements end at 256
  const zeroLength = (n: number, tag = (i: number) => 0xf000 + i) => concat(...Array.from({ length: n }, (_, i) => subElement(tag(i), new Uint8Array(0))));

  test(`${MAX_SUB_ELEMENTS} sub-elements are read; one more is TOO_MANY_SUB_ELEMENTS at its offset`, () => {
    expect(header(appendInside(file, zeroLength(MAX_SUB_ELEMENTS - 1))).subElements).toHaveLength(MAX_SUB_ELEMENTS);
    const r = parse(appendInside(file, zeroLength(MAX_SUB_ELEMENTS)));
    expect(r).toEqual({ ok: false, code: 'TOO_MANY_SUB_ELEMENTS', message: `more than ${MAX_SUB_ELEMENTS} sub-elements: the next starts at offset ${256 + 6 * (MAX_SUB_ELEMENTS - 1)}` });
  });

  test(`${MAX_WARNINGS} warnings are listed; one more is TOO_MANY_WARNINGS, naming the sub-element`, () => {
    const repeated = (n: number) => appendInside(file, zeroLength(n, () => 0xf000));
    expect(header(repeated(MAX_WARNINGS + 1)).warnings).toHaveLength(MAX_WARNINGS);
    expect(parse(repeated(MAX_WARNINGS + 2))).toMatchObject({ ok: false, code: 'TOO_MANY_WARNINGS', message: expect.stringContaining(`offset ${256 + 6 * (MAX_WARNINGS + 1)}`) });
  });

  test('1.2 MB of zeros after the payload (zero-length 0x0000 sub-elements): refused, and image inspect\'s report says why', () => {
    const big = appendInside(file, new Uint8Array(1_200_000));
    const r = parse(big);
    expect(r).toMatchObject({ ok: false, code: 'TOO_MANY_WARNINGS' });
    // Each zero-length 0x0000 repeats the payload's tag: the 33rd repeat is one warning too many.
    expect(reportLines(imageReport(r, big))).toEqual([`NOT servable: TOO_MANY_WARNINGS: more than ${MAX_WARNINGS} warnings: the last is about the sub-element at offset ${256 + 6 * MAX_WARNINGS}`]);
  });

  test('100 MB of them: the parser reads a few hundred bytes and stops', () => {
    // A file that exists only as reads: 100 MB of zero-length sub-elements, tags 0xF000 up, after a plain header.
    const size = 100 * 1024 * 1024;
    const head = withHeaderField(file.subarray(0, 56), 'totalImageSize', size);
    let read = 0;
    const src: ByteSource = {
      length: size,
      read: (offset, length) => {
        read += length;
        const out = new Uint8Array(Math.max(0, Math.min(length, size - offset)));
        for (let i = 0, at = offset; i < out.length; i++, at++) {
          const tag = 0xf000 + (Math.floor((at - 56) / 6) & 0xfff);
          out[i] = at < 56 ? head[at] : (at - 56) % 6 === 0 ? tag & 0xff : (at - 56) % 6 === 1 ? tag >> 8 : 0;
        }
        return out;
      },
    };
    expect(parseImageHeader(src)).toEqual({ ok: false, code: 'TOO_MANY_SUB_ELEMENTS', message: `more than ${MAX_SUB_ELEMENTS} sub-elements: the next starts at offset ${56 + 6 * MAX_SUB_ELEMENTS}` });
    expect(read).toBeLessThan(2048);
  });
});

describe('any bytes at all', () => {
  const codes = ['NO_MAGIC', 'TRUNCATED', 'UNKNOWN_HEADER_VERSION', 'BAD_HEADER_LENGTH', 'SIZE_MISMATCH', 'TOO_MANY_SUB_ELEMENTS', 'TOO_MANY_WARNINGS'];
  const valid = makeImage({ size: 300, minHardwareVersion: 1, maxHardwareVersion: 2 });
  // Pure noise rarely holds the magic; noise after a valid header's start, or a valid file with bytes
  // overwritten, reaches the optional fields and the sub-element walk.
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 400 }),
    fc.tuple(fc.integer({ min: 4, max: 70 }), fc.uint8Array({ maxLength: 400 })).map(([keep, tail]) => concat(valid.subarray(0, keep), tail)),
    fc.tuple(fc.integer({ min: 0, max: valid.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, b]) => withBytesAt(valid, at, b.subarray(0, valid.length - at))),
  );

  test('give a parsed header or one of the parser\'s errors, and a report, never an exception', () => {
    fc.assert(
      fc.property(inputs, (bytes) => {
        const r = parse(bytes);
        if (!r.ok) expect(codes).toContain(r.code);
        agree(bytes);
        const rep = imageReport(r, bytes);
        expect(rep.servable).toBe(rep.problems.length === 0);
        expect(reportLines(rep).length).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("the hub's header check (checkHeader) decides as parseImageHeader does", () => {
  const built = imageOptions.map((o) => buildImage(o));
  const at = fc.oneof(fc.integer({ min: 0, max: 80 }), fc.nat());
  // Generated files, and the same with header bytes overwritten, a header field set to a value near its
  // edges, cut short, or given trailing bytes or a prefix: every refusal of the check, and every way in.
  const files = fc.oneof(
    built,
    fc.tuple(built, fc.integer({ min: 0, max: Ota.Max + 3 }), fc.uint8Array({ minLength: 1, maxLength: 4 })).map(([f, i, b]) => withBytesAt(f, i, b.subarray(0, Math.max(0, f.length - i)))),
    fc.tuple(built, fc.constantFrom(0x0000, 0x0001, 0x00ff, 0x0100, 0x0101, 0x01ff, 0x0200, 0xff01)).map(([f, v]) => withHeaderField(f, 'headerVersion', v)),
    fc.tuple(built, fc.integer({ min: 0, max: 120 })).map(([f, v]) => withHeaderField(f, 'headerLength', v)),
    fc.tuple(built, fc.oneof(fc.integer({ min: 0, max: 15 }), u16)).map(([f, v]) => withHeaderField(f, 'fieldControl', v)),
    fc.tuple(built, fc.oneof(fc.integer({ min: 0, max: 3100 }), fc.integer({ min: 0, max: 0xffffffff }))).map(([f, v]) => withHeaderField(f, 'totalImageSize', v)),
    fc.tuple(built, at).map(([f, n]) => truncate(f, n % (f.length + 1))),
    fc.tuple(built, fc.integer({ min: 1, max: 40 })).map(([f, n]) => withTrailing(f, n)),
    fc.tuple(built, fc.integer({ min: 1, max: 40 })).map(([f, n]) => withPrefix(f, n)),
  );

  test('on generated files and corruptions of them, reaching every answer of the check', () => {
    const seen = new Set<number>();
    fc.assert(
      fc.property(files, (file) => {
        seen.add(agree(file));
      }),
      { numRuns: 3000 },
    );
    expect([...seen].sort()).toEqual([Hc.Ok, Hc.NoMagic, Hc.Short, Hc.Version, Hc.Length, Hc.Size, Hc.Truncated]);
  });

  test('each answer, with the parser\'s code and the fields a valid header gives', () => {
    const file = makeImage({ securityCredentialVersion: 1, upgradeFileDestination: '000D6F0000000001', minHardwareVersion: 0x0102, maxHardwareVersion: 0xfffe, fileVersion: 0xfedcba98 });
    const cases: [Uint8Array, number][] = [
      [file, Hc.Ok],
      [withTrailing(file, 3), Hc.Ok],
      [new Uint8Array(0), Hc.NoMagic],
      [truncate(file, 3), Hc.NoMagic],
      [withPrefix(file, 1), Hc.NoMagic],
      [truncate(file, 4), Hc.Short],
      [truncate(file, Ota.Fixed - 1), Hc.Short],
      [withHeaderField(file, 'headerVersion', 0x0200), Hc.Version],
      [withHeaderField(file, 'headerLength', Ota.Max - 1), Hc.Length],
      [withHeaderField(file, 'totalImageSize', Ota.Max - 1), Hc.Size],
      [truncate(file, Ota.Max), Hc.Truncated],
      [truncate(file, file.length - 1), Hc.Truncated],
    ];
    expect(cases.map(([f]) => agree(f))).toEqual(cases.map(([, c]) => c));
    expect(check(file).row).toEqual([-2, 0x1234, 0x0001, 0xfedcba98, 0x0102, 0xfffe, -2]);
    expect(check(makeImage()).row).toEqual([-2, 0x1234, 0x0001, 2, -1, -1, -2]);
    // The hardware versions follow whichever optional fields come before them.
    for (const fieldControl of [4, 5, 6, 7]) expect(check(makeImage({ fieldControl })).row.slice(4, 6)).toEqual([1, 3]);
  });

  test("the hub's image row holds the fields in the order checkHeader writes them", () => {
    expect([I.Mfr, I.Type, I.Ver, I.MinHw, I.MaxHw].map((c) => c - I.Mfr)).toEqual([Hf.Mfr, Hf.Type, Hf.Ver, Hf.MinHw, Hf.MaxHw]);
    expect(I.MaxHw).toBeLessThan(I.W);
  });
});

describe('img.end on the hub core: the check decides, a refused file is discarded', () => {
  /** Uploads `file` as "fw"; img.end's raw reply items ([i, err, ...detail]) and the hub's image list after. */
  function upload(file: Uint8Array): { reply: unknown[]; images: unknown[] } {
    const b = new Bench();
    const replies: unknown[][] = [];
    const reader = new FrameReader((x) => zlib.crc32(x) >>> 0);
    const send = b.hub.p.sendHost;
    b.hub.p.sendHost = (frame) => {
      for (const body of reader.push(new Uint8Array(frame))) replies.push(decodeBody(body) as unknown[]);
      send(frame);
    };
    b.ok('img.begin', { name: 'fw', size: file.length, crc: zlib.crc32(file) >>> 0 });
    for (let off = 0; off < file.length; off += 1024) b.ok('img.data', { name: 'fw', off, d: file.subarray(off, off + 1024) });
    b.request('img.end', { name: 'fw' });
    const reply = replies[replies.length - 1];
    return { reply, images: b.ok('img.list').images as unknown[] };
  }

  test('a valid header is stored with its fields; any other is BAD_IMAGE (0: no magic at 0, else 1; then the code)', () => {
    const files = fc.oneof(
      fc.constant(makeImage({ minHardwareVersion: 2, maxHardwareVersion: 5 })),
      fc.tuple(fc.integer({ min: 0, max: Ota.Max + 3 }), fc.uint8Array({ minLength: 1, maxLength: 3 })).map(([i, b]) => withBytesAt(makeImage({ size: 300 }), i, b)),
      fc.integer({ min: 1, max: 120 }).map((n) => truncate(makeImage({ size: 300 }), n)),
      fc.integer({ min: 1, max: 3 }).map((n) => withPrefix(makeImage({ size: 300 }), n)),
    );
    fc.assert(
      fc.property(files, (file) => {
        const c = check(file);
        const { reply, images } = upload(file);
        if (c.code !== Hc.Ok) {
          expect(reply.slice(1)).toEqual([Err.BAD_IMAGE, c.code === Hc.NoMagic ? 0 : 1, c.code]);
          expect(images).toEqual([]);
        } else {
          expect(reply[1]).toBe(0);
          expect(images).toEqual([expect.objectContaining({ name: 'fw', complete: true, manufacturerCode: c.row[1], imageType: c.row[2], fileVersion: c.row[3] })]);
          const img = images[0] as { minHw?: number; maxHw?: number };
          expect([img.minHw ?? -1, img.maxHw ?? -1]).toEqual(c.row.slice(4, 6));
        }
      }),
      { numRuns: 150 },
    );
  });
});
