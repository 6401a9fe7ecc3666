// A timing and loss model of the HAN: one 802.15.4 channel shared by the coordinator and every device
// (FACTS §3). Per frame: CSMA-CA backoff, airtime for its real size (han-frame.ts), MAC ACK or ACK wait,
// up to macMaxFrameRetries retransmissions. Per link: random loss, bursts of interference, outages,
// duplicates, reordering, latency and LQI. Seeded streams make a run replay exactly. It never sets timers:
// callers schedule what it returns, so the same model serves real-time and virtual-time runs.
import { ackAirtimeUs, COORDINATOR, frameAirtimeUs, HanFrame } from './han-frame';

export const TURNAROUND_US = 192;
/** Unslotted CSMA-CA: backoff unit 20 symbols, exponent from macMinBE up to macMaxBE on a busy channel. */
export const BACKOFF_UNIT_US = 320;
export const MAC_MIN_BE = 3;
export const MAC_MAX_BE = 5;
/** Clear channel assessment: 8 symbols. */
export const CCA_US = 128;
export const MAC_MAX_FRAME_RETRIES = 3;
/** macAckWaitDuration: 54 symbols before a sender gives up on an ACK and retries. */
export const ACK_WAIT_US = 864;
/** Longest extra delay of a held-back frame (reordering) and of a duplicate's second copy. */
export const REORDER_MAX_DELAY_MS = 200;
export const DUPLICATE_MAX_DELAY_MS = 500;
/** A broadcast's originator repeats it if no neighbour relays it within this time (nwkPassiveAckTimeout). */
export const NWK_PASSIVE_ACK_TIMEOUT_MS = 500;
export const NWK_MAX_BROADCAST_RETRIES = 2;

/** The radio between the coordinator and one device. Rates are chances per frame (loss: per attempt). */
export interface LinkSpec {
  loss: number;
  /** Interference: bursts `lengthMs` long (mean) every `everyMs` (mean); nothing gets through during one. */
  burst?: { everyMs: number; lengthMs: number };
  duplicate: number;
  reorder: number;
  latencyMs: number;
  /** Mean link quality reported for received frames; derived from the loss rate if not given. */
  lqi?: number;
}

export const CLEAN_LINK: LinkSpec = { loss: 0, duplicate: 0, reorder: 0, latencyMs: 0 };

/** One transmission attempt of a frame, in scheduler ms. */
export interface Attempt {
  start: number;
  end: number;
  /** The addressee received it (for a broadcast: at least one did). */
  delivered: boolean;
  acked: boolean;
  /** When the ACK starts (acked attempts only). */
  ackAt: number;
}

/** What went on the air for one frame: the capture's view. */
export interface AirFrame {
  frame: HanFrame;
  attempts: Attempt[];
}

export interface Delivery {
  delivered: boolean;
  attempts: number;
  /** When the sender knows the outcome: the ACK is in, or the last retry went unanswered. */
  done: number;
  /** When the receiving stack hands the frame up: none if lost, two if duplicated. */
  arrivals: number[];
  linkQuality: number;
}

export interface RadioStats {
  frames: number;
  attempts: number;
  macRetries: number;
  /** Unicasts that failed every attempt, and broadcast copies that missed a receiver. */
  undelivered: number;
  lostRandom: number;
  lostBurst: number;
  lostOutage: number;
  duplicates: number;
  /** Frames held back so later ones may overtake them, and those that actually arrived after a later frame. */
  reordered: number;
  overtaken: number;
  busyCca: number;
  /** Channel time used, backoffs excluded. */
  airMs: number;
}

export interface RadioModelOptions {
  /** Loss rate of links without their own settings. */
  lossRate?: number;
  /** Settings of links without their own (lossRate, if given, overrides its loss). */
  link?: Partial<LinkSpec>;
  seed?: number;
  /** Multiplier for every simulated delay: 1 is real time, 0.05 runs 20× faster. */
  timeScale?: number;
}

/** mulberry32: a tiny, good-enough 32-bit PRNG returning [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream per (seed, key): adding a device does not change the draws of the others. */
export function seededStream(seed: number, key: number): () => number {
  return mulberry32((seed ^ Math.imul(key + 1, 0x9e3779b1)) >>> 0);
}

/** Random CSMA-CA backoff for exponent `be`: 0 … 2^be − 1 units. */
export function backoffUs(be: number, rand: () => number): number {
  return Math.floor(rand() * (1 << be)) * BACKOFF_UNIT_US;
}

function exponential(mean: number, rand: () => number): number {
  return -mean * Math.log(1 - rand());
}

type LossCause = 'random' | 'burst' | 'outage' | null;

interface LinkState {
  spec: LinkSpec;
  rand: () => number;
  burstStart: number;
  burstEnd: number;
  outages: { from: number; to: number }[];
  /** Latest arrival so far, per direction (to the device, to the coordinator): for counting overtakes. */
  lastArrival: [number, number];
  counts: LinkStats;
}

/** Per link, both directions. */
export interface LinkStats {
  frames: number;
  macRetries: number;
  undelivered: number;
}

export class RadioModel {
  readonly timeScale: number;
  private readonly seed: number;
  private readonly defaultLink: LinkSpec;
  private links = new Map<number, LinkState>();
  private coordinatorRand: () => number;
  private busyUntil = 0;
  /** A node sends one frame at a time: its next frame waits for the previous one's outcome. */
  private txFree = new Map<number, number>();
  private observers: ((a: AirFrame) => void)[] = [];
  private counts: RadioStats = { frames: 0, attempts: 0, macRetries: 0, undelivered: 0, lostRandom: 0, lostBurst: 0, lostOutage: 0, duplicates: 0, reordered: 0, overtaken: 0, busyCca: 0, airMs: 0 };

  constructor(opts: RadioModelOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.coordinatorRand = seededStream(this.seed, COORDINATOR);
    this.timeScale = opts.timeScale ?? 1;
    this.defaultLink = { ...CLEAN_LINK, ...opts.link };
    if (opts.lossRate !== undefined) this.defaultLink.loss = opts.lossRate;
  }

  /** Settings of the link to one device (its network address), over the defaults. */
  setLink(nwk: number, spec: Partial<LinkSpec>): void {
    this.state(nwk).spec = { ...this.defaultLink, ...spec };
  }

  /** Nothing gets through on this link from `from` to `to` (scheduler ms). */
  addOutage(nwk: number, from: number, to: number): void {
    this.state(nwk).outages.push({ from, to });
  }

  /** A stream of its own for a device's behaviour (jitter), independent of the radio's draws. */
  streamFor(key: number): () => number {
    return seededStream(this.seed ^ 0x5bd1e995, key);
  }

  observe(fn: (a: AirFrame) => void): void {
    this.observers.push(fn);
  }

  stats(): RadioStats {
    return { ...this.counts };
  }

  linkStats(nwk: number): LinkStats {
    return { ...this.state(nwk).counts };
  }

  /** A simulated duration in scheduler milliseconds. */
  scale(ms: number): number {
    return ms * this.timeScale;
  }

  /** A unicast between the coordinator and a device, handed to the sender's MAC at `now`. */
  unicast(now: number, frame: HanFrame): Delivery {
    const device = frame.src === COORDINATOR ? frame.dst : frame.src;
    const link = this.state(device);
    const rand = this.randOf(frame.src);
    const attempts: Attempt[] = [];
    let t = Math.max(now, this.txFree.get(frame.src) ?? 0);
    let done = t;
    for (let n = 0; n <= MAC_MAX_FRAME_RETRIES; n++) {
      const start = this.channelAccess(t, rand);
      const end = start + this.us(frameAirtimeUs(frame));
      const cause = this.lossAt(link, start);
      this.count(cause);
      if (cause === null) {
        const ackAt = end + this.us(TURNAROUND_US);
        done = ackAt + this.us(ackAirtimeUs());
        this.occupy(start, done);
        attempts.push({ start, end, delivered: true, acked: true, ackAt });
        break;
      }
      this.occupy(start, end);
      done = end + this.us(ACK_WAIT_US);
      attempts.push({ start, end, delivered: false, acked: false, ackAt: end });
      t = done;
    }
    this.txFree.set(frame.src, done);
    const last = attempts[attempts.length - 1];
    const delivered = last.delivered;
    // The receiver's transceiver sends the ACK a turnaround after the frame (IEEE 802.15.4-2006 §7.5.6.4.2)
    // and can neither sense the channel nor send while it does: its own next frame starts channel access after.
    if (delivered) this.txFree.set(frame.dst, Math.max(this.txFree.get(frame.dst) ?? 0, done));
    for (const c of [this.counts, link.counts]) {
      c.frames++;
      c.macRetries += attempts.length - 1;
      if (!delivered) c.undelivered++;
    }
    this.counts.attempts += attempts.length;
    this.emit({ frame, attempts });
    const toCoordinator = frame.dst === COORDINATOR ? 1 : 0;
    return { delivered, attempts: attempts.length, done, arrivals: delivered ? this.arrivals(link, last.end, toCoordinator) : [], linkQuality: this.lqi(link) };
  }

  /**
   * A broadcast (no MAC ACK) heard over the links of `receivers` (device addresses; for a device's own
   * broadcast, its address: the coordinator hears it over that device's link). Repeated up to `repeats`
   * times, a passive-ack timeout apart, while a receiver has not heard it (the NWK layer's broadcast
   * retries, ZigBee spec §3.6.5). Arrivals per receiver.
   */
  broadcast(now: number, frame: HanFrame, receivers: number[], repeats = 0): { done: number; arrivals: Map<number, number[]> } {
    const rand = this.randOf(frame.src);
    const arrivals = new Map<number, number[]>(receivers.map((r) => [r, []]));
    const attempts: Attempt[] = [];
    let t = Math.max(now, this.txFree.get(frame.src) ?? 0);
    let end = t;
    for (let n = 0; n <= repeats; n++) {
      const start = this.channelAccess(t, rand);
      end = start + this.us(frameAirtimeUs(frame));
      this.occupy(start, end);
      let heard = false;
      for (const nwk of receivers) {
        if ((arrivals.get(nwk) as number[]).length > 0) continue;
        const link = this.state(nwk);
        const cause = this.lossAt(link, start);
        this.count(cause);
        if (cause === null) arrivals.set(nwk, this.arrivals(link, end, frame.src === COORDINATOR ? 0 : 1));
        heard = heard || cause === null;
      }
      attempts.push({ start, end, delivered: heard, acked: false, ackAt: end });
      if ([...arrivals.values()].every((a) => a.length > 0)) break;
      t = end + this.scale(NWK_PASSIVE_ACK_TIMEOUT_MS);
    }
    this.txFree.set(frame.src, end);
    this.counts.frames++;
    this.counts.attempts += attempts.length;
    for (const nwk of receivers) {
      const link = this.state(nwk);
      link.counts.frames++;
      if ((arrivals.get(nwk) as number[]).length === 0) {
        this.counts.undelivered++;
        link.counts.undelivered++;
      }
    }
    this.emit({ frame, attempts });
    return { done: end, arrivals };
  }

  /** Receive-side times of a delivered frame: latency, maybe held back, maybe twice. */
  private arrivals(link: LinkState, end: number, direction: 0 | 1): number[] {
    const s = link.spec;
    let at = end + this.scale(s.latencyMs);
    if (s.reorder > 0 && link.rand() < s.reorder) {
      this.counts.reordered++;
      at += this.scale(link.rand() * REORDER_MAX_DELAY_MS);
    }
    if (at < link.lastArrival[direction]) this.counts.overtaken++;
    link.lastArrival[direction] = Math.max(link.lastArrival[direction], at);
    if (s.duplicate > 0 && link.rand() < s.duplicate) {
      this.counts.duplicates++;
      return [at, at + this.scale(link.rand() * DUPLICATE_MAX_DELAY_MS)];
    }
    return [at];
  }

  /**
   * When a frame ready at `t` starts: a random backoff and a CCA, repeated (with a larger exponent) while
   * another frame holds the channel. Frames take the channel one at a time, in the order they were handed
   * over: the model has no collisions and no channel-access failures.
   */
  private channelAccess(t: number, rand: () => number): number {
    let be = MAC_MIN_BE;
    for (;;) {
      t += this.us(backoffUs(be, rand) + CCA_US);
      if (t >= this.busyUntil) return t;
      this.counts.busyCca++;
      be = Math.min(be + 1, MAC_MAX_BE);
    }
  }

  private lossAt(link: LinkState, t: number): LossCause {
    if (link.outages.some((o) => t >= o.from && t < o.to)) return 'outage';
    if (this.inBurst(link, t)) return 'burst';
    return link.spec.loss > 0 && link.rand() < link.spec.loss ? 'random' : null;
  }

  /** Bursts are drawn lazily along the link's timeline, so asking never changes what comes later. */
  private inBurst(link: LinkState, t: number): boolean {
    const b = link.spec.burst;
    if (!b) return false;
    while (t >= link.burstEnd) {
      link.burstStart = link.burstEnd + this.scale(exponential(b.everyMs, link.rand));
      link.burstEnd = link.burstStart + this.scale(exponential(b.lengthMs, link.rand));
    }
    return t >= link.burstStart;
  }

  private count(cause: LossCause): void {
    if (cause === 'random') this.counts.lostRandom++;
    else if (cause === 'burst') this.counts.lostBurst++;
    else if (cause === 'outage') this.counts.lostOutage++;
  }

  private lqi(link: LinkState): number {
    const mean = link.spec.lqi ?? 255 * (1 - link.spec.loss);
    return Math.max(0, Math.min(255, Math.round(mean - link.rand() * 20)));
  }

  private occupy(start: number, end: number): void {
    this.busyUntil = Math.max(this.busyUntil, end);
    this.counts.airMs += end - start;
  }

  private state(nwk: number): LinkState {
    let s = this.links.get(nwk);
    if (!s) {
      s = { spec: this.defaultLink, rand: seededStream(this.seed, nwk), burstStart: 0, burstEnd: 0, outages: [], lastArrival: [0, 0], counts: { frames: 0, macRetries: 0, undelivered: 0 } };
      this.links.set(nwk, s);
    }
    return s;
  }

  private randOf(nwk: number): () => number {
    return nwk === COORDINATOR ? this.coordinatorRand : this.state(nwk).rand;
  }

  private us(us: number): number {
    return this.scale(us / 1000);
  }

  private emit(a: AirFrame): void {
    for (const fn of this.observers) fn(a);
  }
}
