// The host side of the host link (docs/host-link.md): requests with replies matched by id, hub events
// re-emitted, and pipelined, resumable image uploads. Frames as the hub does (firmware/core/wire.ts), bodies
// by cbor-x (cbor-codec.ts), arrays ⇄ named messages by hub-protocol.ts.
import { EventEmitter } from 'events';
import * as zlib from 'zlib';
import { SerialPort } from 'serialport';
import { encodeFrame, FrameReader } from '../../firmware/core/wire';
import { decodeBody, encodeBody } from './cbor-codec';
import { Alert, decodeMessage, encodeRequest, Job, Message, RequestError } from './hub-protocol';

export const BAUD_RATE = 115200;
export const DEFAULT_TIMEOUT_MS = 5000;
/** Ctrl-C clears whatever the REPL holds; DLE (0x10) stops it echoing the line. */
const WAKE_LINE = '\x03\x10chubLink()\n';
/** Time for the REPL to run the wake line before the next frame arrives (the interpreter reads its
 *  input between ticks, so a frame sent sooner can reach the REPL with the line). */
const WAKE_SETTLE_MS = 300;
const WAKE_TRIES = 2;
/** The first hello's wait; a hub that answers nothing by then is woken and asked again. */
const FIRST_HELLO_MS = 1500;
/** Request ids a hello tries for a frame free of Ctrl-C and Ctrl-D: 9 in 10 frames are free at the first. */
const HELLO_IDS = 64;
/** img.end checks the whole file's CRC and header: slow on a board. */
const END_TIMEOUT_MS = 60000;
/** Request ids go up to this: in 3 CBOR bytes, not 5, in every frame (each img.data frame on a noisy line is
 *  short). Ids come round again only after a minute or more, long after any reply to the last use. */
const MAX_ID = 0xffff;
/** Requests that do the same however often the hub gets them, so a lost one (or its lost reply) is sent again. */
const RESENT = new Set(['hello', 'img.begin', 'img.end', 'dev.list', 'img.list', 'job.list', 'alert.list', 'fw.begin']);
/** Requests that carry a chunk at an offset (sendChunks): their round trips time the line. */
const CHUNK_OPS = new Set(['img.data', 'fw.data']);
/** The first resend of such a request; each later one waits twice as long, until the request's timeout. */
const RESEND_MS = 500;
/** Bounds of the img.data retransmission timeout (RFC 6298: smoothed round trip + 4 deviations), and its
 *  first value, before any round trip is known. */
const MIN_RTO_MS = 200;
const FIRST_RTO_MS = 1000;
/** The first probe's wait, before any round trip is known: an img.data round trip at 115200 baud takes tens
 *  of ms, and a probe is only the next chunk sent early, where waiting FIRST_RTO_MS would leave the line idle. */
const FIRST_PROBE_MS = 250;
/** An upload gives up after this many request timeouts (`timeoutMs`) without progress. */
const MAX_STALLS = 3;
/** img.data chunks in flight. The hub answers each in order with the offset it expects, so the reply to the
 *  second shows whether the first was lost. Two keep a serial line busy (its round trip beyond a frame's own
 *  time is a few ms); each one more is one more chunk sent again after every loss. */
const WINDOW = 2;
/** When the oldest chunk's reply is twice the round trip late (both chunks lost, or both replies), one chunk
 *  more goes to find out, and again, this many times at most before the retransmission timeout. */
const MAX_PROBES = 3;
const MIN_PROBE_MS = 10;
/** Smallest chunk a noisy line brings the chunk size down to. */
const MIN_CHUNK = 32;
/** How much better another chunk size must use the line before chooseChunk changes to it. */
const SWITCH_GAIN = 1.02;
/** Weight of the older img.data frames in the line's error estimate (per frame). */
const LOSS_MEMORY = 0.995;

/** A refused request: `code` is the hub's `err` (or TIMEOUT / CLOSED from this side). */
export class HubError extends Error {
  constructor(readonly code: string, message: string, readonly reply?: Message) {
    super(message);
    this.name = 'HubError';
  }
  /** For OUT_OF_ORDER: the offset the hub expects. */
  get next(): number | undefined {
    return typeof this.reply?.next === 'number' ? this.reply.next : undefined;
  }
}

export interface HelloInfo {
  fw: string;
  board: string;
  mode: string;
  time: number;
  maxChunk: number;
  /** Transfer jobs the hub holds at once (job.start refuses more with FULL); hubs before 0.1.x leave it out. */
  maxJobs?: number;
  /** Alerts held unacknowledged (with those running jobs will raise) past which job.start is FULL. */
  maxAlerts?: number;
}

export interface UploadResult {
  image: Message;
  /** Offset the upload resumed from (0 for a fresh one). */
  resumedFrom: number;
  /** Bytes actually sent in this call. */
  sent: number;
  ms: number;
}

export type Progress = (done: number, total: number) => void;

/** One request: its reply to any of the ids it went out with settles it (once). */
interface Call {
  op: string;
  /** The request: its reply's results are named by its op, and error texts name its device or image. */
  request: Message;
  ids: number[];
  settle(r: Message | HubError): void;
}

/** A request id in use: its call, and when it went (for the round trip). */
interface Pending {
  call: Call;
  at: number;
}

/** An img.data request in flight: bytes [off, end) in a frame of `bytes` bytes. */
interface Chunk {
  call: Call;
  off: number;
  end: number;
  bytes: number;
}

/** A round-trip time estimate (RFC 6298 §2), in ms. */
export interface RoundTrip {
  srtt: number;
  rttvar: number;
}

export function nextRoundTrip(r: RoundTrip | undefined, sampleMs: number): RoundTrip {
  if (!r) return { srtt: sampleMs, rttvar: sampleMs / 2 };
  return { srtt: 0.875 * r.srtt + 0.125 * sampleMs, rttvar: 0.75 * r.rttvar + 0.25 * Math.abs(r.srtt - sampleMs) };
}

/** How long the oldest img.data reply is waited for before one more chunk goes to find out what was lost (MAX_PROBES). */
export function probeTimeout(r: RoundTrip | undefined): number {
  return r ? Math.max(MIN_PROBE_MS, 2 * r.srtt) : FIRST_PROBE_MS;
}

/** How long an img.data reply is waited for before the chunks from the last acknowledged offset go again. */
export function retransmitTimeout(r: RoundTrip | undefined, maxMs: number): number {
  return Math.min(maxMs, r ? Math.max(MIN_RTO_MS, r.srtt + 4 * r.rttvar) : FIRST_RTO_MS);
}

/** img.data frames sent lately and lost, and their bytes; older frames weigh less (LOSS_MEMORY). */
export interface LineLoss {
  frames: number;
  lost: number;
  bytes: number;
}

export const CLEAN_LINE: LineLoss = { frames: 0, lost: 0, bytes: 0 };

export function nextLineLoss(l: LineLoss, frameBytes: number, lost: boolean): LineLoss {
  return { frames: l.frames * LOSS_MEMORY + 1, lost: l.lost * LOSS_MEMORY + (lost ? 1 : 0), bytes: l.bytes * LOSS_MEMORY + frameBytes };
}

/** The chance that the line damages a byte, from the frames it lost (a frame of n bytes arrives whole with
 *  (1 - e)^n), counting one frame more as arrived: the first frames' fate says little. */
export function byteErrorRate(l: LineLoss): number {
  if (l.lost === 0) return 0;
  return -Math.log(1 - l.lost / (l.frames + 1)) / (l.bytes / l.frames);
}

/**
 * The share of the line's bytes that carry image, for chunks of `c` bytes on a line that damages each byte
 * with chance `e`: a chunk goes in a frame `overhead` bytes longer and is lost with it, and a loss also costs
 * the frames sent behind it (go-back-N): a window's worth. Large chunks waste less on framing, small ones less
 * on losses.
 */
export function payloadShare(c: number, e: number, overhead: number): number {
  const f = c + overhead;
  const whole = Math.pow(1 - e, f);
  return (c * whole) / (f * (whole + WINDOW * (1 - whole)));
}

/** The chunk size for a line that damages each byte with chance `e`: the one with the best share of the line,
 *  unless `current` is within SWITCH_GAIN of it (the estimate of `e` is rough, and the best share is flat). */
export function chooseChunk(current: number, e: number, maxChunk: number, overhead: number): number {
  let best = maxChunk;
  for (let c = maxChunk; c >= Math.min(MIN_CHUNK, maxChunk); c -= 8) if (payloadShare(c, e, overhead) > payloadShare(best, e, overhead)) best = c;
  return payloadShare(best, e, overhead) > SWITCH_GAIN * payloadShare(current, e, overhead) ? best : current;
}

function randomId(): number {
  return 1 + Math.floor(Math.random() * MAX_ID);
}

/** True when no byte of `b` (a frame, or a number's big-endian bytes) is Ctrl-C or Ctrl-D. */
function consoleSafe(b: Uint8Array | number): boolean {
  if (typeof b !== 'number') return b.indexOf(3) < 0 && b.indexOf(4) < 0;
  for (let v = b; v > 0; v = Math.floor(v / 256)) if (v % 256 === 3 || v % 256 === 4) return false;
  return true;
}

function crc32(b: Uint8Array): number {
  return zlib.crc32(b) >>> 0;
}

export declare interface HubClient {
  on(ev: 'job', f: (job: Job) => void): this;
  on(ev: 'alert', f: (alert: Alert) => void): this;
  on(ev: 'log', f: (log: { level: string; msg: string }) => void): this;
  off(ev: 'job', f: (job: Job) => void): this;
  off(ev: 'alert', f: (alert: Alert) => void): this;
  off(ev: 'log', f: (log: { level: string; msg: string }) => void): this;
  on(ev: 'need', f: (need: NeedEvent) => void): this;
  off(ev: 'need', f: (need: NeedEvent) => void): this;
}

/** The hub asks for a range of a streamed image (firmware/core/image-stream.ts). */
export interface NeedEvent {
  img: string;
  off: number;
  len: number;
}

/** The header facts a streamed image is registered with (checked on the host: image-header.ts). */
export interface StreamFacts {
  manufacturerCode: number;
  imageType: number;
  fileVersion: number;
  minHardwareVersion?: number;
  maxHardwareVersion?: number;
}

export interface ImageStreamer {
  image: Message;
  /** Bytes sent to the hub in ranges so far (a range can be asked for again). */
  served(): number;
  /** Stops answering the hub's requests for ranges. */
  stop(): void;
}

export class HubClient extends EventEmitter {
  private reader = new FrameReader(crc32);
  /** Frames whose body was not a hub message (not CBOR, or not [i, code, ...]). */
  undecodable = 0;
  private pending = new Map<number, Pending>();
  // Random start: replies meant for an earlier client on the same port cannot match ours.
  private nextId = randomId();
  private closed = false;
  /** img.data round trips, and how lossy the line has been: what later uploads start from. */
  private roundTrip: RoundTrip | undefined;
  private loss = CLEAN_LINE;
  info: HelloInfo = { fw: '?', board: '?', mode: '?', time: 0, maxChunk: 256 };

  private constructor(private port: SerialPort, private timeoutMs: number) {
    super();
    port.on('data', (d: Buffer) => this.take(new Uint8Array(d)));
    port.on('close', () => this.failAll('CLOSED', 'port ' + port.path + ' closed'));
    port.on('error', (e) => this.failAll('PORT', 'port ' + port.path + ': ' + e.message));
  }

  /** Opens the port and greets the hub (setting its clock); fails if no hub answers.
   *  `timeoutMs` is how long any request waits for its reply unless it says otherwise. */
  static async open(path: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HubClient> {
    const port = new SerialPort({ path, baudRate: BAUD_RATE, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(new HubError('PORT', openFailure(path, e))) : resolve())));
    const c = new HubClient(port, timeoutMs);
    try {
      // A hub that lent its port to the REPL (firmware/espruino/console-port.ts) takes it back when the
      // wake line is typed there. It goes only to a hub silent to the first hello: the line's Ctrl-C
      // clears that hello from the REPL's input, and the next hello waits until the line has run. These
      // hellos are not resent (a resend could reach the REPL): the wake tries are their retries.
      // The clock goes in that hello unless its own bytes hold Ctrl-C or Ctrl-D (then in a second one).
      const t0 = performance.now();
      const time = Date.now();
      const greeting = consoleSafe(time) ? { time } : {};
      try {
        c.info = (await c.exchange('hello', greeting, Math.min(timeoutMs, FIRST_HELLO_MS), false)) as unknown as HelloInfo;
      } catch (e) {
        if ((e as HubError).code !== 'TIMEOUT') throw e;
        c.info = await c.wakeAndHello(port, greeting, t0);
      }
      if (!('time' in greeting)) c.info = (await c.request('hello', { time: Date.now() })) as unknown as HelloInfo;
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  /** Types the wake line, waits for the REPL to run it, and says hello; a busy board gets a second, slower try. */
  private async wakeAndHello(port: SerialPort, greeting: Message, t0: number): Promise<HelloInfo> {
    for (let attempt = 1; ; attempt++) {
      port.write(WAKE_LINE);
      await new Promise((r) => setTimeout(r, WAKE_SETTLE_MS * attempt));
      try {
        return (await this.exchange('hello', greeting, this.timeoutMs, false)) as unknown as HelloInfo;
      } catch (e) {
        if ((e as HubError).code !== 'TIMEOUT') throw e;
        if (attempt >= WAKE_TRIES) {
          const waited = Math.round(performance.now() - t0);
          throw new HubError('TIMEOUT', `no hub answered hello on ${this.path} within ${waited} ms (asked ${1 + WAKE_TRIES} times, the last ${WAKE_TRIES} after typing chubLink() for a hub that lent its port to the REPL)`);
        }
      }
    }
  }

  get path(): string {
    return this.port.path;
  }

  /** One request; list replies the hub pages (`more`: where the next page starts) come back whole. Requests
   *  that may safely reach the hub twice (RESENT) are sent again while unanswered, within `timeoutMs`. */
  async request(op: string, args: Message = {}, timeoutMs = this.timeoutMs): Promise<Message> {
    const resend = RESENT.has(op);
    const reply = await this.exchange(op, args, timeoutMs, resend);
    while (typeof reply.more === 'number') {
      const next = await this.exchange(op, { ...args, from: reply.more }, timeoutMs, resend);
      for (const key of Object.keys(next)) {
        const have = reply[key];
        const add = next[key];
        if (Array.isArray(have) && Array.isArray(add)) reply[key] = have.concat(add);
      }
      reply.more = next.more;
    }
    delete reply.more;
    return reply;
  }

  /** A request and its reply; with `resend`, sent again after RESEND_MS, twice that, ... until `timeoutMs`. */
  private exchange(op: string, args: Message, timeoutMs: number, resend: boolean): Promise<Message> {
    if (this.closed) return Promise.reject(new HubError('CLOSED', 'cannot send ' + op + ': port ' + this.path + ' is closed'));
    return new Promise((resolve, reject) => {
      const t0 = performance.now();
      let timer: NodeJS.Timeout | undefined;
      let sends = 0;
      const call: Call = {
        op,
        request: { ...args, op },
        ids: [],
        settle: (r) => {
          clearTimeout(timer);
          if (r instanceof HubError) reject(r);
          else resolve(r);
        },
      };
      const send = (waitMs: number) => {
        try {
          this.post(call, args);
        } catch (e) {
          this.forget(call);
          return reject(e);
        }
        sends++;
        timer = setTimeout(() => {
          const left = timeoutMs - (performance.now() - t0);
          if (!resend || left <= 0) {
            this.forget(call);
            return reject(new HubError('TIMEOUT', `no reply to ${op} from the hub on ${this.path} within ${timeoutMs} ms` + (sends > 1 ? ` (sent ${sends} times)` : '')));
          }
          send(Math.min(2 * waitMs, left));
        }, waitMs);
      };
      send(resend ? Math.min(RESEND_MS, timeoutMs) : timeoutMs);
    });
  }

  /** Sends `call` once more, with a fresh id; returns the frame's length. Throws a HubError for a request
   *  the hub would refuse as unreadable (an EUI that is not one; a body past MAX_BODY). */
  private post(call: Call, args: Message): number {
    let i: number;
    let frame: Uint8Array;
    try {
      for (let tries = 1; ; tries++) {
        i = this.nextId;
        this.nextId = (this.nextId % MAX_ID) + 1; // from 1: 0 marks an event
        frame = encodeFrame(encodeBody(encodeRequest({ ...args, i, op: call.op })), crc32);
        // A hello may land at a REPL that holds the port (a hub that lent it): one carrying Ctrl-C (0x03)
        // or Ctrl-D (0x04), which interrupt a board and end the Linux interpreter, goes with another id
        // (and so another CRC). Bounded: a hello whose arguments hold such a byte is sent as it is.
        if (call.op !== 'hello' || tries >= HELLO_IDS || consoleSafe(frame)) break;
        this.nextId = randomId(); // the next id would share the unsafe byte in all but its lowest
      }
    } catch (e) {
      if (e instanceof RequestError) throw new HubError(e.code, e.message);
      throw e instanceof RangeError ? new HubError('TOO_BIG', e.message) : e;
    }
    call.ids.push(i);
    this.pending.set(i, { call, at: performance.now() });
    this.port.write(frame);
    return frame.length;
  }

  /** Stops waiting for replies to `call`: a late one is ignored. */
  private forget(call: Call): void {
    for (const i of call.ids) this.pending.delete(i);
  }

  /** Stores `bytes` on the hub as `name`, resuming an interrupted upload of the same file. */
  async upload(name: string, bytes: Uint8Array, onProgress?: Progress): Promise<UploadResult> {
    const t0 = Date.now();
    const size = bytes.length;
    const begun = await this.request('img.begin', { name, size, crc: crc32(bytes) });
    const from = begun.next as number;
    onProgress?.(from, size);
    const sent = from < size ? await this.sendChunks('img.data', { name }, bytes, from, onProgress) : 0;
    const end = await this.request('img.end', { name }, END_TIMEOUT_MS);
    return { image: end.image as Message, resumedFrom: from, sent, ms: Date.now() - t0 };
  }

  /**
   * Registers `bytes` on the hub as streamed image `name` (it stores none of it) and answers the hub's
   * requests for ranges from `bytes` until stop(): the hub serves its clients from those ranges.
   */
  async stream(name: string, bytes: Uint8Array, facts: StreamFacts): Promise<ImageStreamer> {
    let served = 0;
    const serve = (n: NeedEvent) => {
      if (n.img !== name || !(n.off >= 0 && n.len > 0 && n.off + n.len <= bytes.length)) return;
      this.request('img.range', { name, off: n.off, d: bytes.subarray(n.off, n.off + n.len) }).then(
        () => (served += n.len),
        (e: HubError) => {
          // A lost range is asked for again; anything else is worth telling the user.
          if (e.code !== 'TIMEOUT' && e.code !== 'CLOSED') this.emit('log', { level: 'error', msg: `range ${n.off}+${n.len} of ${name}: ${e.message}` });
        },
      );
    };
    this.on('need', serve); // before registering: the hub may ask at once
    try {
      const r = await this.request('img.stream', {
        name,
        size: bytes.length,
        crc: crc32(bytes),
        manufacturerCode: facts.manufacturerCode,
        imageType: facts.imageType,
        fileVersion: facts.fileVersion,
        ...(facts.minHardwareVersion !== undefined ? { minHw: facts.minHardwareVersion } : {}),
        ...(facts.maxHardwareVersion !== undefined ? { maxHw: facts.maxHardwareVersion } : {}),
      });
      return { image: r.image as Message, served: () => served, stop: () => this.off('need', serve) };
    } catch (e) {
      this.off('need', serve);
      throw e;
    }
  }

  /**
   * Sends `bytes` from `from` as `op` requests ({...fixed, off, d}: img.data, or fw.data for the hub's own
   * firmware); resolves with the bytes sent.
   * Go-back-N over img.data. The hub takes chunks only in order and answers each in order with the offset it
   * expects next, so a reply also settles every chunk sent before it: one whose end it passed arrived (its own
   * reply was lost); when the oldest chunk still in flight does not start where the hub expects, the chunk
   * there was lost, and everything from it goes again at once. A reply that does not come in twice the round
   * trip sends one chunk more, whose reply says what was lost; only then, and for the last chunk, does the
   * retransmission timeout resend. Chunks shrink on a lossy line (chooseChunk).
   */
  sendChunks(op: string, fixed: Message, bytes: Uint8Array, from: number, onProgress?: Progress): Promise<number> {
    const name = fixed.name !== undefined ? String(fixed.name) : op;
    const size = bytes.length;
    const maxChunk = Math.max(1, this.info.maxChunk);
    const stallMs = MAX_STALLS * this.timeoutMs;
    const flight: Chunk[] = [];
    let acked = from;
    let sendOff = from;
    let sent = 0;
    let chunkSize = maxChunk;
    /** Bytes of an img.data frame besides its chunk's, once one is sent. */
    let overhead = 0;
    let progressAt = performance.now();
    let backoff = 1;
    // One timer, for the oldest chunk in flight from when it became the oldest: the probes, then the timeout.
    let timer: NodeJS.Timeout | undefined;
    let timed: Chunk | undefined;
    let deadline = 0;
    let probes = 0;
    let done = false;
    return new Promise((resolve, reject) => {
      const finish = (e?: Error) => {
        done = true;
        clearTimeout(timer);
        for (const c of flight) this.forget(c.call);
        if (e) reject(e);
        else resolve(sent);
      };
      const stalled = (why: string) =>
        finish(new HubError('TIMEOUT', `upload of ${name} stalled at offset ${acked}: no progress for ${Math.round(performance.now() - progressAt)} ms (${why})`));
      const send = () => {
        const off = sendOff;
        if (overhead) chunkSize = chooseChunk(chunkSize, byteErrorRate(this.loss), maxChunk, overhead);
        const d = bytes.subarray(off, Math.min(size, off + chunkSize));
        const c: Chunk = { call: { op, request: { ...fixed, off, op }, ids: [], settle: (r) => settled(c, r) }, off, end: off + d.length, bytes: 0 };
        try {
          c.bytes = this.post(c.call, { ...fixed, off, d });
        } catch (e) {
          return finish(e as Error); // a chunk the hub could not take (TOO_BIG: a long name)
        }
        overhead = c.bytes - d.length;
        flight.push(c);
        sendOff = c.end;
        sent += d.length;
      };
      const fill = () => {
        while (!done && sendOff < size && flight.length < WINDOW) send();
        if (done || flight[0] === timed) return;
        clearTimeout(timer);
        timed = flight[0];
        if (!timed) return;
        const rto = retransmitTimeout(this.roundTrip, this.timeoutMs) * backoff;
        deadline = performance.now() + rto;
        probes = 0;
        timer = setTimeout(expire, Math.min(rto, probeTimeout(this.roundTrip)));
      };
      const rewind = (to: number) => {
        for (const c of flight) this.forget(c.call);
        flight.length = 0;
        sendOff = to;
      };
      const expire = () => {
        const left = deadline - performance.now();
        if (left > 0 && probes < MAX_PROBES && sendOff < size) {
          // Every chunk in flight or every reply may be lost: the next chunk's reply will say. Nothing goes twice,
          // so a probe on a reply that is merely late costs nothing.
          probes++;
          send();
          if (!done) timer = setTimeout(expire, Math.min(left, probeTimeout(this.roundTrip)));
          return;
        }
        if (left > 0) {
          timer = setTimeout(expire, left);
          return;
        }
        timed = undefined;
        if (performance.now() - progressAt >= stallMs) return stalled(`no reply to ${op}`);
        this.loss = nextLineLoss(this.loss, flight[0].bytes, true);
        rewind(acked);
        fill();
        backoff = Math.min(2 * backoff, 2 ** MAX_STALLS);
      };
      const answered = (chunk: Chunk, next: number) => {
        const k = flight.indexOf(chunk);
        for (const c of flight.splice(0, k + 1)) {
          if (c !== chunk) this.forget(c.call);
          if (c.end <= next) this.loss = nextLineLoss(this.loss, c.bytes, false);
        }
        if (next > acked) {
          acked = next;
          progressAt = performance.now();
          backoff = 1;
          onProgress?.(acked, size);
        }
        if (acked >= size) return finish();
        const oldest = flight[0];
        if (oldest ? oldest.off !== next : sendOff !== next) {
          // The chunk at `next` was lost (its frame about as long as this one's): the hub refuses everything behind it.
          this.loss = nextLineLoss(this.loss, chunk.bytes, true);
          if (performance.now() - progressAt >= stallMs) return stalled(`the hub still expects offset ${next}`);
          rewind(next);
        }
        fill();
      };
      const settled = (c: Chunk, r: Message | HubError) => {
        if (done) return;
        if (!(r instanceof HubError)) answered(c, r.next as number);
        else if (r.code === 'OUT_OF_ORDER' && r.next !== undefined) answered(c, r.next);
        else finish(r);
      };
      fill();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll('CLOSED', 'client closed');
    if (this.port.isOpen) await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  /** Bytes from the port. */
  private take(b: Uint8Array): void {
    for (const body of this.reader.push(b)) this.receive(body);
  }

  /** A frame body from the hub: a reply to a pending request, or an event. */
  private receive(body: Uint8Array): void {
    let m: Message;
    try {
      const a = decodeBody(body);
      const i = a[0];
      m = decodeMessage(a, typeof i === 'number' && i > 0 ? this.pending.get(i)?.call.request : undefined);
    } catch {
      this.undecodable++;
      return;
    }
    this.dispatch(m);
  }

  private dispatch(m: Message): void {
    if (m.ev !== undefined) {
      // job and alert events carry one object; log events are flat. Others (a newer hub's) are ignored,
      // and an event named 'error' must never reach EventEmitter's throw-if-unhandled path.
      const { ev, ...rest } = m;
      if (ev === 'job') this.emit('job', rest.job);
      else if (ev === 'alert') this.emit('alert', rest.alert);
      else if (ev === 'log') this.emit('log', rest);
      else if (ev === 'need') this.emit('need', rest);
      return;
    }
    const p = typeof m.i === 'number' ? this.pending.get(m.i) : undefined;
    if (!p) return; // a late reply to a request that timed out, or to one answered already
    this.forget(p.call);
    // Each send has its own id, so the reply says which send it answers: a true round trip. The chunks'
    // (img.data, fw.data) alone time the line (img.end, say, waits for the hub to check a whole image).
    if (CHUNK_OPS.has(p.call.op)) this.roundTrip = nextRoundTrip(this.roundTrip, performance.now() - p.at);
    p.call.settle(m.ok === true ? m : new HubError(String(m.err || 'ERROR'), String(m.msg || p.call.op + ' refused by the hub'), m));
  }

  private failAll(code: string, why: string): void {
    const calls = new Set([...this.pending.values()].map((p) => p.call));
    this.pending.clear();
    for (const call of calls) call.settle(new HubError(code, call.op + ' abandoned: ' + why));
  }
}

/** Why the port would not open, in words for someone who named the wrong thing or whose port is taken. */
function openFailure(path: string, e: Error): string {
  if (/Cannot lock port/i.test(e.message)) return `hub port ${path} is in use by another program (another chub, a serial monitor, the Espruino IDE?): ${e.message}`;
  if (/Inappropriate ioctl|ENOTTY/i.test(e.message)) return `${path} is not a serial port (${e.message})`;
  return 'cannot open hub port ' + path + ': ' + e.message;
}
