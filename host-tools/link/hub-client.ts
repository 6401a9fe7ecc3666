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
/** img.data chunks in flight; the hub answers in order, so a lost one is noticed by the next reply. */
const WINDOW = 8;
/** Timeouts in a row without progress before an upload gives up. */
const MAX_STALLS = 3;

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

interface Pending {
  op: string;
  /** The request: its reply's results are named by its op, and error texts name its device or image. */
  request: Message;
  resolve(m: Message): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

function randomId(): number {
  return 1 + Math.floor(Math.random() * 0x7fffffff);
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
  info: HelloInfo = { fw: '?', board: '?', mode: '?', time: 0, maxChunk: 256 };

  private constructor(private port: SerialPort, private timeoutMs: number) {
    super();
    port.on('data', (d: Buffer) => {
      for (const body of this.reader.push(new Uint8Array(d))) this.receive(body);
    });
    port.on('close', () => this.failAll('CLOSED', 'port ' + port.path + ' closed'));
    port.on('error', (e) => this.failAll('PORT', 'port ' + port.path + ': ' + e.message));
  }

  /** Opens the port and greets the hub (setting its clock); fails if no hub answers.
   *  `timeoutMs` is how long any request waits for its reply unless it says otherwise. */
  static async open(path: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HubClient> {
    const port = new SerialPort({ path, baudRate: BAUD_RATE, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((e) => (e ? reject(new HubError('PORT', 'cannot open hub port ' + path + ': ' + e.message)) : resolve())),
    );
    const c = new HubClient(port, timeoutMs);
    try {
      // A hub that lent its port to the REPL (firmware/espruino/console-port.ts) takes it back when the
      // wake line is typed there. It goes only to a hub silent to the first hello: the line's Ctrl-C
      // clears that hello from the REPL's input, and the next hello waits until the line has run.
      // The clock goes in that hello unless its own bytes hold Ctrl-C or Ctrl-D (then in a second one).
      const time = Date.now();
      const greeting = consoleSafe(time) ? { time } : {};
      try {
        c.info = (await c.request('hello', greeting, Math.min(timeoutMs, FIRST_HELLO_MS))) as unknown as HelloInfo;
      } catch (e) {
        if ((e as HubError).code !== 'TIMEOUT') throw e;
        c.info = await c.wakeAndHello(port, greeting);
      }
      if (!('time' in greeting)) c.info = (await c.request('hello', { time: Date.now() })) as unknown as HelloInfo;
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  /** Types the wake line, waits for the REPL to run it, and says hello; a busy board gets a second, slower try. */
  private async wakeAndHello(port: SerialPort, greeting: Message): Promise<HelloInfo> {
    for (let attempt = 1; ; attempt++) {
      port.write(WAKE_LINE);
      await new Promise((r) => setTimeout(r, WAKE_SETTLE_MS * attempt));
      try {
        return (await this.request('hello', greeting)) as unknown as HelloInfo;
      } catch (e) {
        if ((e as HubError).code !== 'TIMEOUT' || attempt >= WAKE_TRIES) throw e;
      }
    }
  }

  get path(): string {
    return this.port.path;
  }

  /** One request; list replies the hub pages (`more`: where the next page starts) come back whole. */
  async request(op: string, args: Message = {}, timeoutMs = this.timeoutMs): Promise<Message> {
    const reply = await this.requestOnce(op, args, timeoutMs);
    while (typeof reply.more === 'number') {
      const next = await this.requestOnce(op, { ...args, from: reply.more }, timeoutMs);
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

  private requestOnce(op: string, args: Message, timeoutMs: number): Promise<Message> {
    if (this.closed) return Promise.reject(new HubError('CLOSED', 'cannot send ' + op + ': port ' + this.path + ' is closed'));
    let i: number;
    let request: Message;
    let frame: Uint8Array;
    try {
      for (let tries = 1; ; tries++) {
        i = this.nextId;
        this.nextId = (this.nextId % 0xffffffff) + 1; // u32 from 1: 0 marks an event
        request = { ...args, i, op };
        frame = encodeFrame(encodeBody(encodeRequest(request)), crc32);
        // A hello may land at a REPL that holds the port (a hub that lent it): one carrying Ctrl-C (0x03)
        // or Ctrl-D (0x04), which interrupt a board and end the Linux interpreter, goes with another id
        // (and so another CRC). Bounded: a hello whose arguments hold such a byte is sent as it is.
        if (op !== 'hello' || tries >= HELLO_IDS || consoleSafe(frame)) break;
        this.nextId = randomId(); // the next id would share the unsafe byte in all but its lowest
      }
    } catch (e) {
      // Refused here, as the hub would have refused it: an EUI that is not one, a body past MAX_BODY (RangeError).
      if (e instanceof RequestError) return Promise.reject(new HubError(e.code, e.message));
      return Promise.reject(e instanceof RangeError ? new HubError('TOO_BIG', e.message) : e);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(i);
        reject(new HubError('TIMEOUT', 'no reply to ' + op + ' from the hub on ' + this.path + ' within ' + timeoutMs + ' ms'));
      }, timeoutMs);
      this.pending.set(i, { op, request, resolve, reject, timer });
      this.port.write(frame);
    });
  }

  /** Stores `bytes` on the hub as `name`, resuming an interrupted upload of the same file. */
  async upload(name: string, bytes: Uint8Array, onProgress?: Progress): Promise<UploadResult> {
    const t0 = Date.now();
    const size = bytes.length;
    const begun = await this.request('img.begin', { name, size, crc: crc32(bytes) });
    const from = begun.next as number;
    onProgress?.(from, size);
    const sent = from < size ? await this.sendData(name, bytes, from, onProgress) : 0;
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

  /** Go-back-N over img.data: WINDOW chunks in flight, cumulative `next` acks, rewind on OUT_OF_ORDER. */
  private sendData(name: string, bytes: Uint8Array, from: number, onProgress?: Progress): Promise<number> {
    const chunk = Math.max(1, this.info.maxChunk);
    const size = bytes.length;
    let acked = from;
    let sendOff = from;
    let inFlight = 0;
    // Replies to chunks sent before the last rewind are stale: they neither rewind nor fail the upload.
    let generation = 0;
    let stalls = 0;
    let sent = 0;
    let failed = false;
    return new Promise((resolve, reject) => {
      const fail = (e: Error) => {
        if (!failed) reject(e);
        failed = true;
      };
      const rewind = (to: number) => {
        generation++;
        sendOff = to;
      };
      const pump = () => {
        if (failed) return;
        // Chunks still in flight then can only be stale ones whose replies were lost.
        if (acked >= size) return resolve(sent);
        while (inFlight < WINDOW && sendOff < size) {
          const off = sendOff;
          const d = bytes.subarray(off, Math.min(size, off + chunk));
          const gen = generation;
          sendOff += d.length;
          sent += d.length;
          inFlight++;
          this.request('img.data', { name, off, d }).then(
            (r) => {
              inFlight--;
              const next = r.next as number;
              if (next > acked) {
                acked = next;
                stalls = 0;
                onProgress?.(acked, size);
              }
              pump();
            },
            (e: HubError) => {
              inFlight--;
              if (e.code === 'OUT_OF_ORDER' && e.next !== undefined) {
                if (gen === generation) rewind(e.next);
                if (e.next > acked) acked = e.next;
              } else if (e.code === 'TIMEOUT') {
                if (gen === generation) {
                  if (++stalls > MAX_STALLS) return fail(new HubError('TIMEOUT', 'upload of ' + name + ' stalled at offset ' + acked + ': ' + e.message));
                  rewind(acked);
                }
              } else return fail(e);
              pump();
            },
          );
        }
      };
      pump();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll('CLOSED', 'client closed');
    if (this.port.isOpen) await new Promise<void>((resolve) => this.port.close(() => resolve()));
  }

  /** A frame body from the hub: a reply to a pending request, or an event. */
  private receive(body: Uint8Array): void {
    let m: Message;
    try {
      const a = decodeBody(body);
      if (!Array.isArray(a)) throw new RequestError('MALFORMED', 'not an array');
      const i = a[0];
      m = decodeMessage(a, typeof i === 'number' && i > 0 ? this.pending.get(i)?.request : undefined);
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
    if (!p) return; // a late reply to a request that timed out
    this.pending.delete(m.i as number);
    clearTimeout(p.timer);
    if (m.ok === true) p.resolve(m);
    else p.reject(new HubError(String(m.err || 'ERROR'), String(m.msg || p.op + ' refused by the hub'), m));
  }

  private failAll(code: string, why: string): void {
    for (const [i, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(i);
      p.reject(new HubError(code, p.op + ' abandoned: ' + why));
    }
  }
}
