// OTA files for tests: generated ones (host-tools/image/image-builder.ts), and mutators that make them
// broken or untidy the way files from the field are (FACTS §2). Mutators return a copy.
import { buildImage, ImageOptions } from '../../host-tools/image/image-builder';

export const BASE_IMAGE: ImageOptions = { manufacturerCode: 0x1234, imageType: 0x0001, fileVersion: 2, size: 1024, seed: 1 };

/** What each header field control bit (OTA spec 095264r23 §6.3.2, FACTS §2) adds to a test image when
 *  `fieldControl` sets it and the options do not give the field: 1 security credential version, 2 upgrade
 *  file destination (device-specific file), 4 hardware versions. buildImage sets the bits and the header
 *  length from the fields present. */
export const FIELD_CONTROL_DEFAULTS: { bit: number; fields: Partial<ImageOptions> }[] = [
  { bit: 1, fields: { securityCredentialVersion: 0x01 } },
  { bit: 2, fields: { upgradeFileDestination: '000D6F00000000FF' } },
  { bit: 4, fields: { minHardwareVersion: 0x0001, maxHardwareVersion: 0x0003 } },
];

/** The 8 header field control combinations (all three optional-field bits). */
export const FIELD_CONTROLS = [0, 1, 2, 3, 4, 5, 6, 7];

export interface TestImageOptions extends Partial<ImageOptions> {
  /** The optional header fields to carry, as field control bits: a set bit adds its field (the given value,
   *  else FIELD_CONTROL_DEFAULTS'), a clear bit leaves it out even if an option gives it. */
  fieldControl?: number;
}

export function makeImage(opts: TestImageOptions = {}): Uint8Array {
  const { fieldControl, ...given } = opts;
  const o: ImageOptions = { ...BASE_IMAGE, ...given };
  if (fieldControl !== undefined) {
    for (const { bit, fields } of FIELD_CONTROL_DEFAULTS) {
      for (const [k, v] of Object.entries(fields) as [keyof ImageOptions, unknown][]) {
        if (!(fieldControl & bit)) delete o[k];
        else if (o[k] === undefined) Object.assign(o, { [k]: v });
      }
    }
  }
  return buildImage(o);
}

/** Offsets and widths of fixed header fields (OTA spec §6.3), for files whose magic is at offset 0. */
const FIELDS = {
  headerVersion: { offset: 4, width: 2 },
  headerLength: { offset: 6, width: 2 },
  fieldControl: { offset: 8, width: 2 },
  totalImageSize: { offset: 52, width: 4 },
} as const;
const HEADER_STRING_OFFSET = 20;

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A vendor prefix before the magic. */
export function withPrefix(file: Uint8Array, n: number): Uint8Array {
  return concat(new Uint8Array(n).fill(0xa5), file);
}

/** Bytes after totalImageSize. */
export function withTrailing(file: Uint8Array, n: number): Uint8Array {
  return concat(file, new Uint8Array(n).fill(0x5a));
}

/** The first n bytes. */
export function truncate(file: Uint8Array, n: number): Uint8Array {
  return file.slice(0, n);
}

export function withBytesAt(file: Uint8Array, offset: number, bytes: ArrayLike<number>): Uint8Array {
  const out = file.slice();
  out.set(bytes, offset);
  return out;
}

export function corruptMagic(file: Uint8Array): Uint8Array {
  return withBytesAt(file, 0, [file[0] ^ 0xff]);
}

export function flipBit(file: Uint8Array, bit: number): Uint8Array {
  return withBytesAt(file, bit >> 3, [file[bit >> 3] ^ (1 << (bit & 7))]);
}

export function readHeaderField(file: Uint8Array, field: keyof typeof FIELDS): number {
  const f = FIELDS[field];
  return Buffer.from(file).readUIntLE(f.offset, f.width);
}

export function withHeaderField(file: Uint8Array, field: keyof typeof FIELDS, value: number): Uint8Array {
  const f = FIELDS[field];
  const b = Buffer.alloc(f.width);
  b.writeUIntLE(value, 0, f.width);
  return withBytesAt(file, f.offset, b);
}

export function withHeaderStringBytes(file: Uint8Array, bytes: ArrayLike<number>): Uint8Array {
  const field = new Uint8Array(32);
  field.set(bytes);
  return withBytesAt(file, HEADER_STRING_OFFSET, field);
}

/** A sub-element's bytes; `declaredLength` lets it claim more (or less) than it holds. */
export function subElement(tag: number, data: Uint8Array, declaredLength = data.length): Uint8Array {
  const head = Buffer.alloc(6);
  head.writeUInt16LE(tag, 0);
  head.writeUInt32LE(declaredLength, 2);
  return concat(head, data);
}

/** Appends bytes inside the image: totalImageSize grows to cover them. */
export function appendInside(file: Uint8Array, bytes: Uint8Array): Uint8Array {
  return withHeaderField(concat(file, bytes), 'totalImageSize', readHeaderField(file, 'totalImageSize') + bytes.length);
}

/** Sub-element tag and data, in file order. */
export type Element = [tag: number, data: Uint8Array];

/**
 * An OTA file laid out by hand the way vendors ship them, not by image-builder: field control 0 (no
 * optional header fields), a header string of the vendor's, an upgrade image, then `elements` (often
 * manufacturer-specific: tags 0xF000–0xFFFF hold whatever the vendor likes).
 */
export function vendorImage(elements: Element[], manufacturerCode = 0x1234, headerString = 'Vendor OTA image'): Uint8Array {
  const header = Buffer.alloc(56);
  const body = concat(subElement(0x0000, new Uint8Array(200).map((_, i) => (i * 37 + 11) & 0xff)), ...elements.map(([tag, data]) => subElement(tag, data)));
  header.writeUInt32LE(0x0beef11e, 0);
  header.writeUInt16LE(0x0100, 4);
  header.writeUInt16LE(56, 6);
  header.writeUInt16LE(manufacturerCode, 10);
  header.writeUInt16LE(0x0001, 12); // image type
  header.writeUInt32LE(2, 14); // file version
  header.writeUInt16LE(2, 18); // ZigBee PRO
  header.write(headerString, 20, 'latin1');
  header.writeUInt32LE(56 + body.length, 52);
  return concat(header, body);
}

/** The file without the sub-element whose data starts at `offset`; totalImageSize shrinks to match. */
export function withoutSubElement(file: Uint8Array, offset: number, length: number): Uint8Array {
  const cut = concat(file.subarray(0, offset - 6), file.subarray(offset + length));
  return withHeaderField(cut, 'totalImageSize', readHeaderField(file, 'totalImageSize') - 6 - length);
}
