// HAN captures for Wireshark/tshark: every frame the radio model puts on the air, as IEEE 802.15.4 with
// FCS (LINKTYPE 195) and unsecured NWK/APS headers, so the dissectors decode down to the ZCL OTA fields
// (FACTS §7). Retransmissions keep their MAC sequence number; a delivered attempt is followed by its ACK.
import { encodeMacAck, encodeMacFrame, FrameSequence, HanFrame, isBroadcast } from './han-frame';
import { AirFrame } from './radio-model';

/** LINKTYPE_IEEE802_15_4_WITHFCS. */
export const LINKTYPE_IEEE802_15_4_WITHFCS = 195;
const PCAP_MAGIC_US = 0xa1b2c3d4;
const SNAPLEN = 65535;

interface Packet {
  /** Unix ms. */
  t: number;
  bytes: Uint8Array;
}

/** Records in time order (a stable sort: frames scheduled ahead may be reported before earlier ones). */
export function pcapFile(packets: Packet[]): Buffer {
  const sorted = packets.map((p, i) => ({ p, i })).sort((a, b) => a.p.t - b.p.t || a.i - b.i);
  const head = Buffer.alloc(24);
  head.writeUInt32LE(PCAP_MAGIC_US, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(SNAPLEN, 16);
  head.writeUInt32LE(LINKTYPE_IEEE802_15_4_WITHFCS, 20);
  const parts = [head];
  for (const { p } of sorted) {
    const rec = Buffer.alloc(16);
    const us = Math.round(p.t * 1000);
    rec.writeUInt32LE(Math.floor(us / 1e6), 0);
    rec.writeUInt32LE(us % 1e6, 4);
    rec.writeUInt32LE(p.bytes.length, 8);
    rec.writeUInt32LE(p.bytes.length, 12);
    parts.push(rec, Buffer.from(p.bytes));
  }
  return Buffer.concat(parts);
}

/** Turns the radio model's air frames into packets, numbering each sender's MAC, NWK and APS sequences. */
export class HanCapture {
  private packets: Packet[] = [];
  private seqs = new Map<number, FrameSequence>();

  /** `epochMs`: the unix time of scheduler time 0 (the scheduler's own time if it is already wall-clock). */
  constructor(private readonly epochMs = 0) {}

  add(air: AirFrame): void {
    const seq = this.next(air.frame);
    const bytes = encodeMacFrame(air.frame, seq);
    for (const a of air.attempts) {
      this.packets.push({ t: this.epochMs + a.start, bytes });
      if (a.acked && !isBroadcast(air.frame)) this.packets.push({ t: this.epochMs + a.ackAt, bytes: encodeMacAck(seq.mac) });
    }
  }

  count(): number {
    return this.packets.length;
  }

  file(): Buffer {
    return pcapFile(this.packets);
  }

  private next(f: HanFrame): FrameSequence {
    const s = this.seqs.get(f.src) ?? { mac: 0xff, nwk: 0xff, aps: 0xff };
    const n = { mac: (s.mac + 1) & 0xff, nwk: (s.nwk + 1) & 0xff, aps: (s.aps + 1) & 0xff };
    this.seqs.set(f.src, n);
    return n;
  }
}
