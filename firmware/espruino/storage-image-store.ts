// ImageStore on Espruino Storage (flash). Each image is one contiguous Storage file, allocated whole
// when the upload begins and filled in order; reads are memory-mapped ranges on a board, so serving a
// block never copies the image into RAM. Where flash is not memory-mapped (the Linux interpreter's
// file-backed Storage) a read is a flash string, one JsVar whose bytes are fetched as they are used
// (measured on espruino-2500: E.getSizeOf(Storage.read of a 28 KB file) is 1), so the whole-file CRC is
// one native E.CRC32 over one read: 28 KB in ~10 ms there, where CRCs of 1 KB pieces combined in
// JavaScript took ~1.5 s.
import { codedError } from '../core/bytes';
import { ImageStore } from '../ports/image-store';
import { storage } from './modules';

/** Image file prefix: image names are at most 24 characters, Storage names at most 28. */
export const IMAGE_PREFIX = 'img:';
/** Storage's per-file header (size u32 + 28-byte name), plus alignment slack. */
const FILE_OVERHEAD = 40;

export class StorageImageStore implements ImageStore {
  private storage = storage();
  /** Sizes of files allocated in this session and not yet written at offset 0 (see write()). */
  private allocated: { [name: string]: number } = {};

  create(name: string, size: number): void {
    const s = this.storage;
    const file = IMAGE_PREFIX + name;
    if (s.read(file, 0, 1) !== undefined) s.erase(file);
    const need = size + FILE_OVERHEAD;
    if (s.getFree() < need) {
      const st = s.getStats();
      if (st.freeBytes + st.trashBytes < need) throw full(name, size, st.freeBytes + st.trashBytes);
      s.compact(); // reclaims erased files; slow, but only when an upload would not fit otherwise
      if (s.getFree() < need) throw full(name, size, s.getFree());
    }
    try {
      // An empty first write with a size allocates the whole (erased) file.
      s.write(file, '', 0, size);
    } catch (e) {
      throw full(name, size, s.getFree());
    }
    this.allocated[name] = size;
  }

  write(name: string, offset: number, data: Uint8Array): void {
    const s = this.storage;
    const file = IMAGE_PREFIX + name;
    if (offset === 0) {
      // Storage treats a write at offset 0 as "create": it keeps the allocation only when the size matches.
      let size = this.allocated[name];
      if (size === undefined) {
        const whole = s.read(file); // after a reset: the allocated length (memory-mapped on a board)
        if (whole === undefined) throw codedError('NO_UPLOAD', 'image ' + name + ' has no allocated file');
        size = whole.length;
      }
      delete this.allocated[name];
      s.write(file, data, 0, size);
    } else {
      s.write(file, data, offset);
    }
  }

  read(name: string, offset: number, length: number): Uint8Array {
    const str = this.storage.read(IMAGE_PREFIX + name, offset, length);
    return str === undefined ? new Uint8Array(0) : E.toUint8Array(str);
  }

  crc32(name: string, length: number): number {
    const str = this.storage.read(IMAGE_PREFIX + name, 0, length);
    return str === undefined ? 0 : E.CRC32(str);
  }

  remove(name: string): void {
    delete this.allocated[name];
    this.storage.erase(IMAGE_PREFIX + name);
  }

  free(): number {
    const st = this.storage.getStats();
    return Math.max(0, st.freeBytes + st.trashBytes - FILE_OVERHEAD);
  }
}

function full(name: string, size: number, free: number): Error {
  return codedError('FULL', 'no room for image ' + name + ' (' + size + ' bytes; ' + free + ' bytes free in Storage)');
}
