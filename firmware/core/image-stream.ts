// Streamed images, for boards whose Storage cannot hold an image (FACTS §5): the hub keeps a few ranges
// of an image's bytes, asks the host for the range a client needs and the two after it (`need` events,
// answered by `img.range` requests), and the OTA server answers WAIT_FOR_DATA while a range is on its
// way. A new range takes the place of the least recently used one clients have had; a range a client
// waits for may also take the place of one fetched ahead.
import { codedError } from './bytes';
import { Message } from './host-link';

interface Range {
  name: string;
  off: number;
  data: Uint8Array;
  used: number;
  /** Whether a client has had bytes from it: until then it is not evicted, or clients would starve. */
  served: boolean;
  /** Fetched ahead of any client: gives way to a range a client is waiting for. */
  ahead: boolean;
}

/** A range asked for and not here after this long is asked for again (the host may have missed it). */
const ASK_AGAIN_MS = 2000;
/** Ranges asked for beyond the one a client reads from. */
const READ_AHEAD = 2;
/** A range no client has come for in this long is given up (its client went away), so it cannot hold a slot for ever. */
const UNCLAIMED_MS = 10000;

export class ImageStream {
  private ranges: Range[] = [];
  /** Ranges on their way: "name@off" → when asked. */
  private asked: { [key: string]: number } = {};
  /** Of those, the ones asked for ahead of every client. */
  private aheadKeys: { [key: string]: boolean } = {};

  constructor(private rangeBytes: number, private maxRanges: number, private sendHost: (m: Message) => void) {}

  /**
   * Up to `len` bytes of image `name` (`size` bytes long) from `off`, never past the end of the range
   * holding `off` (a client asks again for the rest); undefined while that range is on its way.
   */
  read(name: string, size: number, off: number, len: number, now: number): Uint8Array | undefined {
    const start = off - (off % this.rangeBytes);
    // Read ahead of the client while there is room (free, or held by ranges clients are done with), so
    // it rarely waits: a range takes a host round trip, longer than a client takes over a range.
    for (let k = 1; k <= READ_AHEAD && start + k * this.rangeBytes < size && this.evictable(now, false) >= -1; k++) this.want(name, size, start + k * this.rangeBytes, now, true);
    const r = this.find(name, start);
    if (!r) {
      this.want(name, size, start, now, false);
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
    const key = name + '@' + off;
    const ahead = this.aheadKeys[key] === true;
    delete this.asked[key];
    delete this.aheadKeys[key];
    if (this.find(name, off)) return;
    // No room (every range still awaited by a client): dropped, and asked for again when its client is back.
    const slot = this.evictable(now, !ahead);
    if (slot < -1) return;
    if (slot >= 0) this.ranges.splice(slot, 1);
    // A copy: the decoded request's buffer is not kept alive by a range.
    this.ranges.push({ name: name, off: off, data: new Uint8Array(data), used: now, served: false, ahead: ahead });
  }

  /** Forgets an image's ranges (it was removed or replaced). */
  drop(name: string): void {
    for (let i = this.ranges.length - 1; i >= 0; i--) if (this.ranges[i].name === name) this.ranges.splice(i, 1);
  }

  /**
   * Where a new range goes: -1 a free slot; else the index of the range it replaces (the least recently
   * used one clients have had or none came for, then, for a range a client waits for, a read-ahead);
   * -2 no room.
   */
  private evictable(now: number, forClient: boolean): number {
    if (this.ranges.length < this.maxRanges) return -1;
    let lru = -2;
    let ahead = -2;
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i];
      if ((r.served || now - r.used > UNCLAIMED_MS) && (lru < 0 || r.used < this.ranges[lru].used)) lru = i;
      else if (forClient && r.ahead && !r.served && ahead < 0) ahead = i;
    }
    return lru >= 0 ? lru : ahead;
  }

  private find(name: string, off: number): Range | undefined {
    for (let i = 0; i < this.ranges.length; i++) if (this.ranges[i].off === off && this.ranges[i].name === name) return this.ranges[i];
    return undefined;
  }

  private want(name: string, size: number, off: number, now: number, ahead: boolean): void {
    const key = name + '@' + off;
    // Asks the host never answered expire, so the table stays as small as the ranges in flight.
    const keys = Object.keys(this.asked);
    for (let i = 0; i < keys.length; i++)
      if (now - this.asked[keys[i]] >= ASK_AGAIN_MS) {
        delete this.asked[keys[i]];
        delete this.aheadKeys[keys[i]];
      }
    const r = this.find(name, off);
    if (r) {
      r.ahead = r.ahead && ahead; // a client now waits for it
      return;
    }
    if (!ahead) delete this.aheadKeys[key];
    if (this.asked[key] !== undefined) return;
    this.asked[key] = now;
    if (ahead) this.aheadKeys[key] = true;
    this.sendHost({ ev: 'need', img: name, off: off, len: Math.min(this.rangeBytes, size - off) });
  }
}
