// ZigBee OTA upgrade file header and sub-elements: parse, validate, report oddities.
// Source: ZigBee OTA Upgrade Cluster spec (095264r23) §6.3–6.4; summary in FACTS §2.
// Files from the field are untidy (vendor prefixes, trailing bytes, sub-elements that do not tile),
// so only what stops an image being served is an error; the rest are warnings. Whether the header can be
// served is checkHeader's verdict (ota-fixed-header.ts, the hub's own check): this adds the words.
import { ByteReader, euiFromBytes, hex } from './bytes';
import { checkHeader, Fc, Hc, Hf, Ota } from './ota-fixed-header';

export const OTA_MAGIC: number = Ota.Magic;
const MAGIC_BYTES = [OTA_MAGIC & 0xff, (OTA_MAGIC >> 8) & 0xff, (OTA_MAGIC >> 16) & 0xff, OTA_MAGIC >>> 24]; // little-endian on the wire
export const HEADER_VERSION = 0x0100;
export const FIXED_HEADER_LENGTH: number = Ota.Fixed;

export const FC_SECURITY_CREDENTIAL: number = Fc.Security;
export const FC_DEVICE_SPECIFIC: number = Fc.Destination;
export const FC_HARDWARE_VERSIONS: number = Fc.Hardware;

export const TAG_UPGRADE_IMAGE = 0x0000;
export const TAG_ECDSA_SIGNATURE = 0x0001;
export const TAG_ECDSA_CERTIFICATE = 0x0002;
export const TAG_INTEGRITY_CODE = 0x0003;

// Published files hold a handful of sub-elements (an image, a signature, a certificate, an integrity code,
// some of the vendor's) and fewer oddities. A file past these is refused, not parsed: a file of nothing but
// zero-length sub-elements would otherwise list hundreds of thousands of them (a board runs out of memory,
// `image inspect` out of stack).
export const MAX_SUB_ELEMENTS = 64;
export const MAX_WARNINGS = 32;

/** Random access to an image wherever it lives (RAM, a file, Espruino Storage). */
export interface ByteSource {
  length: number;
  read(offset: number, length: number): Uint8Array;
}

export function bytesSource(b: Uint8Array): ByteSource {
  return {
    length: b.length,
    read: function (offset: number, length: number) {
      return b.subarray(offset, Math.min(b.length, offset + length));
    },
  };
}

export interface SubElement {
  tag: number;
  /** Offset of the sub-element's data within the OTA file (after its 6-byte tag+length). */
  offset: number;
  length: number;
}

export interface OtaHeader {
  /** Where the magic starts in the given bytes (non-zero when the file carries a prefix). */
  start: number;
  headerVersion: number;
  headerLength: number;
  fieldControl: number;
  manufacturerCode: number;
  imageType: number;
  fileVersion: number;
  zigbeeStackVersion: number;
  /** Printable form of the 32-byte header string (non-printable bytes as '.'). */
  headerString: string;
  totalImageSize: number;
  securityCredentialVersion?: number;
  upgradeFileDestination?: string;
  minHardwareVersion?: number;
  maxHardwareVersion?: number;
  subElements: SubElement[];
  warnings: string[];
}

export type HeaderErrorCode =
  | 'NO_MAGIC'
  | 'TRUNCATED'
  | 'UNKNOWN_HEADER_VERSION'
  | 'BAD_HEADER_LENGTH'
  | 'SIZE_MISMATCH'
  | 'TOO_MANY_SUB_ELEMENTS'
  | 'TOO_MANY_WARNINGS';

export type HeaderResult = { ok: true; header: OtaHeader } | { ok: false; code: HeaderErrorCode; message: string };

function fail(code: HeaderErrorCode, message: string): HeaderResult {
  return { ok: false, code: code, message: message };
}

/** Offset of the first magic in the source, or -1. Reads in chunks so a Storage-backed image is never copied whole. */
export function findMagic(src: ByteSource): number {
  const CHUNK = 1024;
  for (let base = 0; base < src.length; base += CHUNK - 3) {
    const b = src.read(base, CHUNK);
    for (let i = 0; i + 3 < b.length; i++) {
      if (b[i] === MAGIC_BYTES[0] && b[i + 1] === MAGIC_BYTES[1] && b[i + 2] === MAGIC_BYTES[2] && b[i + 3] === MAGIC_BYTES[3]) return base + i;
    }
    if (b.length < CHUNK) break;
  }
  return -1;
}

function printable(b: Uint8Array): { text: string; binary: boolean } {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--; // NUL padding is normal
  let text = '';
  let binary = false;
  for (let i = 0; i < end; i++) {
    const c = b[i];
    if (c >= 0x20 && c < 0x7f) text += String.fromCharCode(c);
    else {
      text += '.';
      binary = true;
    }
  }
  return { text: text, binary: binary };
}

/** parseImageHeader's error code for each of checkHeader's answers (Hc, numbered from Hc.Ok = 0). */
export const HEADER_CODES: (HeaderErrorCode | undefined)[] = [undefined, 'NO_MAGIC', 'TRUNCATED', 'UNKNOWN_HEADER_VERSION', 'BAD_HEADER_LENGTH', 'SIZE_MISMATCH', 'TRUNCATED'];

/** Little-endian u16 and u32 at `at` (0 past the end: only refusals read a short header). */
function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}
function u32(b: Uint8Array, at: number): number {
  return u16(b, at) + u16(b, at + 2) * 0x10000;
}

export function parseImageHeader(src: ByteSource): HeaderResult {
  const start = findMagic(src);
  if (start < 0) return fail('NO_MAGIC', 'no OTA file magic 0x0BEEF11E found in ' + src.length + ' bytes');
  const b = src.read(start, Ota.Max);
  const available = src.length - start;
  const row = [0, 0, 0, 0, 0];
  const c = checkHeader(b, available, row, 0);
  const headerVersion = u16(b, Ota.Version);
  const headerLength = u16(b, Ota.Length);
  const fieldControl = u16(b, Ota.Control);
  const optLength =
    (fieldControl & Fc.Security ? Ota.SecurityBytes : 0) + (fieldControl & Fc.Destination ? Ota.DestinationBytes : 0) + (fieldControl & Fc.Hardware ? Ota.HardwareBytes : 0);
  const totalImageSize = u32(b, Ota.Total);
  if (c !== Hc.Ok) {
    const code = HEADER_CODES[c] as HeaderErrorCode;
    if (c === Hc.Short) return fail(code, 'header truncated: ' + b.length + ' of ' + FIXED_HEADER_LENGTH + ' fixed bytes at offset ' + start);
    // Only the major byte changes the layout; 0x01xx is what every published file uses.
    if (c === Hc.Version) return fail(code, 'unknown header version ' + hex(headerVersion, 4));
    if (c === Hc.Length) return fail(code, 'header length ' + headerLength + ' is shorter than its fields (' + (FIXED_HEADER_LENGTH + optLength) + ')');
    if (c === Hc.Size) return fail(code, 'total image size ' + totalImageSize + ' is smaller than the header length ' + headerLength);
    if (c === Hc.Truncated) return fail(code, 'file truncated: header declares ' + totalImageSize + ' bytes, ' + available + ' present after offset ' + start);
    return fail(code, 'no OTA file magic 0x0BEEF11E at offset ' + start); // findMagic found it there: unreachable
  }

  const warnings: string[] = [];
  if (start > 0) warnings.push(start + ' byte prefix before the OTA magic (ignored)');
  const hs = printable(b.subarray(Ota.Text, Ota.Text + Ota.TextBytes));
  if (hs.binary) warnings.push('header string holds non-printable bytes');
  if (fieldControl & ~7) warnings.push('reserved header field control bits set: ' + hex(fieldControl, 4));
  if (available > totalImageSize) warnings.push(available - totalImageSize + ' trailing bytes after the declared image size (ignored)');

  const h: OtaHeader = {
    start: start,
    headerVersion: headerVersion,
    headerLength: headerLength,
    fieldControl: fieldControl,
    manufacturerCode: row[Hf.Mfr],
    imageType: row[Hf.Type],
    fileVersion: row[Hf.Ver],
    zigbeeStackVersion: u16(b, Ota.Stack),
    headerString: hs.text,
    totalImageSize: totalImageSize,
    subElements: [],
    warnings: warnings,
  };
  if (fieldControl & Fc.Security) h.securityCredentialVersion = b[Ota.Fixed];
  if (fieldControl & Fc.Destination) {
    const at = Ota.Fixed + (fieldControl & Fc.Security ? Ota.SecurityBytes : 0);
    h.upgradeFileDestination = euiFromBytes(b.subarray(at, at + Ota.DestinationBytes));
  }
  if (fieldControl & Fc.Hardware) {
    h.minHardwareVersion = row[Hf.MinHw];
    h.maxHardwareVersion = row[Hf.MaxHw];
    if (h.minHardwareVersion > h.maxHardwareVersion)
      warnings.push('hardware version range is empty: min ' + hex(h.minHardwareVersion, 4) + ' > max ' + hex(h.maxHardwareVersion, 4));
  }
  if (headerLength > FIXED_HEADER_LENGTH + optLength) warnings.push(headerLength - FIXED_HEADER_LENGTH - optLength + ' unknown bytes at the end of the header');
  return scanSubElements(src, h) || { ok: true, header: h };
}

/** Lists the sub-elements into h; null, or the failure when the file has too many of them or of oddities. */
function scanSubElements(src: ByteSource, h: OtaHeader): HeaderResult | null {
  const seen: { [tag: string]: boolean } = {};
  let off = h.headerLength;
  while (off < h.totalImageSize) {
    const left = h.totalImageSize - off;
    if (left < 6) {
      h.warnings.push(left + ' stray bytes at offset ' + off + ' after the last sub-element');
      return null;
    }
    const r = new ByteReader(src.read(h.start + off, 6));
    const tag = r.u16('tag');
    const length = r.u32('length');
    if (length > left - 6) {
      h.warnings.push('sub-element ' + hex(tag, 4) + ' at offset ' + off + ' claims ' + length + ' bytes but ' + (left - 6) + ' remain; the rest is unframed data');
      return null;
    }
    if (h.subElements.length === MAX_SUB_ELEMENTS)
      return fail('TOO_MANY_SUB_ELEMENTS', 'more than ' + MAX_SUB_ELEMENTS + ' sub-elements: the next starts at offset ' + off);
    if (seen[tag]) h.warnings.push('sub-element ' + hex(tag, 4) + ' repeated at offset ' + off);
    if (h.warnings.length > MAX_WARNINGS) return fail('TOO_MANY_WARNINGS', 'more than ' + MAX_WARNINGS + ' warnings: the last is about the sub-element at offset ' + off);
    seen[tag] = true;
    h.subElements.push({ tag: tag, offset: off + 6, length: length });
    off += 6 + length;
  }
  if (h.subElements.length === 0) h.warnings.push('no sub-elements after the header');
  return null;
}

/** The first sub-element with this tag, if any. */
export function findSubElement(h: OtaHeader, tag: number): SubElement | undefined {
  for (let i = 0; i < h.subElements.length; i++) if (h.subElements[i].tag === tag) return h.subElements[i];
  return undefined;
}

/** Whether a device with hardware version `hw` may take an image made for min..max.
 *  An image without a range fits every device; so does a client that does not state its version. */
export function hardwareInRange(min: number | undefined, max: number | undefined, hw: number | undefined): boolean {
  if (min === undefined || max === undefined || hw === undefined) return true;
  return hw >= min && hw <= max;
}
