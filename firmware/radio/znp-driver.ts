// Radio port over a TI Z-Stack ZNP co-processor (FACTS §4), written to cost little on Espruino (FACTS §5):
// one class, six functions (14 parameters; a frame is handled where onBytes finds it), state in numbers and
// two byte buffers made once; nothing is allocated per frame but the views handed to the sink and to `write`. On espruino-2500-i386 the class
// holds ~41 JsVars of code and an instance ~100 with its buffers (606 bytes; make bench-footprint's idleSizes).
//
// ZNP's MT API serves one synchronous request (SREQ) at a time, so requests wait in a small ring of frame
// slots, in order, and each is matched to its SRSP (or to an RPC error naming it); one with no answer in
// SREQ_TIMEOUT_MS is dropped so a lost SRSP never wedges the radio. AF_REGISTER goes ahead of whatever is
// queued, at the first tick and after every SYS_RESET_IND. Time only arrives as arguments: no timers, no clock.
import { RadioError } from '../core/codes';
import { HUB_ENDPOINT, OTA_CLUSTER, PROFILE_SMART_ENERGY, Radio, RadioEv, RadioSink } from '../ports/radio';

/** What the driver can hold; a const enum, so the numbers are written in place and cost nothing at run time. */
export const enum ZnpLimit {
  /** Longest ZCL frame send() takes (bytes); the hub's largest, an Image Block Response with 64 bytes of
   *  image, is 81, and the APS payload of a secured frame is ~82 (FACTS §3). */
  MAX_SEND = 96,
  /** How long an SREQ may wait for its SRSP (ms). */
  SREQ_TIMEOUT_MS = 2000,
}

/**
 * ZNP numbers: FACTS §4; zigbee-herdsman src/adapter/z-stack/unpi/constants.ts (SOF, MaxDataSize, Type) and
 * src/adapter/z-stack/znp/definition.ts (commands as CMD0 << 8 | CMD1); statuses from herdsman
 * src/adapter/z-stack/constants/common.ts. The stick simulator's firmware/radio/znp-frame.ts has the same ids.
 */
const enum Z {
  SOF = 0xfe,
  /** Largest DATA of a frame (herdsman unpi MaxDataSize); a longer LEN after an SOF means the SOF was noise. */
  MAX_DATA = 250,
  /** A frame is SOF, LEN, CMD0, CMD1, DATA, FCS. */
  OVERHEAD = 5,
  /** CMD0 = type << 5 | subsystem; as a mask over a 16-bit command id, and the SRSP type in it. */
  TYPE_MASK = 0xe000,
  TYPE_SRSP = 0x6000,
  /** Subsystem and CMD1 of a command id: what an SREQ and its SRSP share. */
  SAME_REQUEST = 0x1fff,
  SYS_RESET_IND = 0x4180,
  AF_REGISTER = 0x2400,
  AF_DATA_REQUEST = 0x2401,
  AF_DATA_CONFIRM = 0x4480,
  AF_INCOMING_MSG = 0x4481,
  ZDO_IEEE_ADDR_REQ = 0x2501,
  ZDO_IEEE_ADDR_RSP = 0x4581,
  ZDO_END_DEVICE_ANNCE_IND = 0x45c1,
  /** What Z-Stack answers to an SREQ it cannot handle: an SRSP of subsystem 0, data [errorCode, reqCmd0, reqCmd1]. */
  RPC_ERROR = 0x6000,
  /** AF_REGISTER of an endpoint that is already registered (herdsman ZnpCommandStatus.APS_DUPLICATE_ENTRY). */
  APS_DUPLICATE_ENTRY = 0xb8,
  /** Hops an AF_DATA_REQUEST may travel (the Z-Stack default, AF_DEFAULT_RADIUS 2 * NWK_MAX_DEPTH). */
  RADIUS = 30,
  /** SE device id of the hub's endpoint: the Energy Service Portal the CH implements. */
  DEVICE_ID_ESP = 0x0500,
  /** The AF_REGISTER frame (13 bytes of data), built once at tx[0]. */
  REGISTER_BYTES = 18,
  /** AF_DATA_REQUEST data before the ZCL frame: dstAddr 2, dstEndpoint, srcEndpoint, clusterId 2, transId, options, radius, len. */
  DATA_REQUEST_HEAD = 10,
  /** One SREQ slot: an AF_DATA_REQUEST carrying MAX_SEND bytes (a ZDO_IEEE_ADDR_REQ takes 9 of them). */
  SLOT_BYTES = OVERHEAD + DATA_REQUEST_HEAD + ZnpLimit.MAX_SEND,
  /** Shortest DATA of the commands read (herdsman definition.ts). */
  MIN_INCOMING_MSG = 17,
  MIN_RESET_IND = 6,
  MIN_ANNCE_IND = 13,
  MIN_IEEE_ADDR_RSP = 13,
}

/**
 * The radio over a Z-Stack ZNP stick. `write` gets views of the driver's own frame buffer: it must send (or copy)
 * them, and it may keep a view until the bytes are on the wire (the driver leaves a frame unchanged until its
 * SRSP, its timeout or a reset), but it must not feed bytes back into onBytes() before it returns; nor may the
 * sink. `sink` may be set after construction (a hub that is built with its radio).
 */
export class ZnpDriver implements Radio {
  /** SREQs that can wait (or be outstanding) at once; when all are taken send() and lookup() return -1 (the hub
   *  owes the frame again, or looks the address up at its next request): the hub's radio window of data frames
   *  and one ZDO request. Each slot more is 111 bytes of RAM idle. */
  private slots: number;
  /** Outgoing frames: AF_REGISTER at 0 (built once), then `slots` slots of SLOT_BYTES, a ring in send order. */
  private tx: Uint8Array;
  /** Bytes read but not yet understood: at most one frame. Frames are read in place; the sink gets views. */
  private rx = new Uint8Array(Z.OVERHEAD + Z.MAX_DATA);
  /** Bytes in rx. */
  private rn = 0;
  /** Oldest slot in use, and slots in use (queued, or the outstanding SREQ: it keeps its slot until done). */
  private head = 0;
  private used = 0;
  /** The outstanding SREQ's command id (0: none) and when it was written. */
  private out = 0;
  private at = 0;
  /** 1: AF_REGISTER is due, ahead of the slots: at the first tick, and after every SYS_RESET_IND. */
  private reg = 1;
  /** The next send()'s handle, also its AF transaction id: a byte that wraps. */
  private next = 0;

  /** `radioWindow`: the hub's (HubConfig.radioWindow), the data frames it has in flight at once. */
  constructor(private write: (bytes: Uint8Array) => void, public sink: RadioSink, radioWindow: number) {
    this.slots = radioWindow + 1;
    this.tx = new Uint8Array(Z.REGISTER_BYTES + this.slots * Z.SLOT_BYTES);
    // AF_REGISTER of the hub endpoint: the hub is the OTA server, so 0x0019 is an input cluster; it reads
    // client attributes, so also an output one. Its FCS is set when it is written.
    this.tx.set([
      Z.SOF, Z.REGISTER_BYTES - Z.OVERHEAD, Z.AF_REGISTER >> 8, Z.AF_REGISTER & 0xff,
      HUB_ENDPOINT, PROFILE_SMART_ENERGY & 0xff, PROFILE_SMART_ENERGY >> 8, Z.DEVICE_ID_ESP & 0xff, Z.DEVICE_ID_ESP >> 8,
      0, 0, // device version, latency
      1, OTA_CLUSTER & 0xff, OTA_CLUSTER >> 8, // in clusters
      1, OTA_CLUSTER & 0xff, OTA_CLUSTER >> 8, // out clusters
    ]);
  }

  send(nwk: number, endpoint: number, cluster: number, data: Uint8Array, len: number, now: number): number {
    if (len > ZnpLimit.MAX_SEND) return -2;
    if (this.used === this.slots) return -1;
    const h = this.next;
    this.next = (h + 1) & 0xff;
    const t = this.tx;
    const o = Z.REGISTER_BYTES + ((this.head + this.used++) % this.slots) * Z.SLOT_BYTES;
    t[o] = Z.SOF;
    t[o + 1] = Z.DATA_REQUEST_HEAD + len;
    t[o + 2] = Z.AF_DATA_REQUEST >> 8;
    t[o + 3] = Z.AF_DATA_REQUEST & 0xff;
    t[o + 4] = nwk;
    t[o + 5] = nwk >> 8;
    t[o + 6] = endpoint;
    t[o + 7] = HUB_ENDPOINT;
    t[o + 8] = cluster;
    t[o + 9] = cluster >> 8;
    t[o + 10] = h;
    t[o + 11] = 0; // options
    t[o + 12] = Z.RADIUS;
    t[o + 13] = len;
    // Copied now: the caller reuses its buffer.
    t.set(len === data.length ? data : data.subarray(0, len), o + 14);
    this.tick(now);
    return h;
  }

  lookup(nwk: number, now: number): number {
    if (this.used === this.slots) return -1;
    const t = this.tx;
    const o = Z.REGISTER_BYTES + ((this.head + this.used++) % this.slots) * Z.SLOT_BYTES;
    t[o] = Z.SOF;
    t[o + 1] = 4;
    t[o + 2] = Z.ZDO_IEEE_ADDR_REQ >> 8;
    t[o + 3] = Z.ZDO_IEEE_ADDR_REQ & 0xff;
    t[o + 4] = nwk;
    t[o + 5] = nwk >> 8;
    t[o + 6] = 0; // request type 0: the device alone, not its children
    t[o + 7] = 0; // start index
    this.tick(now);
    return 0;
  }

  onBytes(bytes: Uint8Array, now: number): void {
    const rx = this.rx;
    const s = this.sink;
    let i = 0;
    while (i < bytes.length) {
      // As much as fits; a whole frame always fits, so each pass reads at least one byte.
      let k = rx.length - this.rn;
      if (k > bytes.length - i) k = bytes.length - i;
      rx.set(k === bytes.length ? bytes : bytes.subarray(i, i + k), this.rn);
      i += k;
      const n = (this.rn += k);
      let p = 0;
      for (;;) {
        p = rx.indexOf(Z.SOF, p);
        if (p < 0 || p >= n) {
          p = n; // garbage
          break;
        }
        if (p + 1 >= n) break;
        const e = p + rx[p + 1] + Z.OVERHEAD;
        if (rx[p + 1] > Z.MAX_DATA) {
          p++; // no frame is that long: the SOF was noise
          continue;
        }
        if (e > n) break; // the rest comes later
        let x = 0;
        for (let j = p + 1; j < e - 1; j++) x ^= rx[j];
        if (x !== rx[e - 1]) {
          // Drop the SOF only: a real frame may start inside the bad one.
          s.radio(RadioEv.Error, RadioError.BAD_FCS, (rx[p + 2] << 8) | rx[p + 3], null, now);
          p++;
          continue;
        }
        // One frame with a good FCS at rx[p]; the next is looked for after it.
        const len = rx[p + 1];
        const c = (rx[p + 2] << 8) | rx[p + 3];
        const d = p + 4;
        p = e;
        // The per-block path first: a ZCL frame from a device.
        if (c === Z.AF_INCOMING_MSG) {
          if (len < Z.MIN_INCOMING_MSG || len < Z.MIN_INCOMING_MSG + rx[d + 16]) s.radio(RadioEv.Error, RadioError.BAD_FRAME, c, null, now);
          // srcAddr, srcEndpoint | clusterId << 8, data; a Z-Stack 3 trailer (macSrcAddr, radius) after the data is ignored.
          else s.radio(RadioEv.Message, rx[d + 4] | (rx[d + 5] << 8), rx[d + 6] | (rx[d + 2] << 8) | (rx[d + 3] << 16), rx.subarray(d + 17, d + 17 + rx[d + 16]), now);
          continue;
        }
        if ((c & Z.TYPE_MASK) === Z.TYPE_SRSP) {
          let q = c;
          if (c === Z.RPC_ERROR) {
            if (len < 3) {
              s.radio(RadioEv.Error, RadioError.BAD_FRAME, c, null, now);
              continue;
            }
            q = (rx[d + 1] << 8) | rx[d + 2];
            s.radio(RadioEv.Error, RadioError.RPC_ERROR, q, null, now);
          }
          const r = this.out;
          if (!r || (q ^ r) & Z.SAME_REQUEST) {
            if (c !== Z.RPC_ERROR) s.radio(RadioEv.Error, RadioError.UNEXPECTED_SRSP, c, null, now);
            continue;
          }
          // A data request's handle, from its slot, before the slot is freed.
          const h = this.tx[Z.REGISTER_BYTES + this.head * Z.SLOT_BYTES + 10];
          this.done();
          const st = rx[d];
          if (c === Z.RPC_ERROR) {
            // reported above
          } else if (len < 1) s.radio(RadioEv.Error, RadioError.BAD_FRAME, c, null, now);
          else if (r === Z.AF_REGISTER) {
            if (st && st !== Z.APS_DUPLICATE_ENTRY) s.radio(RadioEv.Error, RadioError.REGISTER_FAILED, st, null, now);
          } else if (!st) {
            // accepted: for a data request an AF_DATA_CONFIRM follows, for a lookup a ZDO_IEEE_ADDR_RSP may
          } else if (r === Z.AF_DATA_REQUEST) s.radio(RadioEv.Confirm, h, st, null, now); // refused: no AF_DATA_CONFIRM follows
          else s.radio(RadioEv.Error, RadioError.LOOKUP_REFUSED, st, null, now);
          this.tick(now);
          continue;
        }
        switch (c) {
          case Z.AF_DATA_CONFIRM: // status, endpoint, transId
            if (len < 3) break;
            s.radio(RadioEv.Confirm, rx[d + 2], rx[d], null, now);
            continue;
          case Z.ZDO_END_DEVICE_ANNCE_IND: // srcAddr, nwkAddr, ieeeAddr, capabilities
            if (len < Z.MIN_ANNCE_IND) break;
            s.radio(RadioEv.Announce, rx[d + 2] | (rx[d + 3] << 8), 0, rx.subarray(d + 4, d + 12), now);
            continue;
          case Z.ZDO_IEEE_ADDR_RSP: // status, ieeeAddr, nwkAddr, startIndex, numAssocDev, assocDevList
            if (len < Z.MIN_IEEE_ADDR_RSP) break;
            // A failed answer (the device does not know that address any more) tells the hub nothing.
            if (!rx[d]) s.radio(RadioEv.Address, rx[d + 9] | (rx[d + 10] << 8), 0, rx.subarray(d + 1, d + 9), now);
            continue;
          case Z.SYS_RESET_IND: {
            // reason, transportRev, productId, majorRel, minorRel, hwRev
            if (len < Z.MIN_RESET_IND) break;
            // The co-processor forgot its endpoint and will never answer what was in flight. The state is
            // settled before the sink hears of it, so a send() from the sink queues behind AF_REGISTER.
            const r = this.out;
            const h = this.tx[Z.REGISTER_BYTES + this.head * Z.SLOT_BYTES + 10];
            if (r) this.done();
            this.reg = 1;
            s.radio(RadioEv.Reset, 0, rx[d], null, now);
            if (r === Z.AF_DATA_REQUEST) s.radio(RadioEv.Error, RadioError.LOST_IN_RESET, h, null, now);
            this.tick(now);
            continue;
          }
          default:
            continue; // other indications (ZDO state changes, etc.) are not the hub's business
        }
        s.radio(RadioEv.Error, RadioError.BAD_FRAME, c, null, now);
      }
      // Keep the unfinished frame at rx[0].
      if (p < n) rx.set(rx.subarray(p, n));
      this.rn = n - p;
    }
  }

  /** Times out the outstanding SREQ, then writes the next one if none is outstanding. */
  tick(now: number): void {
    const c = this.out;
    if (c && now - this.at >= ZnpLimit.SREQ_TIMEOUT_MS) {
      this.done();
      this.sink.radio(RadioEv.Error, RadioError.NO_SRSP, c, null, now);
    }
    if (this.out) return;
    let o = 0;
    if (this.reg) this.reg = 0;
    else if (this.used) o = Z.REGISTER_BYTES + this.head * Z.SLOT_BYTES;
    else return;
    const t = this.tx;
    const e = o + t[o + 1] + Z.OVERHEAD - 1;
    let x = 0;
    for (let j = o + 1; j < e; j++) x ^= t[j];
    t[e] = x;
    this.out = (t[o + 2] << 8) | t[o + 3];
    this.at = now;
    this.write(t.subarray(o, e + 1));
  }

  /** The outstanding SREQ is answered (or given up): its slot is free. */
  private done(): void {
    if (this.out !== Z.AF_REGISTER) {
      this.head = (this.head + 1) % this.slots;
      this.used--;
    }
    this.out = 0;
  }
}
