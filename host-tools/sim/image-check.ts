// What a simulated OTA client checks before it accepts a downloaded image: the header names the image it
// asked for and fits its hardware and, for a client that validates it, the Image Integrity Code matches
// (image-integrity.ts: the rule `image inspect` and `chub upload` apply too).
import { bytesSource, hardwareInRange, parseImageHeader } from '../../firmware/core/image-header';
import { ImageId } from '../../firmware/core/zcl-ota';
import { integrityState } from '../image/image-integrity';

/** integrity-code: the header, and a matching Image Integrity Code (stacks with integrity validation on);
 *  header: the header alone (stacks that leave the image to their bootloader). */
export type ImageCheck = 'integrity-code' | 'header';

/** null if the image is good, else why not. */
export function checkImage(image: Uint8Array, expect: ImageId & { hardwareVersion?: number }, check: ImageCheck): string | null {
  const r = parseImageHeader(bytesSource(image));
  if (!r.ok) return 'header: ' + r.message;
  const h = r.header;
  if (h.manufacturerCode !== expect.manufacturerCode || h.imageType !== expect.imageType || h.fileVersion !== expect.fileVersion)
    return 'header names another image';
  if (!hardwareInRange(h.minHardwareVersion, h.maxHardwareVersion, expect.hardwareVersion)) return 'hardware version out of range';
  if (check === 'header') return null;
  const s = integrityState(image, h);
  if (s === 'ok') return null;
  return s === 'absent' || s === 'lost' ? 'no Image Integrity Code' : 'Image Integrity Code ' + s;
}
