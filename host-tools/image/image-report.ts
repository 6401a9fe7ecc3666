// Whether an OTA file can be served, and why not: the one verdict `chub image inspect` shows and
// `chub upload` (with distribute --stream and campaigns) acts on. A JSON-able report built from the header
// parse, the Image Integrity Code check and the GBCS signature, and the same report as text for people.
import { createHash, KeyObject } from 'node:crypto';
import { hex } from '../../firmware/core/bytes';
import {
  HeaderErrorCode,
  HeaderResult,
  OtaHeader,
  TAG_ECDSA_CERTIFICATE,
  TAG_ECDSA_SIGNATURE,
  TAG_INTEGRITY_CODE,
  TAG_UPGRADE_IMAGE,
} from '../../firmware/core/image-header';
import { table } from '../format';
import { integrityProblem, IntegrityState, integrityState } from './image-integrity';
import { gbcsTrailer, SignatureState, signatureState } from './image-signature';

/** Sub-element tags (OTA spec 095264r23 §6.4, FACTS §2). */
const TAG_NAMES: Record<number, string> = {
  [TAG_UPGRADE_IMAGE]: 'upgrade image',
  [TAG_ECDSA_SIGNATURE]: 'ECDSA signature',
  [TAG_ECDSA_CERTIFICATE]: 'ECDSA signing certificate',
  [TAG_INTEGRITY_CODE]: 'image integrity code',
  0x0005: 'ECDSA signature (crypto suite 2)',
  0x0006: 'ECDSA signing certificate (crypto suite 2)',
};
/** Tags 0xF000–0xFFFF belong to manufacturers (OTA spec §6.4). */
const FIRST_MANUFACTURER_TAG = 0xf000;

function subElementName(tag: number): string {
  return TAG_NAMES[tag] ?? (tag >= FIRST_MANUFACTURER_TAG ? 'manufacturer specific' : 'reserved');
}

/** ZigBee stack version field (OTA spec §6.3.8). */
const STACK_NAMES: Record<number, string> = { 0: 'ZigBee 2006', 1: 'ZigBee 2007', 2: 'ZigBee PRO', 3: 'ZigBee IP' };

const INTEGRITY_NAMES: Record<IntegrityState, string> = {
  ok: 'ok (AES-MMO)',
  mismatch: 'MISMATCH',
  'wrong-length': 'WRONG LENGTH',
  absent: 'none',
  lost: 'LOST',
};

const SIGNATURE_NAMES: Record<SignatureState, string> = {
  absent: 'none',
  unverified: 'present, not checked (give --pub)',
  valid: 'valid (ECDSA P-256)',
  invalid: 'INVALID',
};

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
  /** The Image Integrity Code (image-integrity.ts); absent when the header could not be parsed. */
  integrity?: IntegrityState;
  /** The GBCS signature after the OTA file (image-signature.ts), checked when a key was given. */
  signature?: SignatureState;
  /** The ForceReplace byte of a signed file. */
  forceReplace?: number;
  /** SHA-256 of the OTA file (hex): what the hub serves, and what `chub distribute --sha256` names. */
  sha256?: string;
  warnings: string[];
}

/** Why a file whose signature is in this state must not be served when a key was given to check it, or null. */
function signatureProblem(s: SignatureState, pub: KeyObject | undefined): string | null {
  if (pub && s === 'absent') return 'it carries no GBCS signature to check with the public key given';
  return s === 'invalid' ? 'its GBCS signature does not verify with the public key given' : null;
}

/** The report on `file`, given its header parse; with `pub`, its signature is checked and must be valid. */
export function imageReport(result: HeaderResult, file: Uint8Array, pub?: KeyObject): ImageReport {
  if (!result.ok) {
    return { servable: false, problems: [`${result.code}: ${result.message}`], error: { code: result.code, message: result.message }, subElements: [], warnings: [] };
  }
  const { subElements, warnings, minHardwareVersion: min, maxHardwareVersion: max, ...fields } = result.header;
  const integrity = integrityState(file, result.header);
  // A code that does not match means a damaged file: every client that checks would reject it after the transfer.
  const signature = signatureState(file, result.header, pub);
  const trailer = gbcsTrailer(file, result.header);
  const problems = [integrityProblem(integrity), signatureProblem(signature, pub)].filter((p): p is string => p !== null);
  const ota = file.subarray(fields.start, fields.start + fields.totalImageSize);
  return {
    servable: problems.length === 0,
    problems,
    header: { ...fields, ...(min !== undefined && max !== undefined ? { hardwareVersions: { min, max } } : {}) },
    subElements: subElements.map((s) => ({ tag: s.tag, name: subElementName(s.tag), offset: s.offset, length: s.length })),
    integrity,
    signature,
    ...(trailer ? { forceReplace: trailer.forceReplace } : {}),
    sha256: createHash('sha256').update(ota).digest('hex'),
    // A signature's bytes after the OTA file are expected, not stray.
    warnings: trailer ? warnings.filter((w) => !/trailing bytes after the declared image size/.test(w)) : warnings,
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

/** The report as lines of text: verdict, header fields (codes in hex), sub-elements, integrity code, warnings. */
export function reportLines(r: ImageReport): string[] {
  const lines = [r.servable ? 'servable' : `NOT servable: ${r.problems.join('; ')}`];
  if (r.header) {
    lines.push(...table(['FIELD', 'VALUE'], headerRows(r.header)).split('\n'));
    lines.push('', ...table(['TAG', 'SUB-ELEMENT', 'DATA OFFSET', 'LENGTH'], r.subElements.map((s) => [hex(s.tag, 4), s.name, String(s.offset), String(s.length)])).split('\n'));
    lines.push('', `integrity code: ${INTEGRITY_NAMES[r.integrity!]}`);
    const force = r.forceReplace === undefined ? '' : `, ForceReplace ${r.forceReplace}`;
    lines.push(`GBCS signature: ${SIGNATURE_NAMES[r.signature!]}${force}`);
    lines.push(`sha256 of the OTA file: ${r.sha256}`);
  }
  if (r.warnings.length) lines.push('', 'warnings:', ...r.warnings.map((w) => `  - ${w}`));
  return lines;
}
