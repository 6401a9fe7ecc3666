// The hub's stores on Espruino Storage (flash): stored images, and the state files (one per table).
// Each image is one contiguous Storage file, allocated whole when its upload begins and filled in order;
// reads are memory-mapped ranges on a board, so serving a block never copies the image into RAM. Where
// flash is not memory-mapped (the Linux interpreter's file-backed Storage) a read is a flash string, one
// JsVar whose bytes are fetched as they are used, so the whole-file CRC is one native E.CRC32.
import { ImageStore } from '../ports/image-store';
import { KeyValueStore } from '../ports/kv-store';
import { storage } from './modules';

/** Image file prefix: image names are at most 24 characters, Storage names at most 28. */
const IMAGE_PREFIX = 'img:';
/** Storage's per-file header (size u32 + 28-byte name), plus alignment slack. */
const FILE_OVERHEAD = 40;

/** Stored images. An object, not a class: it holds no state (an allocated file's length is its size until
 *  its first write), and a class costs a constructor and a prototype besides its functions (FACTS §5). */
export const storageImages: ImageStore = {
  create: function (name: string, size: number): number {
    const s = storage();
    const file = IMAGE_PREFIX + name;
    const held = s.read(file, 0, 1) !== undefined ? (s.read(file) as string).length + FILE_OVERHEAD : 0;
    const need = size + FILE_OVERHEAD;
    const st = s.getStats();
    // Room is counted before anything is erased, so a refused upload leaves the file under its name as it was.
    const room = st.freeBytes + st.trashBytes + held;
    if (room < need) return room;
    if (held) s.erase(file);
    // Erased files' space comes back only with a (slow) compact: done only when the upload needs it.
    if (s.getFree() < need) s.compact();
    if (s.getFree() < need) return s.getFree();
    // An empty first write with a size allocates the whole (erased) file.
    s.write(file, '', 0, size);
    return -1;
  },

  write: function (name: string, offset: number, data: Uint8Array): void {
    const s = storage();
    const file = IMAGE_PREFIX + name;
    // Storage treats a write at offset 0 as "create": it keeps the allocation only when the size matches, so
    // the first write names the allocated length (create's, or the file's after a reset).
    if (offset === 0) s.write(file, data, 0, (s.read(file) as string).length);
    else s.write(file, data, offset);
  },

  // Storage.read(name, offset, 0) returns the rest of the file, not nothing (a header without optional
  // fields once had its whole image copied into RAM that way): no read here passes a length of 0.
  read: function (name: string, offset: number, length: number): Uint8Array {
    const str = length > 0 ? storage().read(IMAGE_PREFIX + name, offset, length) : undefined;
    return E.toUint8Array(str || '');
  },

  crc32: function (name: string, length: number): number {
    return length > 0 ? E.CRC32(storage().read(IMAGE_PREFIX + name, 0, length) || '') : 0;
  },

  // Native crypto.SHA256 over the memory-mapped file: the image is never copied into RAM.
  sha256: function (name: string): Uint8Array {
    const crypto = (global['require'] as (m: string) => { SHA256(d: EspruinoData): ArrayBuffer })('crypto');
    return new Uint8Array(crypto.SHA256(storage().read(IMAGE_PREFIX + name) || ''));
  },

  remove: function (name: string): void {
    storage().erase(IMAGE_PREFIX + name);
  },
};

/** State files: `kv:<key>`, one table's bytes each. An object, not a class: it holds no state, and a class
 *  costs a constructor and a prototype besides its two functions (FACTS §5). */
export const storageKv: KeyValueStore = {
  get: function (key: string): Uint8Array | undefined {
    const s = storage().read('kv:' + key);
    return s === undefined ? undefined : E.toUint8Array(s);
  },
  set: function (key: string, value: Uint8Array): void {
    storage().write('kv:' + key, value);
  },
};
