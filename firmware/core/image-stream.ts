// Streamed images, for boards whose Storage cannot hold an image (FACTS §5): the hub keeps a few ranges
// of an image's bytes, asks the host for the range a client needs and the one after it (a `need` event,
// answered by an `img.range` request), and the OTA server answers WAIT_FOR_DATA while a range is on its
// way. The least recently used range makes room for a new one.
import { codedError } from './bytes';
import { Message } from './host-link';

interface Range {
  name: string;
  off: number;
  data: Uint8Array;
  used: number;
  /** Whether a client has had bytes from it: until then it is not evicted, or clients would starve. */
  served: boolean;
}

/** A range asked for and not here after this long is asked for again (the host may have missed it). */
const ASK_AGAIN_MS = 2000;
/** A range no client has come for in this long is given up (its client went away), so it cannot hold a slot for ever. */
const UNCLAIMED_MS = 10000;

export class ImageStream {
  private ranges: Range[] = [];
  /** Ranges on their way: "name@off" → when asked. */
  private asked: { [key: string]: number } = {};

  constructor(private rangeBytes: number, private maxRanges: number, private sendHost: (m: Message) => void) {}

  /**
   * Up to `len` bytes of image `name` (`size` bytes long) from `off`, never past the end of the range
   * holding `off` (a client asks again for the rest); undefined while that range is on its way.
   */
  read(name: string, size: number, off: number, len: number, now: number): Uint8Array | undefined {
    const start = off - (off % this.rangeBytes);
    // Read ahead of the client, into room that is free: a read-ahead never pushes out a range.
    if (start + this.rangeBytes < size && this.ranges.length < this.maxRanges) this.want(name, size, start + this.rangeBytes, now);
    const r = this.find(name, start);
    if (!r) {
      this.want(name, size, start, now);
      return undefined;
    }
    r.used = now;
    r.served = true;
    const from = off - start;
    return r.data.subarray(from, Math.min(r.data.length, from + len));
  }

  /** A range from the host: it must start on a range boundary and run to the next one (or the image's end). */
  put(name: string, size: number, off: number, data: Uint8Array, now: number): void {
    if (off % this.rangeBytes !== 0 || off >= size || data.length !== Math.min(this.rangeBytes, size - off))
      throw codedError('BAD_RANGE', 'a range of ' + name + ' is ' + this.rangeBytes + ' bytes from a multiple of ' + this.rangeBytes + ' (fewer at the end), not ' + data.length + ' from ' + off);
    delete this.asked[name + '@' + off];
    if (this.find(name, off)) return;
    if (this.ranges.length >= this.maxRanges) {
      // The least recently used range a client has had; none (all still awaited): this one is dropped,
      // and asked for again when its client is back.
      let lru = -1;
      for (let i = 0; i < this.ranges.length; i++) {
        const r = this.ranges[i];
        if ((r.served || now - r.used > UNCLAIMED_MS) && (lru < 0 || r.used < this.ranges[lru].used)) lru = i;
      }
      if (lru < 0) return;
      this.ranges.splice(lru, 1);
    }
    // A copy: the decoded request's buffer is not kept alive by a range.
    this.ranges.push({ name: name, off: off, data: new Uint8Array(data), used: now, served: false });
  }

  /** Forgets an image's ranges (it was removed or replaced). */
  drop(name: string): void {
    for (let i = this.ranges.length - 1; i >= 0; i--) if (this.ranges[i].name === name) this.ranges.splice(i, 1);
  }

  private find(name: string, off: number): Range | undefined {
    for (let i = 0; i < this.ranges.length; i++) if (this.ranges[i].off === off && this.ranges[i].name === name) return this.ranges[i];
    return undefined;
  }

  private want(name: string, size: number, off: number, now: number): void {
    const key = name + '@' + off;
    // Asks the host never answered expire, so the table stays as small as the ranges in flight.
    const keys = Object.keys(this.asked);
    for (let i = 0; i < keys.length; i++) if (now - this.asked[keys[i]] >= ASK_AGAIN_MS) delete this.asked[keys[i]];
    const at = this.asked[key];
    if (this.find(name, off) || at !== undefined) return;
    this.asked[key] = now;
    this.sendHost({ ev: 'need', img: name, off: off, len: Math.min(this.rangeBytes, size - off) });
  }
}
