// Where image bytes live: Espruino Storage on a board, a file on the Node hub.
// Metadata (size, CRC, completeness) is kept by the core in the key-value store, not here.

export interface ImageStore {
  /** Reserves room for `size` bytes under `name`, discarding anything held under that name.
   *  Throws an Error with code 'FULL' when the store cannot hold it. */
  create(name: string, size: number): void;
  /** Writes at `offset`; writes arrive in order from 0 (flash can only be written once). */
  write(name: string, offset: number, data: Uint8Array): void;
  /** Up to `length` bytes from `offset` (fewer at the end of the image). */
  read(name: string, offset: number, length: number): Uint8Array;
  /** CRC-32 (zlib) of the first `length` bytes, computed natively where the platform can. */
  crc32(name: string, length: number): number;
  remove(name: string): void;
  /** Bytes that a new image could still use. */
  free(): number;
}

/** The store of a hub that only streams images (its Storage cannot hold one): holds nothing. Uploads are
 *  refused before they reach it (a hub given no ImageUploads). */
export const NO_IMAGE_STORE: ImageStore = {
  create: function (name: string) {
    throw new Error('no image store: cannot hold ' + name);
  },
  write: function () {},
  read: function () {
    return new Uint8Array(0);
  },
  crc32: function () {
    return 0;
  },
  remove: function () {},
  free: function () {
    return 0;
  },
};
