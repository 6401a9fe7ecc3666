// The Image Integrity Code (host-tools/image/image-integrity.ts): the AES-MMO hash against the ZigBee
// spec's own test vectors and an independent implementation; what `chub image make` writes; and the one
// verdict (image-report.ts) that `image inspect` and `chub upload` share, on vendor files and damaged ones.
import fc from 'fast-check';
import { Utils as ZSpecUtils } from 'zigbee-herdsman/dist/zspec';
import { bytesSource, findSubElement, OtaHeader, parseImageHeader, TAG_INTEGRITY_CODE, TAG_UPGRADE_IMAGE } from '../../firmware/core/image-header';
import { ImageOptions } from '../../host-tools/image/image-builder';
import { aesMmo, CHUB_MARK, integrityState } from '../../host-tools/image/image-integrity';
import { ImageReport, imageReport } from '../../host-tools/image/image-report';
import { appendInside, Element, flipBit, makeImage, subElement, vendorImage, withBytesAt, withoutSubElement, withPrefix, withTrailing } from '../helpers/images';

function header(file: Uint8Array): OtaHeader {
  const r = parseImageHeader(bytesSource(file));
  if (!r.ok) throw new Error(`expected a parsable file, got ${r.code}: ${r.message}`);
  return r.header;
}

const report = (file: Uint8Array): ImageReport => imageReport(parseImageHeader(bytesSource(file)), file);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const counting = (n: number) => new Uint8Array(n).map((_, i) => i & 0xff);

describe('aesMmo', () => {
  // ZigBee spec 05-3474-21 §C.5: 8191 bytes is the last message with a 16-bit length in its padding, 8192 the first with 32.
  test.each<[string, Uint8Array, string]>([
    ['C.5.1: one byte', Uint8Array.of(0xc0), 'ae3a102a28d43ee0d4a09e22788b206c'],
    ['C.5.2: one block', new Uint8Array(16).map((_, i) => 0xc0 + i), 'a7977e88bc0b61e8210827109a228f2d'],
    ['C.5.3: 8191 bytes', counting(8191), '24ec2fe75bbffcb34789bc0610e7f165'],
    ['C.5.4: 8192 bytes', counting(8192), 'dc6b0687f09f8607131c170b3bd31591'],
  ])('ZigBee spec test vector %s', (_name, message, digest) => {
    expect(hex(aesMmo(message))).toBe(digest);
  });

  test('agrees with zigbee-herdsman\'s AES-MMO (install codes) on every message under 8 KiB', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 8191 }), (m) => {
        expect(hex(aesMmo(m))).toBe(ZSpecUtils.aes128MmoHash(Buffer.from(m)).toString('hex'));
      }),
      { numRuns: 200 },
    );
  });

  test('each padding boundary (one or two final blocks, either length form) gives a distinct hash', () => {
    const lengths = [13, 14, 15, 16, 8185, 8186, 8191, 8192, 8201, 8202];
    expect(new Set(lengths.map((n) => hex(aesMmo(counting(n))))).size).toBe(lengths.length);
  });
});

describe('what chub image make writes', () => {
  test('the payload, then a 16-byte Image Integrity Code that covers everything before its tag; the header string says so', () => {
    const file = makeImage({ size: 20000 });
    const h = header(file);
    expect(h.subElements.map((s) => [s.tag, s.length])).toEqual([
      [TAG_UPGRADE_IMAGE, 20000 - 56 - 6 - 22],
      [TAG_INTEGRITY_CODE, 16],
    ]);
    expect(h.headerString).toBe(`test image ${CHUB_MARK}`);
    expect(hex(file.subarray(20000 - 16))).toBe(hex(aesMmo(file.subarray(0, 20000 - 22))));
    expect(report(file)).toMatchObject({ servable: true, integrity: 'ok', problems: [] });
  });

  test('every generated file, whatever its header options, has a matching code', () => {
    const u16 = fc.integer({ min: 0, max: 0xffff });
    const opts: fc.Arbitrary<Partial<ImageOptions>> = fc.record({
      manufacturerCode: u16,
      headerString: fc.string({ unit: 'grapheme-ascii', maxLength: 25 }).filter((s) => !s.endsWith(CHUB_MARK)),
      securityCredentialVersion: fc.option(fc.integer({ min: 0, max: 0xff }), { nil: undefined }),
      size: fc.integer({ min: 100, max: 10000 }),
      seed: fc.nat(),
    });
    fc.assert(fc.property(opts, (o) => expect(integrityState(makeImage(o), header(makeImage(o)))).toBe('ok')), { numRuns: 50 });
  });

  test('a prefix before the magic and bytes after the declared size are outside the hash', () => {
    expect(report(withTrailing(withPrefix(makeImage(), 21), 5)).integrity).toBe('ok');
  });

  test('--no-integrity-code: a plain file with neither the code nor the mark, servable like a vendor\'s', () => {
    const file = makeImage({ integrityCode: false, headerString: 'plain' });
    expect(header(file).subElements.map((s) => s.tag)).toEqual([TAG_UPGRADE_IMAGE]);
    expect(header(file).headerString).toBe('plain');
    expect(report(file)).toMatchObject({ servable: true, integrity: 'absent' });
  });

  test.each<[string, Partial<ImageOptions>, RegExp]>([
    ['header text that ends in the mark', { headerString: `x ${CHUB_MARK}`, integrityCode: false }, /may not end in "\[chub\]"/],
    ['header text that leaves no room for the mark', { headerString: 'x'.repeat(26) }, /26 bytes; the field holds 25 beside " \[chub\]"/],
  ])('refuses %s', (_name, opts, message) => {
    expect(() => makeImage(opts)).toThrow(expect.objectContaining({ code: 'BAD_OPTION', message: expect.stringMatching(message) }));
  });
});

describe('vendor files: tags 0xF000-0xFFFF are the vendor\'s, whatever they hold', () => {
  const manufacturerElement: fc.Arbitrary<Element> = fc.tuple(fc.integer({ min: 0xf000, max: 0xffff }), fc.uint8Array({ maxLength: 64 }));

  test('any manufacturer-specific sub-elements, of any length and content, for any manufacturer: servable, no integrity code', () => {
    fc.assert(
      fc.property(fc.array(manufacturerElement, { maxLength: 4 }), fc.integer({ min: 0, max: 0xffff }), (elements, mfr) => {
        expect(report(vendorImage(elements, mfr))).toMatchObject({ servable: true, problems: [], integrity: 'absent' });
      }),
    );
  });

  test('a vendor\'s own Image Integrity Code means what the spec says: checked, and refused when it does not match', () => {
    // The hash covers the header too, so it is taken once totalImageSize counts the code's own 22 bytes.
    const wrong = appendInside(vendorImage([[0xf000, new Uint8Array(32)]]), subElement(TAG_INTEGRITY_CODE, new Uint8Array(16)));
    const good = withBytesAt(wrong, wrong.length - 16, aesMmo(wrong.subarray(0, wrong.length - 22)));
    expect(report(good)).toMatchObject({ servable: true, integrity: 'ok' });
    expect(report(wrong)).toMatchObject({ servable: false, integrity: 'mismatch' });
    const short = appendInside(vendorImage([]), subElement(TAG_INTEGRITY_CODE, new Uint8Array(8)));
    expect(report(short)).toMatchObject({ servable: false, integrity: 'wrong-length' });
  });
});

describe('damaged files chub image make wrote: never servable', () => {
  const file = makeImage({ size: 200, minHardwareVersion: 1, maxHardwareVersion: 2 });

  test('every single flipped bit, anywhere in the file, is refused', () => {
    const servable: number[] = [];
    for (let bit = 0; bit < file.length * 8; bit++) if (report(flipBit(file, bit)).servable) servable.push(bit);
    expect(servable).toEqual([]);
  });

  test('its integrity code cut out: LOST, reported as damaged', () => {
    const code = findSubElement(header(file), TAG_INTEGRITY_CODE)!;
    const r = report(withoutSubElement(file, code.offset, code.length));
    expect(r).toMatchObject({ servable: false, integrity: 'lost' });
    expect(r.problems).toEqual([expect.stringMatching(/^damaged: its header string ends "\[chub\]".*holds no Image Integrity Code sub-element/)]);
  });
});
