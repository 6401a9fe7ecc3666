// ImageStore on a directory for the Node-run hub: one file per image, pre-sized at create() so the
// space an upload will need is counted against the capacity before its first byte arrives.
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { codedError } from '../core/bytes';
import { ImageStore } from '../ports/image-store';

/** What a board with ~1 MB of flash for Storage could hold (FACTS §5). */
export const DEFAULT_CAPACITY = 1024 * 1024;
const CRC_CHUNK = 64 * 1024;

export class FileImageStore implements ImageStore {
  constructor(private dir: string, private capacity = DEFAULT_CAPACITY) {
    fs.mkdirSync(dir, { recursive: true });
  }

  create(name: string, size: number): number {
    const file = this.file(name);
    const held = fs.existsSync(file) ? fs.statSync(file).size : 0;
    const free = this.free() + held; // the old image under this name is discarded
    if (size > free) return free;
    fs.writeFileSync(file, new Uint8Array(0));
    fs.truncateSync(file, size);
    return -1;
  }

  write(name: string, offset: number, data: Uint8Array): void {
    const fd = fs.openSync(this.existing(name), 'r+');
    try {
      fs.writeSync(fd, data, 0, data.length, offset);
    } finally {
      fs.closeSync(fd);
    }
  }

  read(name: string, offset: number, length: number): Uint8Array {
    if (!fs.existsSync(this.file(name))) return new Uint8Array(0);
    const fd = fs.openSync(this.existing(name), 'r');
    try {
      const buf = new Uint8Array(length);
      const n = fs.readSync(fd, buf, 0, length, offset);
      return buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  }

  crc32(name: string, length: number): number {
    const fd = fs.openSync(this.existing(name), 'r');
    try {
      const buf = Buffer.alloc(CRC_CHUNK);
      let crc = 0;
      for (let off = 0; off < length; ) {
        const n = fs.readSync(fd, buf, 0, Math.min(CRC_CHUNK, length - off), off);
        if (n === 0) break;
        crc = zlib.crc32(buf.subarray(0, n), crc);
        off += n;
      }
      return crc >>> 0;
    } finally {
      fs.closeSync(fd);
    }
  }

  sha256(name: string): Uint8Array {
    return new Uint8Array(createHash('sha256').update(fs.readFileSync(this.existing(name))).digest());
  }

  remove(name: string): void {
    fs.rmSync(this.file(name), { force: true });
  }

  /** Bytes a new image could still use. */
  free(): number {
    let used = 0;
    for (const f of fs.readdirSync(this.dir)) used += fs.statSync(path.join(this.dir, f)).size;
    return Math.max(0, this.capacity - used);
  }

  private file(name: string): string {
    // The core validates names, but this is the layer that must not be tricked into writing elsewhere.
    if (!name || name !== path.basename(name) || name.startsWith('.')) throw codedError('BAD_NAME', 'image name ' + JSON.stringify(name) + ' is not a plain file name');
    return path.join(this.dir, name);
  }

  private existing(name: string): string {
    const file = this.file(name);
    if (!fs.existsSync(file)) throw codedError('UNKNOWN_IMAGE', 'no image file ' + file);
    return file;
  }
}
