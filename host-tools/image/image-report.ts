// What `chub image inspect` says about an OTA file: a JSON-able report built from the header parse and
// digest check, and the same report as text for people.
import { hex } from '../../firmware/core/bytes';
import {
  HeaderErrorCode,
  HeaderResult,
  OtaHeader,
  TAG_CHUB_CRC32,
  TAG_CHUB_SHA256,
  TAG_ECDSA_CERTIFICATE,
  TAG_ECDSA_SIGNATURE,
  TAG_INTEGRITY_CODE,
  TAG_UPGRADE_IMAGE,
} from '../../firmware/core/image-header';
import { table } from '../format';
import { DigestCheck, DigestKind } from './image-builder';

/** Sub-element tags (OTA spec 095264r23 §6.4, FACTS §2) and the project's own (image-header.ts). */
const TAG_NAMES: Record<number, string> = {
  [TAG_UPGRADE_IMAGE]: 'upgrade image',
  [TAG_ECDSA_SIGNATURE]: 'ECDSA signature',
  [TAG_ECDSA_CERTIFICATE]: 'ECDSA signing certificate',
  [TAG_INTEGRITY_CODE]: 'image integrity code',
  0x0005: 'ECDSA signature (crypto suite 2)',
  0x0006: 'ECDSA signing certificate (crypto suite 2)',
  [TAG_CHUB_SHA256]: 'chub SHA-256',
  [TAG_CHUB_CRC32]: 'chub CRC-32',
};
/** Tags 0xF000–0xFFFF belong to manufacturers (OTA spec §6.4). */
const FIRST_MANUFACTURER_TAG = 0xf000;

function subElementName(tag: number): string {
  return TAG_NAMES[tag] ?? (tag >= FIRST_MANUFACTURER_TAG ? 'manufacturer specific' : 'reserved');
}

/** ZigBee stack version field (OTA spec §6.3.8). */
const STACK_NAMES: Record<number, string> = { 0: 'ZigBee 2006', 1: 'ZigBee 2007', 2: 'ZigBee PRO', 3: 'ZigBee IP' };

const DIGEST_NAMES: Record<DigestKind, string> = { sha256: 'SHA-256', crc32: 'CRC-32' };

export interface ImageReport {
  servable: boolean;
  /** Why the file cannot be served; empty when it can. */
  problems: string[];
  /** Set when the header could not be parsed. */
  error?: { code: HeaderErrorCode; message: string };
  /** The parsed header without its sub-elements and warnings (listed apart), hardware range as one field. */
  header?: Omit<OtaHeader, 'subElements' | 'warnings' | 'minHardwareVersion' | 'maxHardwareVersion'> & { hardwareVersions?: { min: number; max: number } };
  /** `offset` is where the sub-element's data starts in the OTA file, after its 6-byte tag and length. */
  subElements: { tag: number; name: string; offset: number; length: number }[];
  digests: DigestCheck;
  warnings: string[];
}

export function imageReport(result: HeaderResult, digests: DigestCheck = {}): ImageReport {
  if (!result.ok) {
    return { servable: false, problems: [`${result.code}: ${result.message}`], error: { code: result.code, message: result.message }, subElements: [], digests: {}, warnings: [] };
  }
  const { subElements, warnings, minHardwareVersion: min, maxHardwareVersion: max, ...fields } = result.header;
  // A digest that does not match means a corrupt file: every client would reject it after the transfer.
  const problems = (Object.keys(digests) as DigestKind[]).filter((k) => !digests[k]).map((k) => `the chub ${DIGEST_NAMES[k]} digest does not match the file`);
  return {
    servable: problems.length === 0,
    problems,
    header: { ...fields, ...(min !== undefined && max !== undefined ? { hardwareVersions: { min, max } } : {}) },
    subElements: subElements.map((s) => ({ tag: s.tag, name: subElementName(s.tag), offset: s.offset, length: s.length })),
    digests,
    warnings,
  };
}

function headerRows(h: NonNullable<ImageReport['header']>): string[][] {
  const rows = [
    ['manufacturer', hex(h.manufacturerCode, 4)],
    ['image type', hex(h.imageType, 4)],
    ['file version', hex(h.fileVersion, 8)],
    ['stack version', `${hex(h.zigbeeStackVersion, 4)} (${STACK_NAMES[h.zigbeeStackVersion] ?? 'unknown'})`],
    ['header string', JSON.stringify(h.headerString)],
    ['header', `version ${hex(h.headerVersion, 4)}, ${h.headerLength} bytes, field control ${hex(h.fieldControl, 4)}`],
    ['total size', `${h.totalImageSize} bytes${h.start > 0 ? ` from offset ${h.start}` : ''}`],
    ['hardware versions', h.hardwareVersions ? `${hex(h.hardwareVersions.min, 4)}-${hex(h.hardwareVersions.max, 4)}` : 'any'],
  ];
  if (h.securityCredentialVersion !== undefined) rows.push(['security credential', hex(h.securityCredentialVersion, 2)]);
  if (h.upgradeFileDestination !== undefined) rows.push(['destination', h.upgradeFileDestination]);
  return rows;
}

/** The report as lines of text: verdict, header fields (codes in hex), sub-elements, digests, warnings. */
export function reportLines(r: ImageReport): string[] {
  const lines = [r.servable ? 'servable' : `NOT servable: ${r.problems.join('; ')}`];
  if (r.header) {
    lines.push(...table(['FIELD', 'VALUE'], headerRows(r.header)).split('\n'));
    lines.push('', ...table(['TAG', 'SUB-ELEMENT', 'DATA OFFSET', 'LENGTH'], r.subElements.map((s) => [hex(s.tag, 4), s.name, String(s.offset), String(s.length)])).split('\n'));
    const digests = (Object.keys(r.digests) as DigestKind[]).map((k) => `${DIGEST_NAMES[k]} ${r.digests[k] ? 'ok' : 'MISMATCH'}`);
    lines.push('', `digests: ${digests.length ? digests.join(', ') : 'none'}`);
  }
  if (r.warnings.length) lines.push('', 'warnings:', ...r.warnings.map((w) => `  - ${w}`));
  return lines;
}
