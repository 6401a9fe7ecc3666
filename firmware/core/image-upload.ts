// Uploads into the hub's image store (img.begin / img.data / img.end, docs/host-link.md): resumable,
// then a whole-file CRC-32 check and an OTA header check (checkHeader) before the image is servable. Given to
// the hub only where images are stored: a streamed board's bundle holds neither this nor the header check.
import { Err, Op } from './codes';
import { Hub, I, K } from './hub';
import { checkHeader, Ota } from './ota-fixed-header';
import { ImageStore } from '../ports/image-store';
import { Item, w } from './wire';


/** One upload request; the catalog is saved after a begin and any end, and during the data each time it
 *  crosses a multiple of uploadCheckpointBytes, so an interrupted upload resumes near where it stopped. */
export function uploads(h: Hub, op: number, a: Item[]): void {
  const store = h.p.images as ImageStore;
  const name = h.arg(a, 0, 1);
  let g = h.img(name, 0);
  const im = h.im;
  const o = g * I.W;
  if (op === Op.ImgBegin) {
    const size = h.arg(a, 1, 0);
    const crc = h.arg(a, 2, 0) >>> 0;
    h.named(name, size);
    if (g >= 0 && im[o + I.Streamed] === 1) h.no(Err.EXISTS, 1);
    let next = 0;
    if (g >= 0 && im[o + I.Size] === size && im[o + I.Crc] === crc) next = im[o + I.Complete] === 1 ? size : im[o + I.Next];
    else {
      if (g >= 0 && im[o + I.Complete] === 1) h.no(Err.EXISTS, 2);
      const fresh = g < 0;
      if (fresh) g = h.newImg(name);
      const free = store.create(name, size);
      if (free >= 0) {
        // Refused: a row taken for it is given back; an earlier upload under the name stays as it was.
        if (fresh) im[g * I.W + I.Size] = 0;
        h.no(Err.STORE_FULL, size, free);
      }
      const r = g * I.W;
      im.fill(-1, r, r + I.W);
      im[r + I.Size] = size;
      im[r + I.Crc] = crc;
      im[r + I.Complete] = 0;
      im[r + I.Next] = 0;
      h.save(1);
    }
    h.ok(a);
    w(next);
    return;
  }
  if (g < 0 || (op === Op.ImgData && im[o + I.Complete] === 1)) return h.no(Err.NO_UPLOAD);
  const size = im[o + I.Size];
  if (op === Op.ImgData) {
    const off = h.arg(a, 1, 0);
    const d: Uint8Array = h.arg(a, 2, 2);
    if (off !== im[o + I.Next]) h.no(Err.OUT_OF_ORDER, im[o + I.Next]);
    if (off + d.length > size) h.no(Err.TOO_LONG, size);
    store.write(name, off, d);
    im[o + I.Next] = off + d.length;
    const cp = h.k[K.Checkpoint];
    if (Math.floor(im[o + I.Next] / cp) > Math.floor(off / cp)) h.save(1);
    h.ok(a);
    w(im[o + I.Next]);
    return;
  }
  // img.end: verify the whole file, then the OTA header; a bad image is discarded for good.
  if (im[o + I.Complete] !== 1) {
    if (im[o + I.Next] !== size) h.no(Err.INCOMPLETE, im[o + I.Next], size);
    const crc = store.crc32(name, size) >>> 0;
    if (crc !== im[o + I.Crc]) {
      h.discard(g);
      h.no(Err.CRC_MISMATCH, crc, im[o + I.Crc]);
    }
    // The header's fields go straight into the image row (I.Mfr..I.MaxHw); the reason is 0 when the file
    // does not start with the OTA magic, else 1, then checkHeader's code (docs/host-link.md).
    const c = checkHeader(store.read(name, 0, Ota.Max), size, im, o + I.Mfr);
    if (c) {
      h.discard(g);
      h.no(Err.BAD_IMAGE, c > 1 ? 1 : 0, c);
    }
    im[o + I.Complete] = 1;
    h.save(1);
  }
  h.ok(a);
  h.rec(1, g);
}
