// What a simulated OTA client checks before it accepts a downloaded image: the header names the image it
// asked for and fits its hardware, and the project's digest sub-element matches the bytes before it
// (the one digest rule, image-builder.ts digestCheck).
import { bytesSource, hardwareInRange, parseImageHeader } from '../../firmware/core/image-header';
import { ImageId } from '../../firmware/core/zcl-ota';
import { digestCheck, DigestKind } from '../image/image-builder';

export type { DigestKind };

/** null if the image is good, else why not. */
export function checkImage(image: Uint8Array, expect: ImageId & { hardwareVersion?: number }, kind: DigestKind): string | null {
  const r = parseImageHeader(bytesSource(image));
  if (!r.ok) return 'header: ' + r.message;
  const h = r.header;
  if (h.manufacturerCode !== expect.manufacturerCode || h.imageType !== expect.imageType || h.fileVersion !== expect.fileVersion)
    return 'header names another image';
  if (!hardwareInRange(h.minHardwareVersion, h.maxHardwareVersion, expect.hardwareVersion)) return 'hardware version out of range';
  const ok = digestCheck(image, h)[kind];
  if (ok === undefined) return 'no ' + kind + ' sub-element';
  return ok ? null : kind + ' digest mismatch';
}
