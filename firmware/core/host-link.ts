// One end of the host link: bytes ⇄ CBOR messages, framed and CRC-checked (docs/host-link.md).
// Used by the hub (firmware CBOR codec) and by `chub` (cbor-x) alike, so both sides frame identically.
import { CodedError } from './bytes';
import { CborValue } from './cbor';
import { Crc32, encodeFrame, FrameReader } from './host-link-frame';

export type Message = { [key: string]: CborValue };

export interface BodyCodec {
  encode(m: Message): Uint8Array;
  decode(b: Uint8Array): unknown;
}

export class HostLink {
  private reader: FrameReader;
  /** Frames whose body was not a CBOR map. */
  undecodable = 0;
  constructor(private write: (b: Uint8Array) => void, private crc32: Crc32, private codec: BodyCodec) {
    this.reader = new FrameReader(crc32);
  }

  onBytes(b: Uint8Array): Message[] {
    const bodies = this.reader.push(b);
    const out: Message[] = [];
    for (let i = 0; i < bodies.length; i++) {
      let m: unknown;
      try {
        m = this.codec.decode(bodies[i]);
      } catch (e) {
        this.undecodable++;
        continue;
      }
      if (m !== null && typeof m === 'object' && !Array.isArray(m) && !(m instanceof Uint8Array)) out.push(m as Message);
      else this.undecodable++;
    }
    return out;
  }

  midFrame(): boolean {
    return this.reader.midFrame();
  }

  /** Sends one message; a reply too big for a frame becomes a TOO_BIG error reply, so no request goes unanswered. */
  send(m: Message): void {
    let frame: Uint8Array;
    try {
      frame = encodeFrame(this.codec.encode(m), this.crc32);
    } catch (e) {
      if (m.i === undefined || (e as CodedError).code !== 'TOO_BIG') throw e;
      frame = encodeFrame(this.codec.encode({ i: m.i, ok: false, err: 'TOO_BIG', msg: (e as Error).message }), this.crc32);
    }
    this.write(frame);
  }

  stats(): { frames: number; skipped: number; bad: number; undecodable: number } {
    const s = this.reader.stats;
    return { frames: s.frames, skipped: s.skipped, bad: s.bad, undecodable: this.undecodable };
  }
}
