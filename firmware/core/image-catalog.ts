// Images held by the hub: stored ones (uploaded through image-upload.ts) and streamed ones, fetched from
// the host in ranges while served (image-stream.ts). Only complete images are ever served.
import { codedError } from './bytes';
import { Message } from './host-link';
import { ImageStream } from './image-stream';
import { ImageStore } from '../ports/image-store';

export interface ImageMeta {
  name: string;
  size: number;
  crc: number;
  complete: boolean;
  /** Held by the host and fetched in ranges while served (image-stream.ts), not stored on the hub. */
  streamed?: boolean;
  /** Bytes stored so far (every byte below this offset is written). */
  next: number;
  manufacturerCode?: number;
  imageType?: number;
  fileVersion?: number;
  minHw?: number;
  maxHw?: number;
  warnings?: string[];
}

// No {m,n} quantifier: Espruino's RegExp lacks it (it silently never matches), so the length is checked apart.
const NAME = /^[A-Za-z0-9._-]+$/;

export class ImageCatalog {
  private images: { [name: string]: ImageMeta } = {};
  private window: ImageStream | undefined;
  /** rangeBytes, maxRanges, sendHost: how streamed images are fetched (image-stream.ts). */
  constructor(
    readonly store: ImageStore,
    saved: unknown,
    private rangeBytes: number,
    private maxRanges: number,
    private sendHost: (m: Message) => void,
  ) {
    if (Array.isArray(saved)) for (let i = 0; i < saved.length; i++) this.images[saved[i].name] = saved[i];
  }

  /** An image's record, complete or not (image-upload.ts fills in uploads). */
  meta(name: string): ImageMeta | undefined {
    return this.images[name];
  }

  put(m: ImageMeta): void {
    this.images[m.name] = m;
  }

  /**
   * Registers an image the host keeps and streams (its header facts checked there): servable at once, its
   * bytes fetched while clients download it. The same image again is a no-op (a host serving it after a
   * restart); other content replaces it unless `inUse`.
   */
  stream(m: ImageMeta, inUse: boolean): ImageMeta {
    checkImageName(m.name, m.size);
    const old = this.images[m.name];
    if (old && !old.streamed) throw codedError('EXISTS', 'image ' + m.name + ' is stored on the hub; remove it first');
    if (old && old.size === m.size && old.crc === m.crc >>> 0) return old;
    if (inUse) throw codedError('IN_USE', 'image ' + m.name + ' is being distributed');
    m.crc = m.crc >>> 0;
    if (old) this.streamer().drop(m.name);
    m.streamed = true;
    m.complete = true;
    m.next = m.size;
    this.images[m.name] = m;
    return m;
  }

  /** A range of a streamed image, from the host. */
  range(name: string, off: number, d: Uint8Array, now: number): void {
    const m = this.images[name];
    if (!m || !m.streamed) throw codedError('UNKNOWN_IMAGE', 'no streamed image named ' + name);
    this.streamer().put(name, m.size, off, d, now);
  }

  /** A complete image by name, or an UNKNOWN_IMAGE error. */
  get(name: string): ImageMeta {
    const m = this.images[name];
    if (!m || !m.complete) throw codedError('UNKNOWN_IMAGE', 'no complete image named ' + name);
    return m;
  }

  list(): ImageMeta[] {
    const out: ImageMeta[] = [];
    const keys = Object.keys(this.images);
    for (let i = 0; i < keys.length; i++) out.push(this.images[keys[i]]);
    return out;
  }

  remove(name: string): void {
    if (!this.images[name]) throw codedError('UNKNOWN_IMAGE', 'no image named ' + name);
    this.discard(name);
  }

  /** Bytes to serve from `off` (maybe fewer than `len`), or undefined while a streamed range is on its way. */
  read(name: string, off: number, len: number, now: number): Uint8Array | undefined {
    const m = this.images[name];
    if (m && m.streamed) return this.streamer().read(name, m.size, off, len, now);
    return this.store.read(name, off, len);
  }

  /** Made on first use: a hub that never streams holds no ranges. */
  private streamer(): ImageStream {
    return this.window || (this.window = new ImageStream(this.rangeBytes, this.maxRanges, this.sendHost));
  }

  /** No device is downloading the image now: a streamed one's ranges are freed (fetched again if needed). */
  idle(name: string): void {
    if (this.window) this.window.drop(name);
  }

  /** Forgets an image and frees its bytes. */
  discard(name: string): void {
    const m = this.images[name];
    delete this.images[name];
    if (m && m.streamed) this.streamer().drop(name);
    else this.store.remove(name);
  }
}

/** A new image's name and size, or a BAD_NAME / BAD_SIZE error. */
export function checkImageName(name: string, size: number): void {
  if (typeof name !== 'string' || name.length > 24 || !NAME.test(name)) throw codedError('BAD_NAME', 'image name must be 1-24 of A-Z a-z 0-9 . _ -');
  if (!(size > 0) || Math.floor(size) !== size) throw codedError('BAD_SIZE', 'image size must be a positive integer');
}
