// Power cuts for the hub: stores that die at a chosen write. Every write before the cut reaches the
// real files (firmware/node stores in a temp dir); the cut write is torn (image data) or lost (a state
// file is written whole or not at all, as FileKeyValueStore's rename guarantees — the hub rewrites a whole
// table each time); after it the hub is dead, and only a new Hub built on the same files carries on — as
// after a reset.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FileImageStore } from '../../firmware/node/file-image-store';
import { FileKeyValueStore } from '../../firmware/node/file-kv-store';
import { ImageStore } from '../../firmware/ports/image-store';
import { KeyValueStore } from '../../firmware/ports/kv-store';

export class PowerCut extends Error {
  constructor(at: number) {
    super(`power cut at write ${at}`);
  }
}

/** Counts writes across both stores; the write numbered `cutAt` (1-based) is the one the power dies in. */
export class CutSwitch {
  writes = 0;
  constructor(public cutAt = Infinity) {}
  /** Returns true when this write is the cut one; throws for any write after it. */
  next(): boolean {
    this.writes++;
    if (this.writes > this.cutAt) throw new PowerCut(this.cutAt);
    return this.writes === this.cutAt;
  }
  /** Whether the power has died. */
  get dead(): boolean {
    return this.writes >= this.cutAt;
  }
  /** For the hub's other ports (host link, radio): after the cut nothing the hub does reaches the outside.
   *  Throwing also stops a hub that caught the cut write's PowerCut as a failed request. */
  alive(): void {
    if (this.dead) throw new PowerCut(this.cutAt);
  }
}

export class CuttableImages implements ImageStore {
  constructor(private inner: ImageStore, private sw: CutSwitch) {}
  create(name: string, size: number): number {
    if (this.sw.next()) throw new PowerCut(this.sw.cutAt);
    return this.inner.create(name, size);
  }
  write(name: string, offset: number, data: Uint8Array): void {
    if (this.sw.next()) {
      this.inner.write(name, offset, data.subarray(0, data.length >> 1)); // torn: half the chunk reached flash
      throw new PowerCut(this.sw.cutAt);
    }
    this.inner.write(name, offset, data);
  }
  read(name: string, offset: number, length: number): Uint8Array {
    return this.inner.read(name, offset, length);
  }
  crc32(name: string, length: number): number {
    return this.inner.crc32(name, length);
  }
  sha256(name: string): Uint8Array {
    return this.inner.sha256(name);
  }
  remove(name: string): void {
    if (this.sw.next()) throw new PowerCut(this.sw.cutAt);
    this.inner.remove(name);
  }
}

/** A state file (one whole table) is written whole or not at all. */
export class CuttableKv implements KeyValueStore {
  constructor(private inner: KeyValueStore, private sw: CutSwitch) {}
  get(key: string): Uint8Array | undefined {
    return this.inner.get(key);
  }
  set(key: string, value: Uint8Array): void {
    if (this.sw.next()) throw new PowerCut(this.sw.cutAt);
    this.inner.set(key, value);
  }
}

/** A hub's persistent storage on disk, openable again and again as after each reset. */
export class Flash {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-flash-'));
  open(sw: CutSwitch): { images: ImageStore; kv: KeyValueStore } {
    return {
      images: new CuttableImages(new FileImageStore(path.join(this.dir, 'images')), sw),
      kv: new CuttableKv(new FileKeyValueStore(path.join(this.dir, 'state')), sw),
    };
  }
  destroy(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
