// Builds ZigBee OTA upgrade files for tests and benches (the project never ships vendor files), and
// checks the project's digest sub-elements in them.
// Layout (OTA spec 095264r23 §6.3–6.4, FACTS §2): header | 0x0000 upgrade image | digest sub-elements.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ByteWriter, codedError, hex, normaliseEui } from '../../firmware/core/bytes';
import {
  FC_DEVICE_SPECIFIC,
  FC_HARDWARE_VERSIONS,
  FC_SECURITY_CREDENTIAL,
  findSubElement,
  FIXED_HEADER_LENGTH,
  HEADER_VERSION,
  OTA_MAGIC,
  OtaHeader,
  TAG_CHUB_CRC32,
  TAG_CHUB_SHA256,
  TAG_UPGRADE_IMAGE,
} from '../../firmware/core/image-header';

/** ZigBee stack version field values (OTA spec §6.3.8): 0 ZigBee 2006, 1 ZigBee 2007, 2 ZigBee PRO, 3 ZigBee IP. */
const STACK_ZIGBEE_PRO = 2;
const DEFAULT_HEADER_STRING = 'chub test image';
/** The header string field is 32 bytes, NUL-padded (OTA spec §6.3.9). */
const HEADER_STRING_LENGTH = 32;
/** Sub-element tag u16 + length u32 (OTA spec §6.4). */
const SUB_ELEMENT_HEADER = 6;

export type DigestKind = 'sha256' | 'crc32';
export type DigestChoice = DigestKind | 'both' | 'none';

export interface ImageOptions {
  manufacturerCode: number;
  imageType: number;
  fileVersion: number;
  zigbeeStackVersion?: number;
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
  digest?: DigestChoice;
}

/** Digest sub-elements in file order; with both, the CRC-32 also covers the SHA-256 sub-element. */
const DIGESTS: { kind: DigestKind; tag: number; length: number }[] = [
  { kind: 'sha256', tag: TAG_CHUB_SHA256, length: 32 },
  { kind: 'crc32', tag: TAG_CHUB_CRC32, length: 4 },
];

function digestsFor(choice: DigestChoice): typeof DIGESTS {
  if (choice === 'both') return DIGESTS;
  if (choice === 'none') return [];
  const d = DIGESTS.filter((x) => x.kind === choice);
  if (d.length === 0) throw badOption(`digest must be sha256, crc32, both or none, not "${choice}"`);
  return d;
}

function digestOf(kind: DigestKind, data: Uint8Array): Uint8Array {
  if (kind === 'sha256') return createHash('sha256').update(data).digest();
  return new ByteWriter(4).u32(crc32(data)).done(); // zlib CRC-32, little-endian like every OTA field
}

function badOption(message: string): Error {
  return codedError('BAD_OPTION', message);
}

function checkUint(name: string, v: number | undefined, bits: 8 | 16 | 32): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 0 || v >= 2 ** bits) throw badOption(`${name} must be an integer from 0 to ${2 ** bits - 1}, not ${v}`);
}

/** The options that decide the layout, not the content. */
type Layout = Pick<ImageOptions, 'securityCredentialVersion' | 'upgradeFileDestination' | 'minHardwareVersion' | 'digest'>;

function headerLength(o: Layout): number {
  let n = FIXED_HEADER_LENGTH;
  if (o.securityCredentialVersion !== undefined) n += 1;
  if (o.upgradeFileDestination !== undefined) n += 8;
  if (o.minHardwareVersion !== undefined) n += 4;
  return n;
}

/** Bytes of everything but the payload: the smallest size a file with these options can have. */
function imageOverhead(o: Layout): number {
  return headerLength(o) + SUB_ELEMENT_HEADER + digestsFor(o.digest ?? 'both').reduce((n, d) => n + SUB_ELEMENT_HEADER + d.length, 0);
}

function headerStringBytes(s: string): Uint8Array {
  const b = Buffer.from(s, 'utf8');
  if (b.length > HEADER_STRING_LENGTH) throw badOption(`header string is ${b.length} bytes; the field holds ${HEADER_STRING_LENGTH}`);
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
  const digests = digestsFor(o.digest ?? 'both');
  const payloadLength = o.size - imageOverhead(o);
  const w = new ByteWriter(o.size);
  let fieldControl = 0;
  if (o.securityCredentialVersion !== undefined) fieldControl |= FC_SECURITY_CREDENTIAL;
  if (o.upgradeFileDestination !== undefined) fieldControl |= FC_DEVICE_SPECIFIC;
  if (o.minHardwareVersion !== undefined) fieldControl |= FC_HARDWARE_VERSIONS;
  w.u32(OTA_MAGIC).u16(HEADER_VERSION).u16(headerLength(o)).u16(fieldControl);
  w.u16(o.manufacturerCode).u16(o.imageType).u32(o.fileVersion).u16(o.zigbeeStackVersion ?? STACK_ZIGBEE_PRO);
  w.bytes(headerStringBytes(o.headerString ?? DEFAULT_HEADER_STRING)).u32(o.size);
  if (o.securityCredentialVersion !== undefined) w.u8(o.securityCredentialVersion);
  if (o.upgradeFileDestination !== undefined) w.eui64(o.upgradeFileDestination);
  if (o.minHardwareVersion !== undefined) w.u16(o.minHardwareVersion).u16(o.maxHardwareVersion!);
  w.u16(TAG_UPGRADE_IMAGE).u32(payloadLength).bytes(pseudoRandomBytes(o.seed, payloadLength));
  for (const d of digests) {
    const covered = digestOf(d.kind, w.done()); // everything before this sub-element's own tag
    w.u16(d.tag).u32(d.length).bytes(covered);
  }
  return w.done();
}

export type DigestCheck = { [K in DigestKind]?: boolean };

/**
 * The one rule for the project's digest sub-elements, used by the simulated clients and `image inspect`:
 * each digest covers the OTA file (from its magic) up to the start of that sub-element's tag.
 * A kind is absent from the result when the file has no sub-element for it; the first one of a tag counts.
 */
export function digestCheck(file: Uint8Array, h: OtaHeader): DigestCheck {
  const out: DigestCheck = {};
  for (const d of DIGESTS) {
    const sub = findSubElement(h, d.tag);
    if (!sub) continue;
    const have = file.subarray(h.start + sub.offset, h.start + sub.offset + sub.length);
    const want = digestOf(d.kind, file.subarray(h.start, h.start + sub.offset - SUB_ELEMENT_HEADER));
    out[d.kind] = Buffer.from(want).equals(have);
  }
  return out;
}
