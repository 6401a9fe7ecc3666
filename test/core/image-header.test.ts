// The OTA file header parser (firmware/core/image-header.ts) on generated files, broken files (each a
// specific error) and untidy-but-servable files (ok, with warnings); and the project's digest rule.
import fc from 'fast-check';
import {
  bytesSource,
  findSubElement,
  HeaderResult,
  OtaHeader,
  parseImageHeader,
  TAG_CHUB_CRC32,
  TAG_CHUB_SHA256,
  TAG_UPGRADE_IMAGE,
} from '../../firmware/core/image-header';
import { buildImage, DigestChoice, digestCheck, ImageOptions } from '../../host-tools/image/image-builder';
import {
  appendInside,
  corruptMagic,
  flipBit,
  makeImage,
  subElement,
  truncate,
  withBytesAt,
  withHeaderField,
  withHeaderStringBytes,
  withPrefix,
  withTrailing,
} from '../helpers/images';

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

const DIGEST_TAGS: Record<DigestChoice, number[]> = {
  none: [],
  sha256: [TAG_CHUB_SHA256],
  crc32: [TAG_CHUB_CRC32],
  both: [TAG_CHUB_SHA256, TAG_CHUB_CRC32],
};

const u16 = fc.integer({ min: 0, max: 0xffff });
const eui = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => Buffer.from(b).toString('hex').toUpperCase());
const digestChoice = fc.constantFrom<DigestChoice>('none', 'sha256', 'crc32', 'both');
// All optional fields and both digests take 123 bytes: 56 + 1 + 8 + 4 header, 6 payload tag, 38 + 10 digests.
const MAX_OVERHEAD = 123;

const imageOptions: fc.Arbitrary<ImageOptions> = fc
  .record({
    manufacturerCode: u16,
    imageType: u16,
    fileVersion: fc.integer({ min: 0, max: 0xffffffff }),
    zigbeeStackVersion: u16,
    headerString: fc.string({ unit: 'grapheme-ascii', maxLength: 32 }),
    hw: fc.option(fc.tuple(u16, u16), { nil: undefined }),
    securityCredentialVersion: fc.option(fc.integer({ min: 0, max: 0xff }), { nil: undefined }),
    upgradeFileDestination: fc.option(eui, { nil: undefined }),
    size: fc.integer({ min: MAX_OVERHEAD, max: 3000 }),
    seed: fc.nat(),
    digest: digestChoice,
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
          headerString: o.headerString,
          totalImageSize: o.size,
          securityCredentialVersion: o.securityCredentialVersion,
          upgradeFileDestination: o.upgradeFileDestination,
          minHardwareVersion: o.minHardwareVersion,
          maxHardwareVersion: o.maxHardwareVersion,
        });
        expect(subElements.map((s) => s.tag)).toEqual([TAG_UPGRADE_IMAGE, ...DIGEST_TAGS[o.digest!]]);
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

  test('defaults: ZigBee PRO stack, header string "chub test image", both digests', () => {
    const h = header(makeImage());
    expect(h.zigbeeStackVersion).toBe(2);
    expect(h.headerString).toBe('chub test image');
    expect(h.subElements.map((s) => s.tag)).toEqual([TAG_UPGRADE_IMAGE, TAG_CHUB_SHA256, TAG_CHUB_CRC32]);
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
    expect(() => makeImage({ ...all, size: MAX_OVERHEAD - 1 })).toThrow(/too small.*123 bytes/);
  });

  test.each<[string, Partial<ImageOptions>, RegExp]>([
    ['only a minimum hardware version', { minHardwareVersion: 1 }, /both/],
    ['minimum above maximum hardware version', { minHardwareVersion: 3, maxHardwareVersion: 2 }, /above the maximum/],
    ['a manufacturer code over 16 bits', { manufacturerCode: 0x10000 }, /manufacturer code/],
    ['a negative file version', { fileVersion: -1 }, /file version/],
    ['a destination that is not an EUI-64', { upgradeFileDestination: '1234' }, /EUI-64/],
    ['a header string over 32 bytes', { headerString: 'x'.repeat(33) }, /32/],
    ['an unknown digest', { digest: 'md5' as DigestChoice }, /digest/],
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
    expect(h.subElements).toHaveLength(3);
    expect(h.warnings).toEqual([expect.stringMatching(/3 stray bytes at offset 1024/)]);
  });

  test('a sub-element whose length overruns the file', () => {
    const h = header(appendInside(file, subElement(0xf100, new Uint8Array(10), 1000)));
    expect(h.subElements.map((s) => s.tag)).toEqual([TAG_UPGRADE_IMAGE, TAG_CHUB_SHA256, TAG_CHUB_CRC32]);
    expect(h.warnings).toEqual([expect.stringMatching(/0xF100.*claims 1000 bytes but 10 remain/)]);
  });

  test('a repeated tag: both are listed, the first is the one found', () => {
    const h = header(appendInside(file, subElement(TAG_UPGRADE_IMAGE, new Uint8Array(5))));
    expect(h.subElements.filter((s) => s.tag === TAG_UPGRADE_IMAGE)).toHaveLength(2);
    expect(findSubElement(h, TAG_UPGRADE_IMAGE)!.length).toBe(1024 - 56 - 6 - 38 - 10);
    expect(h.warnings).toEqual([expect.stringMatching(/0x0000 repeated at offset 1024/)]);
  });

  test('a binary header string is shown with dots', () => {
    const h = header(withHeaderStringBytes(file, [0x41, 0x01, 0xff, 0x42]));
    expect(h.headerString).toBe('A..B');
    expect(h.warnings).toEqual([expect.stringMatching(/non-printable/)]);
  });
});

describe('digestCheck: the chub SHA-256 and CRC-32 sub-elements', () => {
  const check = (file: Uint8Array) => digestCheck(file, header(file));

  test.each<[DigestChoice, object]>([
    ['both', { sha256: true, crc32: true }],
    ['sha256', { sha256: true }],
    ['crc32', { crc32: true }],
    ['none', {}],
  ])('a generated file with digest %s passes', (digest, expected) => {
    expect(check(makeImage({ digest }))).toEqual(expected);
  });

  test('any flipped bit before the digests fails both', () => {
    const file = makeImage({ size: 300 });
    const sha = findSubElement(header(file), TAG_CHUB_SHA256)!;
    // Header fields that change the layout are left alone: those make a different file, not a corrupt one.
    const firstPayloadBit = (header(file).headerLength + 6) * 8;
    fc.assert(
      fc.property(fc.integer({ min: firstPayloadBit, max: (sha.offset - 6) * 8 - 1 }), (bit) => {
        expect(check(flipBit(file, bit))).toEqual({ sha256: false, crc32: false });
      }),
    );
  });

  test('the CRC-32 covers the SHA-256 sub-element; the SHA-256 does not cover the CRC-32', () => {
    const file = makeImage();
    const h = header(file);
    const sha = findSubElement(h, TAG_CHUB_SHA256)!;
    const crc = findSubElement(h, TAG_CHUB_CRC32)!;
    expect(check(withBytesAt(file, sha.offset, [file[sha.offset] ^ 1]))).toEqual({ sha256: false, crc32: false });
    expect(check(withBytesAt(file, crc.offset, [file[crc.offset] ^ 1]))).toEqual({ sha256: true, crc32: false });
  });

  test('digests count from the magic, so a prefix and trailing bytes do not matter', () => {
    expect(check(withTrailing(withPrefix(makeImage(), 21), 5))).toEqual({ sha256: true, crc32: true });
  });

  test('a digest sub-element of the wrong length fails', () => {
    const file = makeImage({ digest: 'none' });
    const wrong = appendInside(file, subElement(TAG_CHUB_SHA256, new Uint8Array(16)));
    expect(check(wrong)).toEqual({ sha256: false });
  });
});
