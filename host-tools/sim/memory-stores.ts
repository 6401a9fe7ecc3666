// In-memory ImageStore and KeyValueStore for the hub core run on a virtual clock: nothing touches the disk,
// yet a hub reset finds what a board would find in flash (values are kept as JSON, as the file store does).
import * as zlib from 'zlib';
import { codedError } from '../../firmware/core/bytes';
import { ImageStore } from '../../firmware/ports/image-store';
import { KeyValueStore } from '../../firmware/ports/kv-store';

/** What a board with ~1 MB of flash for Storage could hold (FACTS §5). */
const DEFAULT_CAPACITY = 1024 * 1024;

export class MemoryImageStore implements ImageStore {
  private files = new Map<string, Uint8Array>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  create(name: string, size: number): void {
    const free = this.free() + (this.files.get(name)?.length ?? 0); // the old image under this name is discarded
    if (size > free) throw codedError('FULL', 'image store has ' + free + ' bytes free, ' + name + ' needs ' + size);
    this.files.set(name, new Uint8Array(size));
  }

  write(name: string, offset: number, data: Uint8Array): void {
    this.existing(name).set(data, offset);
  }

  read(name: string, offset: number, length: number): Uint8Array {
    return this.existing(name).slice(offset, offset + length);
  }

  crc32(name: string, length: number): number {
    return zlib.crc32(this.existing(name).subarray(0, length)) >>> 0;
  }

  remove(name: string): void {
    this.files.delete(name);
  }

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
  private values = new Map<string, string>();

  get(key: string): unknown {
    const v = this.values.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }

  set(key: string, value: unknown): void {
    this.values.set(key, JSON.stringify(value));
  }
}
