// In-memory ImageStore and KeyValueStore for the hub core run on a virtual clock: nothing touches the disk,
// yet a hub reset finds what a board would find in flash (copies are kept, as a file would be).
import { createHash } from 'crypto';
import * as zlib from 'zlib';
import { codedError } from '../../firmware/core/bytes';
import { ImageStore } from '../../firmware/ports/image-store';
import { KeyValueStore } from '../../firmware/ports/kv-store';

/** What a board with ~1 MB of flash for Storage could hold (FACTS §5). */
const DEFAULT_CAPACITY = 1024 * 1024;

export class MemoryImageStore implements ImageStore {
  readonly files = new Map<string, Uint8Array>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  create(name: string, size: number): number {
    const free = this.free() + (this.files.get(name)?.length ?? 0); // the old image under this name is discarded
    if (size > free) return free;
    this.files.set(name, new Uint8Array(size));
    return -1;
  }

  write(name: string, offset: number, data: Uint8Array): void {
    this.existing(name).set(data, offset);
  }

  read(name: string, offset: number, length: number): Uint8Array {
    return this.files.get(name)?.slice(offset, offset + length) ?? new Uint8Array(0);
  }

  crc32(name: string, length: number): number {
    return zlib.crc32(this.existing(name).subarray(0, length)) >>> 0;
  }

  sha256(name: string): Uint8Array {
    return new Uint8Array(createHash('sha256').update(this.existing(name)).digest());
  }

  remove(name: string): void {
    this.files.delete(name);
  }

  /** Bytes a new image could still use. */
  free(): number {
    let used = 0;
    for (const f of this.files.values()) used += f.length;
    return Math.max(0, this.capacity - used);
  }

  private existing(name: string): Uint8Array {
    const f = this.files.get(name);
    if (!f) throw codedError('UNKNOWN_IMAGE', 'no image ' + name);
    return f;
  }
}

export class MemoryKeyValueStore implements KeyValueStore {
  readonly values = new Map<string, Uint8Array>();

  get(key: string): Uint8Array | undefined {
    const v = this.values.get(key);
    return v && new Uint8Array(v);
  }

  set(key: string, value: Uint8Array): void {
    this.values.set(key, new Uint8Array(value));
  }
}
