// OTA files for tests: generated ones (host-tools/image/image-builder.ts), and mutators that make them
// broken or untidy the way files from the field are (FACTS §2). Mutators return a copy.
import { buildImage, ImageOptions } from '../../host-tools/image/image-builder';

export const BASE_IMAGE: ImageOptions = { manufacturerCode: 0x1234, imageType: 0x0001, fileVersion: 2, size: 1024, seed: 1 };

export function makeImage(opts: Partial<ImageOptions> = {}): Uint8Array {
  return buildImage({ ...BASE_IMAGE, ...opts });
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
