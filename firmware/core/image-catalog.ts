// Images held by the hub: resumable uploads into the image store, then a whole-file CRC-32 check and
// an OTA header check before an image is marked complete. Only complete images are ever served.
import { codedError } from './bytes';
import { Message } from './host-link';
import { ByteSource, HeaderResult } from './image-header';
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
  /** rangeBytes, maxRanges, sendHost: how streamed images are fetched (image-stream.ts); parseHeader:
   *  how stored images are checked, absent on hubs that only stream (image-header.ts). */
  constructor(
    private store: ImageStore,
    saved: unknown,
    private rangeBytes: number,
    private maxRanges: number,
    private sendHost: (m: Message) => void,
    private parseHeader: ((src: ByteSource) => HeaderResult) | undefined,
  ) {
    if (Array.isArray(saved)) for (let i = 0; i < saved.length; i++) this.images[saved[i].name] = saved[i];
  }

  /** Starts (or resumes, for the same size and CRC) an upload; returns the offset to send from. */
  begin(name: string, size: number, crc: number): number {
    if (!this.parseHeader) throw codedError('NOT_STORED', 'this hub streams images and stores none: use chub distribute --stream');
    checkNew(name, size);
    const old = this.images[name];
    if (old && old.streamed) throw codedError('EXISTS', 'image ' + name + ' is streamed from the host; remove it first');
    if (old && old.size === size && old.crc === crc >>> 0) return old.complete ? size : old.next;
    if (old && old.complete) throw codedError('EXISTS', 'image ' + name + ' is already held with different content; remove it first');
    this.store.create(name, size);
    this.images[name] = { name: name, size: size, crc: crc >>> 0, complete: false, next: 0 };
    return 0;
  }

  data(name: string, off: number, d: Uint8Array): number {
    const m = this.images[name];
    if (!m || m.complete) throw codedError('NO_UPLOAD', 'no upload of ' + name + ' is in progress');
    if (off !== m.next) {
      const e = codedError('OUT_OF_ORDER', 'expected offset ' + m.next + ', got ' + off);
      e.next = m.next;
      throw e;
    }
    if (off + d.length > m.size) throw codedError('TOO_LONG', 'data runs past the declared size ' + m.size);
    this.store.write(name, off, d);
    m.next = off + d.length;
    return m.next;
  }

  /**
   * Registers an image the host keeps and streams (its header facts checked there): servable at once, its
   * bytes fetched while clients download it. The same image again is a no-op (a host serving it after a
   * restart); other content replaces it unless `inUse`.
   */
  stream(m: ImageMeta, inUse: boolean): ImageMeta {
    checkNew(m.name, m.size);
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

  /** Verifies the whole file and the OTA header; on success the image becomes servable. */
  end(name: string): ImageMeta {
    const m = this.images[name];
    if (!m) throw codedError('NO_UPLOAD', 'no upload of ' + name);
    if (m.complete) return m;
    if (m.next !== m.size) throw codedError('INCOMPLETE', 'image ' + name + ' has ' + m.next + ' of ' + m.size + ' bytes');
    const crc = this.store.crc32(name, m.size) >>> 0;
    if (crc !== m.crc) {
      this.discard(name);
      throw codedError('CRC_MISMATCH', 'image ' + name + ' CRC-32 is ' + crc.toString(16) + ', the host said ' + m.crc.toString(16) + '; discarded');
    }
    if (!this.parseHeader) throw codedError('NOT_STORED', 'this hub streams images and stores none: use chub distribute --stream');
    const r = this.parseHeader(this.source(name));
    if (!r.ok || r.header.start !== 0) {
      this.discard(name);
      const why = r.ok ? 'the OTA magic is not at offset 0' : r.message;
      throw codedError('BAD_IMAGE', 'image ' + name + ' is not a servable OTA file: ' + why + '; discarded');
    }
    const h = r.header;
    m.manufacturerCode = h.manufacturerCode;
    m.imageType = h.imageType;
    m.fileVersion = h.fileVersion;
    m.minHw = h.minHardwareVersion;
    m.maxHw = h.maxHardwareVersion;
    m.warnings = h.warnings;
    m.complete = true;
    return m;
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

  private source(name: string): ByteSource {
    const store = this.store;
    return {
      length: this.images[name].size,
      read: function (off: number, len: number) {
        return store.read(name, off, len);
      },
    };
  }

  private discard(name: string): void {
    const m = this.images[name];
    delete this.images[name];
    if (m && m.streamed) this.streamer().drop(name);
    else this.store.remove(name);
  }
}

function checkNew(name: string, size: number): void {
  if (typeof name !== 'string' || name.length > 24 || !NAME.test(name)) throw codedError('BAD_NAME', 'image name must be 1-24 of A-Z a-z 0-9 . _ -');
  if (!(size > 0) || Math.floor(size) !== size) throw codedError('BAD_SIZE', 'image size must be a positive integer');
}
