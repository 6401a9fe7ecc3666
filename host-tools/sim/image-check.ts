// What a simulated OTA client checks before it accepts a downloaded image: the header names the image it
// asked for and fits its hardware, and the project's digest sub-element matches the bytes before it.
import { createHash } from 'crypto';
import { crc32 } from 'zlib';
import { bytesSource, findSubElement, hardwareInRange, parseImageHeader, TAG_CHUB_CRC32, TAG_CHUB_SHA256 } from '../../firmware/core/image-header';
import { ImageId } from '../../firmware/core/zcl-ota';

export type DigestKind = 'sha256' | 'crc32';

/** Sub-element tag/length header: tag u16 + length u32 (OTA spec §6.4). */
const SUB_ELEMENT_HEADER = 6;

function digest(kind: DigestKind, data: Uint8Array): Buffer {
  if (kind === 'sha256') return createHash('sha256').update(data).digest();
  const b = Buffer.alloc(4);
  b.writeUInt32LE(crc32(data), 0); // zlib CRC-32, little-endian like every other OTA field
  return b;
}

/** null if the image is good, else why not. */
export function checkImage(image: Uint8Array, expect: ImageId & { hardwareVersion?: number }, kind: DigestKind): string | null {
  const r = parseImageHeader(bytesSource(image));
  if (!r.ok) return 'header: ' + r.message;
  const h = r.header;
  if (h.manufacturerCode !== expect.manufacturerCode || h.imageType !== expect.imageType || h.fileVersion !== expect.fileVersion)
    return 'header names another image';
  if (!hardwareInRange(h.minHardwareVersion, h.maxHardwareVersion, expect.hardwareVersion)) return 'hardware version out of range';
  const tag = kind === 'sha256' ? TAG_CHUB_SHA256 : TAG_CHUB_CRC32;
  const sub = findSubElement(h, tag);
  if (!sub) return 'no ' + kind + ' sub-element';
  const covered = image.subarray(h.start, h.start + sub.offset - SUB_ELEMENT_HEADER);
  const want = digest(kind, covered);
  const have = image.subarray(h.start + sub.offset, h.start + sub.offset + sub.length);
  if (!want.equals(have)) return kind + ' digest mismatch';
  return null;
}
