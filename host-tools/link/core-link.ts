// The host link to a hub core in the same process (the virtual bench, core tests): requests as chub's
// messages, encoded and framed exactly as over a serial port, answered at once; the hub's frames decoded
// back into messages. Events go to a listener.
import { crc32 } from 'zlib';
import { Hub } from '../../firmware/core/hub';
import { encodeFrame, FrameReader } from '../../firmware/core/wire';
import { decodeBody, encodeBody } from './cbor-codec';
import { decodeMessage, encodeRequest, Message, RequestError } from './hub-protocol';

function crc(b: Uint8Array): number {
  return crc32(b) >>> 0;
}

export class CoreLink {
  private reader = new FrameReader(crc);
  private pending: Message | undefined;
  private reply: Message | undefined;
  private nextId = 1;

  constructor(private onEvent: (m: Message) => void) {}

  /** What the hub's sendHost port does: decode each frame as it comes. */
  fromHub = (frame: Uint8Array): void => {
    for (const body of this.reader.push(new Uint8Array(frame))) {
      const m = decodeMessage(decodeBody(body) as unknown[], this.pending);
      if (m.ev !== undefined) this.onEvent(m);
      else this.reply = m;
    }
  };

  /** One request to `hub` at core time `now`; the reply message (ok or not). */
  request(hub: Hub, op: string, args: Message, now: number): Message {
    const m = { ...args, op, i: this.nextId++ };
    let a: unknown[];
    try {
      a = encodeRequest(m);
    } catch (e) {
      // Refused before it is sent (a bad EUI, say), as HubClient refuses it.
      if (!(e instanceof RequestError)) throw e;
      return { i: m.i, ok: false, err: e.code, msg: e.message };
    }
    this.pending = m;
    this.reply = undefined;
    hub.host(encodeFrame(encodeBody(a), crc), now);
    this.pending = undefined;
    const r = this.reply as Message | undefined;
    if (!r) throw new Error(`the hub did not answer ${op}`);
    return r;
  }
}
