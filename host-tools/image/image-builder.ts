// Builds ZigBee OTA upgrade files for tests and benches (the project never ships vendor files).
// Layout (OTA spec 095264r23 §6.3–6.4, FACTS §2): header | 0x0000 upgrade image | 0x0003 Image Integrity
// Code (image-integrity.ts), the header string ending in CHUB_MARK when the last is there.
import { ByteWriter, codedError, hex, normaliseEui } from '../../firmware/core/bytes';
import {
  FC_DEVICE_SPECIFIC,
  FC_HARDWARE_VERSIONS,
  FC_SECURITY_CREDENTIAL,
  FIXED_HEADER_LENGTH,
  HEADER_VERSION,
  OTA_MAGIC,
  TAG_INTEGRITY_CODE,
  TAG_UPGRADE_IMAGE,
} from '../../firmware/core/image-header';
import { aesMmo, CHUB_MARK, INTEGRITY_CODE_LENGTH } from './image-integrity';

/** ZigBee stack version field values (OTA spec §6.3.8): 0 ZigBee 2006, 1 ZigBee 2007, 2 ZigBee PRO, 3 ZigBee IP. */
const STACK_ZIGBEE_PRO = 2;
const DEFAULT_HEADER_STRING = 'test image';
/** The header string field is 32 bytes, NUL-padded (OTA spec §6.3.9). */
const HEADER_STRING_LENGTH = 32;
/** What is left of it for text beside " [chub]". */
export const HEADER_TEXT_LENGTH = HEADER_STRING_LENGTH - CHUB_MARK.length - 1;
/** Sub-element tag u16 + length u32 (OTA spec §6.4). */
const SUB_ELEMENT_HEADER = 6;

export interface ImageOptions {
  manufacturerCode: number;
  imageType: number;
  fileVersion: number;
  zigbeeStackVersion?: number;
  /** With an integrity code, CHUB_MARK follows it (after a space) in the 32-byte field. */
  headerString?: string;
  /** Both or neither; when given, header field control bit 2 is set. */
  minHardwareVersion?: number;
  maxHardwareVersion?: number;
  securityCredentialVersion?: number;
  /** EUI-64 as hex digits; makes the file device-specific (field control bit 1). */
  upgradeFileDestination?: string;
  /** Total file size in bytes; the payload is sized to reach it exactly. */
  size: number;
  /** Seed of the pseudo-random payload: the same options always give the same file. */
  seed: number;
  /** Default true: end with an Image Integrity Code and mark the header string. False gives a plain file,
   *  like many vendors' (no integrity code, no mark). */
  integrityCode?: boolean;
}

function badOption(message: string): Error {
  return codedError('BAD_OPTION', message);
}

function checkUint(name: string, v: number | undefined, bits: 8 | 16 | 32): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw badOption(`${name} must be an integer from 0 to ${2 ** bits - 1}, not ${v}`);
}

/** The options that decide the layout, not the content. */
type Layout = Pick<ImageOptions, 'securityCredentialVersion' | 'upgradeFileDestination' | 'minHardwareVersion' | 'integrityCode'>;

function headerLength(o: Layout): number {
  let n = FIXED_HEADER_LENGTH;
  if (o.securityCredentialVersion !== undefined) n += 1;
  if (o.upgradeFileDestination !== undefined) n += 8;
  if (o.minHardwareVersion !== undefined) n += 4;
  return n;
}

/** Bytes of everything but the payload: the smallest size a file with these options can have. */
function imageOverhead(o: Layout): number {
  return headerLength(o) + SUB_ELEMENT_HEADER + (o.integrityCode === false ? 0 : SUB_ELEMENT_HEADER + INTEGRITY_CODE_LENGTH);
}

/** The header string field: the text, then the mark of an integrity code where there is one. */
function headerStringBytes(text: string, integrityCode: boolean): Uint8Array {
  // The mark is chub's claim; text that ended in it would make that claim for a file without a code.
  if (text.endsWith(CHUB_MARK)) throw badOption(`the header string may not end in "${CHUB_MARK}": chub image make adds it to files with an Image Integrity Code`);
  const b = Buffer.from(integrityCode ? (text ? `${text} ${CHUB_MARK}` : CHUB_MARK) : text, 'utf8');
  if (b.length > HEADER_STRING_LENGTH) {
    const room = integrityCode ? `${HEADER_TEXT_LENGTH} beside " ${CHUB_MARK}"` : HEADER_STRING_LENGTH;
    throw badOption(`header string is ${Buffer.byteLength(text)} bytes; the field holds ${room}`);
  }
  const out = new Uint8Array(HEADER_STRING_LENGTH);
  out.set(b);
  return out;
}

function validate(o: ImageOptions): void {
  checkUint('manufacturer code', o.manufacturerCode, 16);
  checkUint('image type', o.imageType, 16);
  checkUint('file version', o.fileVersion, 32);
  checkUint('ZigBee stack version', o.zigbeeStackVersion, 16);
  checkUint('security credential version', o.securityCredentialVersion, 8);
  checkUint('minimum hardware version', o.minHardwareVersion, 16);
  checkUint('maximum hardware version', o.maxHardwareVersion, 16);
  checkUint('seed', o.seed, 32);
  if ((o.minHardwareVersion === undefined) !== (o.maxHardwareVersion === undefined))
    throw badOption('give both the minimum and the maximum hardware version, or neither');
  if (o.minHardwareVersion !== undefined && o.minHardwareVersion > o.maxHardwareVersion!)
    throw badOption(`minimum hardware version ${hex(o.minHardwareVersion, 4)} is above the maximum ${hex(o.maxHardwareVersion!, 4)}`);
  if (o.upgradeFileDestination !== undefined && normaliseEui(o.upgradeFileDestination) === null)
    throw badOption(`upgrade file destination must be an EUI-64 (16 hex digits), not "${o.upgradeFileDestination}"`);
  checkUint('size', o.size, 32);
  const min = imageOverhead(o);
  if (o.size < min) throw badOption(`size ${o.size} is too small: the header and sub-element framing alone take ${min} bytes`);
}

/** mulberry32: a tiny seeded PRNG, enough for reproducible filler (not for anything secret). */
function pseudoRandomBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let a = seed >>> 0;
  for (let i = 0; i < n; i += 4) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    t = (t ^ (t >>> 14)) >>> 0;
    for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (t >>> (8 * k)) & 0xff;
  }
  return out;
}

export function buildImage(o: ImageOptions): Uint8Array {
  validate(o);
  const integrityCode = o.integrityCode !== false;
  const payloadLength = o.size - imageOverhead(o);
  const w = new ByteWriter(o.size);
  let fieldControl = 0;
  if (o.securityCredentialVersion !== undefined) fieldControl |= FC_SECURITY_CREDENTIAL;
  if (o.upgradeFileDestination !== undefined) fieldControl |= FC_DEVICE_SPECIFIC;
  if (o.minHardwareVersion !== undefined) fieldControl |= FC_HARDWARE_VERSIONS;
  w.u32(OTA_MAGIC).u16(HEADER_VERSION).u16(headerLength(o)).u16(fieldControl);
  w.u16(o.manufacturerCode).u16(o.imageType).u32(o.fileVersion).u16(o.zigbeeStackVersion ?? STACK_ZIGBEE_PRO);
  w.bytes(headerStringBytes(o.headerString ?? DEFAULT_HEADER_STRING, integrityCode)).u32(o.size);
  if (o.securityCredentialVersion !== undefined) w.u8(o.securityCredentialVersion);
  if (o.upgradeFileDestination !== undefined) w.eui64(o.upgradeFileDestination);
  if (o.minHardwareVersion !== undefined) w.u16(o.minHardwareVersion).u16(o.maxHardwareVersion!);
  w.u16(TAG_UPGRADE_IMAGE).u32(payloadLength).bytes(pseudoRandomBytes(o.seed, payloadLength));
  if (integrityCode) {
    const code = aesMmo(w.done()); // everything before the integrity code's own tag
    w.u16(TAG_INTEGRITY_CODE).u32(INTEGRITY_CODE_LENGTH).bytes(code);
  }
  return w.done();
}
