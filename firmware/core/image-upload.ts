// Uploads into the hub's image store: resumable, then a whole-file CRC-32 check and an OTA header check
// before the image is marked complete in the catalog. Only hubs that store images have one (the board's
// bundle leaves it and the header parser out when every image is streamed).
import { codedError } from './bytes';
import { checkImageName, ImageCatalog, ImageMeta } from './image-catalog';
import { CborValue } from './cbor';
import { Message } from './host-link';
import { ByteSource, HeaderResult } from './image-header';
import { Arg, arg } from './request-args';

export class ImageUploads {
  constructor(private parseHeader: (src: ByteSource) => HeaderResult) {}

  /** img.begin, img.data or img.end (docs/host-link.md). The catalog is saved after a begin and after any
   *  end, and during the data each time it crosses a multiple of `checkpoint` bytes. */
  request(m: Message, cat: ImageCatalog, checkpoint: number, state: { save(what: string): void }): Message {
    const name = arg(m, 'name', Arg.Str) as string;
    if (m.op === 'img.data') {
      const off = arg(m, 'off', Arg.Nat) as number;
      const next = this.data(cat, name, off, arg(m, 'd', Arg.Bytes) as Uint8Array);
      if (Math.floor(next / checkpoint) > Math.floor(off / checkpoint)) state.save('images');
      return { next: next };
    }
    if (m.op === 'img.begin') {
      const from = this.begin(cat, name, arg(m, 'size', Arg.Nat) as number, arg(m, 'crc', Arg.Nat) as number);
      state.save('images');
      return { next: from };
    }
    try {
      return { image: this.end(cat, name) as unknown as CborValue };
    } finally {
      state.save('images'); // a discarded image is forgotten for good, too
    }
  }

  /** Starts (or resumes, for the same size and CRC) an upload; returns the offset to send from. */
  begin(cat: ImageCatalog, name: string, size: number, crc: number): number {
    checkImageName(name, size);
    const old = cat.meta(name);
    if (old && old.streamed) throw codedError('EXISTS', 'image ' + name + ' is streamed from the host; remove it first');
    if (old && old.size === size && old.crc === crc >>> 0) return old.complete ? size : old.next;
    if (old && old.complete) throw codedError('EXISTS', 'image ' + name + ' is already held with different content; remove it first');
    cat.store.create(name, size);
    cat.put({ name: name, size: size, crc: crc >>> 0, complete: false, next: 0 });
    return 0;
  }

  data(cat: ImageCatalog, name: string, off: number, d: Uint8Array): number {
    const m = cat.meta(name);
    if (!m || m.complete) throw codedError('NO_UPLOAD', 'no upload of ' + name + ' is in progress');
    if (off !== m.next) {
      const e = codedError('OUT_OF_ORDER', 'expected offset ' + m.next + ', got ' + off);
      e.next = m.next;
      throw e;
    }
    if (off + d.length > m.size) throw codedError('TOO_LONG', 'data runs past the declared size ' + m.size);
    cat.store.write(name, off, d);
    m.next = off + d.length;
    return m.next;
  }

  /** Verifies the whole file and the OTA header; on success the image becomes servable. */
  end(cat: ImageCatalog, name: string): ImageMeta {
    const m = cat.meta(name);
    if (!m) throw codedError('NO_UPLOAD', 'no upload of ' + name);
    if (m.complete) return m;
    if (m.next !== m.size) throw codedError('INCOMPLETE', 'image ' + name + ' has ' + m.next + ' of ' + m.size + ' bytes');
    const store = cat.store;
    const crc = store.crc32(name, m.size) >>> 0;
    if (crc !== m.crc) {
      cat.discard(name);
      throw codedError('CRC_MISMATCH', 'image ' + name + ' CRC-32 is ' + crc.toString(16) + ', the host said ' + m.crc.toString(16) + '; discarded');
    }
    const r = this.parseHeader({
      length: m.size,
      read: function (off: number, len: number) {
        return store.read(name, off, len);
      },
    });
    if (!r.ok || r.header.start !== 0) {
      cat.discard(name);
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
}
