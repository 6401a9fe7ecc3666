// A timing and loss model of the HAN: one 802.15.4 channel shared by the coordinator and every device
// (FACTS §3), run event by event. Each frame goes through unslotted CSMA-CA (IEEE 802.15.4-2006 §7.5.1.4):
// each backoff ends in a CCA judged against what is on the air at that moment; a clear CCA is followed by
// the RX-to-TX turnaround and the frame; frames that overlap on the air are lost (a collision); a received
// unicast is acknowledged a turnaround later by an ACK sent without CCA, which can itself collide; a sender
// with no ACK after macAckWaitDuration retries, up to macMaxFrameRetries. Per link (radio-link.ts): random
// loss, bursts of interference, outages, duplicates, reordering, latency and LQI. Seeded streams make a run
// replay exactly. It never sets timers: it says when it next needs to run (onWake) and callers run it then
// (advance; radio-clock.ts does this on a Scheduler), so the same model serves real-time and virtual-time runs.
import { ackAirtimeUs, COORDINATOR, frameAirtimeUs, HanFrame } from './han-frame';
import { ImpairmentCounts, LinkSpec, LinkStats, LossCause, RadioLink, CLEAN_LINK, seededStream } from './radio-link';
import { TimeQueue } from './time-queue';

/** aTurnaroundTime, 12 symbols (IEEE 802.15.4-2006 §6.4.1): RX-to-TX after a clear CCA, and before an ACK (§7.5.6.4.2). */
export const TURNAROUND_US = 192;
/** aUnitBackoffPeriod, 20 symbols (§7.4.1): the unit of the random backoff. */
export const BACKOFF_UNIT_US = 320;
/** macMinBE and macMaxBE (§7.4.2, defaults 3 and 5): the backoff exponent starts at one and grows to the other. */
export const MAC_MIN_BE = 3;
export const MAC_MAX_BE = 5;
/** macMaxCSMABackoffs (§7.4.2, default 4): a frame whose CCA finds the channel busy once more fails with CHANNEL_ACCESS_FAILURE. */
export const MAC_MAX_CSMA_BACKOFFS = 4;
/** Clear channel assessment: 8 symbols (§6.9.9). */
export const CCA_US = 128;
/** macMaxFrameRetries (§7.4.2, default 3). */
export const MAC_MAX_FRAME_RETRIES = 3;
/** macAckWaitDuration (§7.4.2): aUnitBackoffPeriod + aTurnaroundTime + phySHRDuration + 6 octets = 20 + 12 + 10 + 12
 *  = 54 symbols from the frame's end before a sender gives up on its ACK and retries. */
export const ACK_WAIT_US = 864;
/** A unicast the MAC failed to deliver (no ACK after its retries, or channel access failure) is handed to it again by
 *  the NWK layer up to this many times: Z-Stack's zgMaxDataRetries (nwk_globals.c), NWK_MAX_DATA_RETRIES 2 in TI's
 *  f8wConfig.cfg. The devices' stacks are taken to do the same. */
export const NWK_MAX_DATA_RETRIES = 2;
/** A broadcast's originator repeats it if no neighbour relays it within this time (nwkPassiveAckTimeout). */
export const NWK_PASSIVE_ACK_TIMEOUT_MS = 500;
export const NWK_MAX_BROADCAST_RETRIES = 2;
/** nwkcMaxBroadcastJitter (ZigBee spec §3.6.5): a broadcast waits a random 0 … 64 ms before each transmission, so
 *  nodes that broadcast at one instant (devices announcing after a power cut) do not all contend at once. */
export const NWK_MAX_BROADCAST_JITTER_MS = 64;
/** How long a transmission is kept for overlap checks after it ends: longer than any frame (127 + 6 bytes, 4.3 ms). */
const AIR_MEMORY_US = 10000;

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

/** A unicast's outcome, when the sender knows it: its ACK is in, or its last try went unanswered. */
export interface Delivery {
  delivered: boolean;
  /** Transmissions (a channel access failure ends a frame without one). */
  attempts: number;
  done: number;
  /** When the receiving stack hands the frame up: none if it never got there, two if duplicated. */
  arrivals: number[];
  linkQuality: number;
}

export interface UnicastHandlers {
  /** The addressee has the frame (at its end; a retry's copy of a frame it already has is dropped, APS duplicate
   *  rejection, ZigBee spec §2.2.8.4.2). `arrivals`: when its stack hands it up. */
  arrived?(arrivals: number[], linkQuality: number): void;
  done?(d: Delivery): void;
}

export interface BroadcastHandlers {
  /** Receiver `nwk` heard it; when its stack hands it up. */
  arrived?(nwk: number, arrivals: number[]): void;
  /** The last repetition is over. */
  done?(at: number): void;
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
  /** Frames and ACKs lost because another transmission overlapped them. */
  collisions: number;
  /** Frames that found the channel busy at macMaxCSMABackoffs + 1 CCAs in a row. */
  channelAccessFailures: number;
  duplicates: number;
  /** Frames held back so later ones may overtake them, and those that actually arrived after a later frame. */
  reordered: number;
  overtaken: number;
  busyCca: number;
  /** Channel time used by frames and ACKs, backoffs excluded. */
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

/** Random CSMA-CA backoff for exponent `be`: 0 … 2^be − 1 units (§7.5.1.4). */
export function backoffUs(be: number, rand: () => number): number {
  return Math.floor(rand() * (1 << be)) * BACKOFF_UNIT_US;
}

/** A frame or an ACK on the air. */
interface Transmission {
  start: number;
  end: number;
}

/** A frame in a node's MAC, from hand-over to outcome. */
interface Job {
  frame: HanFrame;
  /** A broadcast's receivers (device addresses), or null for a unicast. */
  receivers: number[] | null;
  /** Broadcast: NWK repetitions left; unicast: NWK data retries left. */
  repeatsLeft: number;
  /** Transmissions since the MAC was last handed the frame. */
  macTries: number;
  unicast: UnicastHandlers;
  broadcast: BroadcastHandlers;
  attempts: Attempt[];
  /** CSMA-CA state of the current attempt: NB and BE (§7.5.1.4). */
  nb: number;
  be: number;
  onAir: Transmission | null;
  /** Unicast: the addressee's arrivals once it has the frame (null before). Broadcast: per receiver. */
  arrivals: number[] | null;
  linkQuality: number;
  heard: Map<number, number[]>;
}

interface Node {
  queue: Job[];
  active: Job | null;
  /** From a received frame's end until its ACK is out the node's transceiver is busy: it can neither sense nor send. */
  ackFrom: number;
  ackUntil: number;
}

type Event = { kind: 'cca' | 'end' | 'noAck'; job: Job } | { kind: 'ackEnd'; job: Job; ack: Transmission };

export class RadioModel {
  readonly timeScale: number;
  private readonly seed: number;
  private readonly defaultLink: LinkSpec;
  private links = new Map<number, RadioLink>();
  private coordinatorRand: () => number;
  private nodes = new Map<number, Node>();
  private events = new TimeQueue<Event>();
  /** Transmissions that ended less than AIR_MEMORY_US ago, or are on (or about to go on) the air. */
  private air: Transmission[] = [];
  private running = false;
  private wake: ((at: number) => void) | null = null;
  private observers: ((a: AirFrame) => void)[] = [];
  private counts: RadioStats = {
    frames: 0,
    attempts: 0,
    macRetries: 0,
    undelivered: 0,
    lostRandom: 0,
    lostBurst: 0,
    lostOutage: 0,
    collisions: 0,
    channelAccessFailures: 0,
    duplicates: 0,
    reordered: 0,
    overtaken: 0,
    busyCca: 0,
    airMs: 0,
  };

  constructor(opts: RadioModelOptions = {}) {
    this.seed = opts.seed ?? 1;
    this.coordinatorRand = seededStream(this.seed, COORDINATOR);
    this.timeScale = opts.timeScale ?? 1;
    this.defaultLink = { ...CLEAN_LINK, ...opts.link };
    if (opts.lossRate !== undefined) this.defaultLink.loss = opts.lossRate;
  }

  /** Settings of the link to one device (its network address), over the defaults. */
  setLink(nwk: number, spec: Partial<LinkSpec>): void {
    this.link(nwk).spec = { ...this.defaultLink, ...spec };
  }

  /** Nothing gets through on this link from `from` to `to` (scheduler ms). */
  addOutage(nwk: number, from: number, to: number): void {
    this.link(nwk).addOutage(from, to);
  }

  /** A stream of its own for a device's behaviour (jitter), independent of the radio's draws. */
  streamFor(key: number): () => number {
    return seededStream(this.seed ^ 0x5bd1e995, key);
  }

  observe(fn: (a: AirFrame) => void): void {
    this.observers.push(fn);
  }

  /** `fn(at)`: the model must run (advance) at scheduler time `at`; told again whenever that changes. */
  onWake(fn: (at: number) => void): void {
    this.wake = fn;
  }

  /** The scheduler time of the model's next event, if any. */
  nextEventAt(): number | undefined {
    return this.events.peek()?.at;
  }

  stats(): RadioStats {
    return { ...this.counts };
  }

  linkStats(nwk: number): LinkStats {
    return { ...this.link(nwk).counts };
  }

  /** A simulated duration in scheduler milliseconds. */
  scale(ms: number): number {
    return ms * this.timeScale;
  }

  /** A unicast between the coordinator and a device, handed to the sender's MAC at `now`. */
  unicast(now: number, frame: HanFrame, on: UnicastHandlers = {}): void {
    this.submit(now, this.job(frame, null, 0, on, {}));
  }

  /**
   * A broadcast (no MAC ACK) heard over the links of `receivers` (device addresses; for a device's own
   * broadcast, its address: the coordinator hears it over that device's link). Repeated up to `repeats`
   * times, a passive-ack timeout apart, while a receiver has not heard it (the NWK layer's broadcast
   * retries, ZigBee spec §3.6.5).
   */
  broadcast(now: number, frame: HanFrame, receivers: number[], repeats = 0, on: BroadcastHandlers = {}): void {
    this.submit(now, this.job(frame, receivers, repeats, {}, on));
  }

  /** Runs every event due by `now`, in time order. */
  advance(now: number): void {
    if (this.running) return; // a handler handed over a frame: the loop below carries on with it
    this.running = true;
    try {
      for (let e = this.events.peek(); e && e.at <= now; e = this.events.peek()) {
        this.events.pop();
        this.handle(e.at, e.value);
      }
      this.forget(now);
    } finally {
      this.running = false;
    }
    this.tellWake();
  }

  private job(frame: HanFrame, receivers: number[] | null, repeats: number, unicast: UnicastHandlers, broadcast: BroadcastHandlers): Job {
    return { frame, receivers, repeatsLeft: receivers === null ? NWK_MAX_DATA_RETRIES : repeats, macTries: 0, unicast, broadcast, attempts: [], nb: 0, be: MAC_MIN_BE, onAir: null, arrivals: null, linkQuality: 0, heard: new Map() };
  }

  /** A node's MAC takes one frame at a time: the next waits for the previous one's outcome. */
  private submit(now: number, job: Job): void {
    this.advance(now);
    const node = this.node(job.frame.src);
    node.queue.push(job);
    if (!node.active) this.startNext(node, now);
    this.tellWake();
  }

  private startNext(node: Node, t: number): void {
    const job = node.queue.shift();
    node.active = job ?? null;
    if (job) this.channelAccess(job, Math.max(t, node.ackUntil));
  }

  /** A new attempt: CSMA-CA from NB = 0, BE = macMinBE (§7.5.1.4; a retransmission starts it afresh, §7.5.6.4.3),
   *  after a broadcast's jitter. */
  private channelAccess(job: Job, t: number): void {
    job.nb = 0;
    job.be = MAC_MIN_BE;
    const jitter = job.receivers === null ? 0 : this.scale(this.randOf(job.frame.src)() * NWK_MAX_BROADCAST_JITTER_MS);
    this.backoff(job, t + jitter);
  }

  /** A random backoff, then a CCA: its result is judged when the CCA ends. */
  private backoff(job: Job, t: number): void {
    this.events.push(t + this.us(backoffUs(job.be, this.randOf(job.frame.src)) + CCA_US), { kind: 'cca', job });
  }

  private handle(t: number, e: Event): void {
    if (e.kind === 'cca') this.onCca(t, e.job);
    else if (e.kind === 'end') this.onEnd(t, e.job);
    else if (e.kind === 'ackEnd') this.onAckEnd(t, e.job, e.ack);
    else this.onNoAck(t, e.job);
  }

  /** A clear CCA: after the RX-to-TX turnaround the frame goes on the air. A busy one: back off with a larger
   *  exponent, or give up after macMaxCSMABackoffs (§7.5.1.4). */
  private onCca(t: number, job: Job): void {
    if (this.clear(job.frame.src, t)) {
      const start = t + this.us(TURNAROUND_US);
      job.onAir = this.transmit(start, start + this.us(frameAirtimeUs(job.frame)));
      this.counts.attempts++;
      job.macTries++;
      return this.events.push(job.onAir.end, { kind: 'end', job });
    }
    this.counts.busyCca++;
    job.nb++;
    job.be = Math.min(job.be + 1, MAC_MAX_BE);
    if (job.nb <= MAC_MAX_CSMA_BACKOFFS) return this.backoff(job, t);
    this.counts.channelAccessFailures++;
    if (job.receivers === null) return this.macFailed(t, job);
    this.nextRepeat(t, job);
  }

  /** The CCA that ends at `t` senses energy if anything was on the air during its 8 symbols, and cannot be
   *  made while the node's own transceiver is turning round for, or sending, an ACK. */
  private clear(src: number, t: number): boolean {
    const from = t - this.us(CCA_US);
    const node = this.node(src);
    if (node.ackFrom < t && node.ackUntil > from) return false;
    return !this.air.some((x) => x.start < t && x.end > from);
  }

  private onEnd(t: number, job: Job): void {
    const tx = job.onAir as Transmission;
    const collided = this.overlapped(tx);
    if (job.receivers !== null) return this.broadcastEnd(t, job, tx, collided);
    const frame = job.frame;
    const link = this.link(frame.src === COORDINATOR ? frame.dst : frame.src);
    const cause = collided ? null : link.lossAt(tx.start);
    this.count(cause);
    if (collided) this.counts.collisions++;
    if (collided || cause !== null) {
      job.attempts.push({ start: tx.start, end: tx.end, delivered: false, acked: false, ackAt: tx.end });
      return this.events.push(tx.end + this.us(ACK_WAIT_US), { kind: 'noAck', job });
    }
    // The addressee acknowledges a turnaround after the frame, without CCA (§7.5.6.4.2).
    const receiver = this.node(frame.dst);
    const ack = this.transmit(t + this.us(TURNAROUND_US), t + this.us(TURNAROUND_US + ackAirtimeUs()));
    receiver.ackFrom = t;
    receiver.ackUntil = ack.end;
    job.attempts.push({ start: tx.start, end: tx.end, delivered: true, acked: false, ackAt: ack.start });
    this.events.push(ack.end, { kind: 'ackEnd', job, ack });
    if (job.arrivals !== null) return;
    job.arrivals = link.arrivals(t, frame.dst === COORDINATOR ? 1 : 0, this.counts as ImpairmentCounts);
    job.linkQuality = link.lqi();
    job.unicast.arrived?.(job.arrivals, job.linkQuality);
  }

  /** The ACK got back unless another transmission overlapped it or the link was out (its loss was drawn with the frame). */
  private onAckEnd(t: number, job: Job, ack: Transmission): void {
    const frame = job.frame;
    const collided = this.overlapped(ack);
    const cause = collided ? null : this.link(frame.src === COORDINATOR ? frame.dst : frame.src).lossAt(ack.start, false);
    this.count(cause);
    if (collided) this.counts.collisions++;
    if (!collided && cause === null) {
      job.attempts[job.attempts.length - 1].acked = true;
      return this.finish(t, job, true);
    }
    this.events.push(job.attempts[job.attempts.length - 1].end + this.us(ACK_WAIT_US), { kind: 'noAck', job });
  }

  private onNoAck(t: number, job: Job): void {
    if (job.macTries > MAC_MAX_FRAME_RETRIES) return this.macFailed(t, job);
    this.channelAccess(job, t);
  }

  /** The MAC gave up on a unicast: the NWK layer hands it over again while it has retries left. */
  private macFailed(t: number, job: Job): void {
    if (job.repeatsLeft === 0) return this.finish(t, job, false);
    job.repeatsLeft--;
    job.macTries = 0;
    this.channelAccess(job, t);
  }

  private broadcastEnd(t: number, job: Job, tx: Transmission, collided: boolean): void {
    if (collided) this.counts.collisions++;
    let heard = false;
    for (const nwk of job.receivers as number[]) {
      if (job.heard.has(nwk)) continue;
      const link = this.link(nwk);
      const cause = collided ? null : link.lossAt(tx.start);
      this.count(cause);
      if (collided || cause !== null) continue;
      heard = true;
      const at = link.arrivals(t, job.frame.src === COORDINATOR ? 0 : 1, this.counts as ImpairmentCounts);
      job.heard.set(nwk, at);
      job.broadcast.arrived?.(nwk, at);
    }
    job.attempts.push({ start: tx.start, end: tx.end, delivered: heard, acked: false, ackAt: tx.end });
    this.nextRepeat(t, job);
  }

  /** The NWK layer repeats a broadcast a passive-ack timeout later while a receiver has not heard it. */
  private nextRepeat(t: number, job: Job): void {
    const missing = (job.receivers as number[]).some((nwk) => !job.heard.has(nwk));
    if (!missing || job.repeatsLeft === 0) return this.finish(t, job, !missing);
    job.repeatsLeft--;
    this.channelAccess(job, t + this.scale(NWK_PASSIVE_ACK_TIMEOUT_MS));
  }

  private finish(t: number, job: Job, delivered: boolean): void {
    const node = this.node(job.frame.src);
    this.counts.frames++;
    if (job.receivers === null) {
      const link = this.link(job.frame.src === COORDINATOR ? job.frame.dst : job.frame.src);
      const retries = Math.max(0, job.attempts.length - 1);
      for (const c of [this.counts, link.counts]) c.macRetries += retries;
      link.counts.frames++;
      if (!delivered) {
        this.counts.undelivered++;
        link.counts.undelivered++;
      }
    } else {
      for (const nwk of job.receivers) {
        const link = this.link(nwk);
        link.counts.frames++;
        if (job.heard.has(nwk)) continue;
        this.counts.undelivered++;
        link.counts.undelivered++;
      }
    }
    for (const fn of this.observers) fn({ frame: job.frame, attempts: job.attempts });
    node.active = null;
    this.startNext(node, t);
    if (job.receivers !== null) return job.broadcast.done?.(t);
    job.unicast.done?.({ delivered, attempts: job.attempts.length, done: t, arrivals: job.arrivals ?? [], linkQuality: job.linkQuality });
  }

  private transmit(start: number, end: number): Transmission {
    const tx = { start, end };
    this.air.push(tx);
    this.counts.airMs += end - start;
    return tx;
  }

  /** Another transmission shared some of this one's time on the air: neither gets through (no capture effect). */
  private overlapped(tx: Transmission): boolean {
    return this.air.some((x) => x !== tx && x.start < tx.end && x.end > tx.start);
  }

  /** Drops transmissions too old to overlap anything still to be judged. */
  private forget(now: number): void {
    const horizon = now - this.us(AIR_MEMORY_US);
    if (this.air.length > 0 && this.air[0].end < horizon) this.air = this.air.filter((x) => x.end >= horizon);
  }

  private tellWake(): void {
    const at = this.nextEventAt();
    if (at !== undefined && this.wake) this.wake(at);
  }

  private count(cause: LossCause): void {
    if (cause === 'random') this.counts.lostRandom++;
    else if (cause === 'burst') this.counts.lostBurst++;
    else if (cause === 'outage') this.counts.lostOutage++;
  }

  private node(nwk: number): Node {
    let n = this.nodes.get(nwk);
    if (!n) {
      n = { queue: [], active: null, ackFrom: -Infinity, ackUntil: -Infinity };
      this.nodes.set(nwk, n);
    }
    return n;
  }

  private link(nwk: number): RadioLink {
    let s = this.links.get(nwk);
    if (!s) {
      s = new RadioLink(this.defaultLink, seededStream(this.seed, nwk), (ms) => this.scale(ms));
      this.links.set(nwk, s);
    }
    return s;
  }

  private randOf(nwk: number): () => number {
    return nwk === COORDINATOR ? this.coordinatorRand : this.link(nwk).rand;
  }

  private us(us: number): number {
    return this.scale(us / 1000);
  }
}
