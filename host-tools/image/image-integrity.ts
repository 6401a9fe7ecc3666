// The one digest the project writes into OTA files and checks in them: the OTA spec's own Image Integrity
// Code sub-element (tag 0x0003; ZCL rev 7, 07-5123 §11.4.8, the sub-element of OTA spec 095264r23, FACTS §2).
// Its content is fixed by the spec: the 16-byte AES-MMO hash (ZigBee spec 05-3474 §B.6; ZCL §11.7.2.1) of the
// file from its magic up to the start of that sub-element's tag. Any file that carries one means exactly that, so checking
// it never misreads a vendor's data; tags 0xF000–0xFFFF are the vendors' and are never read as ours.
// Other digests go beside the file, not in it: its CRC-32 in img.begin (the hub checks it at img.end), and a
// SHA-256 that a GBCS command names belongs in the job.
import { createCipheriv } from 'node:crypto';
import { findSubElement, OtaHeader, TAG_INTEGRITY_CODE } from '../../firmware/core/image-header';

/** AES-MMO output: one AES-128 block. */
export const INTEGRITY_CODE_LENGTH = 16;

/**
 * Ends the header string of every file `chub image make` writes with an integrity code. The sub-element
 * itself cannot say it is missing: when framing breaks (a length field damaged, an element cut out) it just
 * vanishes. The header string sits at a fixed offset, outside any framing, so the claim survives such damage
 * and a file that makes it without a matching code is reported damaged.
 */
export const CHUB_MARK = '[chub]';

/** Sub-element tag u16 + length u32 (FACTS §2). */
const SUB_ELEMENT_HEADER = 6;
const BLOCK = 16;
/** From 2^16 bits (8 KiB) on, the padding carries a 32-bit length and 16 zero bits instead of a 16-bit length (§B.6). */
const LONG_MESSAGE = 8192;

/** AES-MMO hash (Matyas-Meyer-Oseas over AES-128, ZigBee spec 05-3474 §B.6) of a message under 512 MiB. */
export function aesMmo(data: Uint8Array): Uint8Array {
  const whole = data.length - (data.length % BLOCK);
  // The last partial block, the 1 bit, zero fill and the bit length: one or two more blocks.
  const lengthBytes = data.length < LONG_MESSAGE ? 2 : 6;
  const tail = Buffer.alloc(data.length - whole + 1 + lengthBytes <= BLOCK ? BLOCK : 2 * BLOCK);
  tail.set(data.subarray(whole));
  tail[data.length - whole] = 0x80;
  if (lengthBytes === 2) tail.writeUInt16BE(data.length * 8, tail.length - 2);
  else tail.writeUInt32BE(data.length * 8, tail.length - 6);
  let h = Buffer.alloc(BLOCK); // Hash0: all zero
  const step = (m: Uint8Array) => {
    // Hash_j = E(Hash_j-1, M_j) xor M_j: the previous hash is the key, so each block needs its own cipher.
    const e = createCipheriv('aes-128-ecb', h, null).setAutoPadding(false).update(m);
    for (let i = 0; i < BLOCK; i++) e[i] ^= m[i];
    h = e;
  };
  for (let off = 0; off < whole; off += BLOCK) step(data.subarray(off, off + BLOCK));
  for (let off = 0; off < tail.length; off += BLOCK) step(tail.subarray(off, off + BLOCK));
  return new Uint8Array(h);
}

/**
 * ok / mismatch / wrong-length: the file has an Image Integrity Code and it matches, does not, or is no
 * AES-MMO hash at all; absent: it has none and does not claim one (most vendor files);
 * lost: it has none but its header string carries CHUB_MARK.
 */
export type IntegrityState = 'ok' | 'mismatch' | 'wrong-length' | 'absent' | 'lost';

/** The state of `file`'s Image Integrity Code; the first sub-element with the tag counts. */
export function integrityState(file: Uint8Array, h: OtaHeader): IntegrityState {
  const sub = findSubElement(h, TAG_INTEGRITY_CODE);
  if (!sub) return h.headerString.endsWith(CHUB_MARK) ? 'lost' : 'absent';
  if (sub.length !== INTEGRITY_CODE_LENGTH) return 'wrong-length';
  const have = file.subarray(h.start + sub.offset, h.start + sub.offset + sub.length);
  const want = aesMmo(file.subarray(h.start, h.start + sub.offset - SUB_ELEMENT_HEADER));
  return Buffer.from(want).equals(have) ? 'ok' : 'mismatch';
}

/** Why a file in this state must not be served (every client that checks would refuse it), or null. */
export function integrityProblem(s: IntegrityState): string | null {
  switch (s) {
    case 'mismatch':
      return 'the Image Integrity Code (AES-MMO) does not match the file';
    case 'wrong-length':
      return `the Image Integrity Code is not ${INTEGRITY_CODE_LENGTH} bytes, the length of an AES-MMO hash`;
    case 'lost':
      return `damaged: its header string ends "${CHUB_MARK}" (written by chub image make with an Image Integrity Code), but the file holds no Image Integrity Code sub-element`;
    default:
      return null;
  }
}
