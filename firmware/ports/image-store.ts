// Where stored images' bytes live: Espruino Storage on a board, a file on the Node hub. Their records
// (size, CRC, completeness) are kept by the core in its state files, not here.

export interface ImageStore {
  /** Reserves room for `size` bytes under `name`, discarding anything held under that name; returns -1,
   *  or, when the store cannot hold it, the bytes it has free (and reserves nothing). */
  create(name: string, size: number): number;
  /** Writes at `offset`; writes arrive in order from 0 (flash can only be written once). */
  write(name: string, offset: number, data: Uint8Array): void;
  /** Up to `length` bytes from `offset` (fewer at the end of the image; none if there is no such image). */
  read(name: string, offset: number, length: number): Uint8Array;
  /** CRC-32 (zlib) of the first `length` bytes, computed natively where the platform can. */
  crc32(name: string, length: number): number;
  /** SHA-256 of the whole image: a GBCS command names the image it distributes by this hash (FACTS §1). */
  sha256(name: string): Uint8Array;
  remove(name: string): void;
}
