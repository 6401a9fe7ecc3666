// A serial line of a given baud rate between a client and a port that has none (a pty): a socat pty pair
// for the client, and a relay that forwards each direction no faster than the UART would, in order and
// unchanged. Benches measure uploads through it (a pty alone moves megabytes per second).
import { SerialPort } from 'serialport';
import { openPtyPair, PtyPair } from './pty-pair';

/** 8N1: a start bit, 8 data bits and a stop bit on the wire per byte. */
export const BITS_PER_BYTE = 10;
/** Bytes delivered per timer tick at most: ~5.6 ms at 115200, so a few hundred writes a second, not thousands. */
export const DEFAULT_GRAIN = 64;

export function lineBytesPerSecond(baud: number): number {
  return baud / BITS_PER_BYTE;
}

/** One direction of the wire: bytes it could have delivered since `atMs` but has not (fractional). */
export interface LineBudget {
  credit: number;
  atMs: number;
  /** Nothing was waiting at `atMs`: the line was idle, and an idle UART saves nothing up. */
  idle: boolean;
}

export const IDLE_LINE: LineBudget = { credit: 0, atMs: 0, idle: true };

export interface Pace {
  /** Bytes to deliver now (≤ queued). */
  send: number;
  next: LineBudget;
  /** When to come back for the rest (undefined once nothing is left): when `grain` bytes (or all that is left) are due. */
  waitMs?: number;
}

/**
 * The wire's arithmetic, with no clock of its own. Credit grows at `bytesPerSecond` while bytes wait, so a
 * late timer catches up (bytes then arrive in a burst, as from a UART FIFO) but the total delivered never
 * exceeds the line rate times the busy time. When the queue empties the leftover fraction is dropped and
 * the line restarts from zero with the next byte, which therefore arrives one byte time after it was queued.
 */
export function pace(b: LineBudget, nowMs: number, queued: number, bytesPerSecond: number, grain = DEFAULT_GRAIN): Pace {
  if (queued <= 0) return { send: 0, next: { credit: 0, atMs: nowMs, idle: true } };
  const credit = b.idle ? 0 : b.credit + (Math.max(0, nowMs - b.atMs) * bytesPerSecond) / 1000;
  // The epsilon: summed fractions (11.52 + 11.52 + …) land a hair under a whole byte they add up to.
  const send = Math.min(queued, Math.floor(credit + 1e-9));
  const left = queued - send;
  if (left === 0) return { send, next: { credit: 0, atMs: nowMs, idle: true } };
  const rest = Math.max(0, credit - send);
  const want = Math.min(left, Math.max(1, grain));
  return { send, next: { credit: rest, atMs: nowMs, idle: false }, waitMs: ((want - rest) * 1000) / bytesPerSecond };
}

/** One direction: bytes read from `from` wait here and go to `to` as the budget allows. */
class Direction {
  private queue: Buffer[] = [];
  private queued = 0;
  private budget: LineBudget = IDLE_LINE;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(from: SerialPort, private to: SerialPort, private bytesPerSecond: number) {
    from.on('data', (d: Buffer) => {
      if (this.stopped) return;
      this.queue.push(d);
      this.queued += d.length;
      if (!this.timer) this.step();
    });
  }

  private step(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const p = pace(this.budget, performance.now(), this.queued, this.bytesPerSecond);
    this.budget = p.next;
    if (p.send > 0) this.to.write(this.take(p.send));
    if (p.waitMs !== undefined) this.timer = setTimeout(() => this.step(), p.waitMs);
  }

  private take(n: number): Buffer {
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      const head = this.queue[0];
      if (head.length <= need) {
        parts.push(head);
        this.queue.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.queue[0] = head.subarray(need);
        need = 0;
      }
    }
    this.queued -= n;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.queued = 0;
  }
}

export interface RateLimitedRelay {
  /** What the client opens instead of the upstream port. */
  path: string;
  baud: number;
  close(): Promise<void>;
}

function openPort(p: string, role: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    // The baud rate means nothing to a pty; the relay's pacing is what limits the line.
    const port = new SerialPort({ path: p, baudRate: 115200, autoOpen: false });
    port.open((e) => (e ? reject(new Error(`rate-limited relay: cannot open ${role} port ${p}: ${e.message}`)) : resolve(port)));
  });
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
}

/**
 * Puts a `baud` 8N1 line in front of `upstream`: the client opens the returned `path`. Writes are not held
 * back (the relay buffers without limit), so a client sees the line in when its bytes arrive and are
 * answered, not in write backpressure. Bytes still queued at close() are dropped; close() may be called again.
 */
export async function openRateLimitedRelay(upstream: string, baud: number): Promise<RateLimitedRelay> {
  if (!(baud > 0)) throw new Error(`rate-limited relay: baud must be positive, not ${baud}`);
  const bps = lineBytesPerSecond(baud);
  let pair: PtyPair | undefined;
  let up: SerialPort | undefined;
  let near: SerialPort | undefined;
  const dirs: Direction[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const d of dirs) d.stop();
    await Promise.all([up, near].map((p) => (p ? closePort(p) : undefined)));
    pair?.close();
  };
  try {
    pair = await openPtyPair('relay');
    up = await openPort(upstream, 'upstream');
    near = await openPort(pair.a, 'client-side');
    // A port error (the other end gone) ends nothing here: the relay lives until close().
    for (const p of [up, near]) p.on('error', () => undefined);
    dirs.push(new Direction(near, up, bps), new Direction(up, near, bps));
    return { path: pair.b, baud, close };
  } catch (e) {
    await close();
    throw e;
  }
}
