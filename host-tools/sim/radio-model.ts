// A simple timing and loss model of one IEEE 802.15.4 hop carrying ZigBee APS frames (FACTS §3).
// Pure functions for the arithmetic; RadioModel adds a seeded PRNG (so runs replay), per-link loss rates
// and a shared channel (one frame on the air at a time). It never sets timers: callers schedule the results.

/** 2.4 GHz O-QPSK at 250 kbit/s. */
export const US_PER_BYTE = 32;
/** Preamble 4 + SFD 1 + length 1. */
export const PHY_BYTES = 6;
/** Frame control 2, sequence 1, PAN id 2, short destination 2, short source 2. */
export const MAC_HEADER_BYTES = 9;
export const MAC_FCS_BYTES = 2;
/** Frame control 2, destination 2, source 2, radius 1, sequence 1 (no security). */
export const NWK_HEADER_BYTES = 8;
/** Frame control 1, endpoints 2, cluster 2, profile 2, counter 1. */
export const APS_HEADER_BYTES = 8;
export const TURNAROUND_US = 192;
export const ACK_BYTES = 5;
/** Unslotted CSMA-CA: backoff unit 20 symbols, first window 2^macMinBE − 1 units. */
export const BACKOFF_UNIT_US = 320;
export const MAC_MIN_BE = 3;
/** macMaxFrameRetries. */
export const MAC_MAX_FRAME_RETRIES = 3;

export function frameAirtimeUs(payloadLen: number): number {
  return (PHY_BYTES + MAC_HEADER_BYTES + MAC_FCS_BYTES + NWK_HEADER_BYTES + APS_HEADER_BYTES + payloadLen) * US_PER_BYTE;
}

export function ackAirtimeUs(): number {
  return (ACK_BYTES + PHY_BYTES) * US_PER_BYTE;
}

export function backoffUs(rand: () => number): number {
  return Math.floor(rand() * (1 << MAC_MIN_BE)) * BACKOFF_UNIT_US;
}

export interface Transmission {
  delivered: boolean;
  /** 1 + MAC retries used. */
  attempts: number;
  /** Time on the channel, backoffs included. */
  us: number;
}

/**
 * One unicast frame with MAC retries. Every attempt costs a backoff, the frame, the turnaround and an ACK's
 * airtime (the ACK itself, or the time spent waiting for one that never comes).
 */
export function transmit(payloadLen: number, lossRate: number, rand: () => number): Transmission {
  let us = 0;
  for (let attempt = 1; attempt <= 1 + MAC_MAX_FRAME_RETRIES; attempt++) {
    us += backoffUs(rand) + frameAirtimeUs(payloadLen) + TURNAROUND_US + ackAirtimeUs();
    if (rand() >= lossRate) return { delivered: true, attempts: attempt, us };
  }
  return { delivered: false, attempts: 1 + MAC_MAX_FRAME_RETRIES, us };
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

export interface RadioModelOptions {
  /** Chance that one attempt of a frame is lost, for links without their own rate. */
  lossRate?: number;
  seed?: number;
  /** Multiplier for every simulated delay: 1 is real time, 0.05 runs 20× faster. */
  timeScale?: number;
}

export interface Delivery {
  delivered: boolean;
  attempts: number;
  /** When (scheduler ms) the frame and its ACK are done: deliver or confirm then. */
  at: number;
  /** 0–255, lower on lossier links. */
  linkQuality: number;
}

export class RadioModel {
  readonly random: () => number;
  readonly timeScale: number;
  private readonly lossRate: number;
  private linkLoss = new Map<number, number>();
  private busyUntil = 0;

  constructor(opts: RadioModelOptions = {}) {
    this.random = mulberry32(opts.seed ?? 1);
    this.timeScale = opts.timeScale ?? 1;
    this.lossRate = opts.lossRate ?? 0;
  }

  /** Loss rate of the link to one device (its network address). */
  setLinkLoss(nwk: number, rate: number): void {
    this.linkLoss.set(nwk, rate);
  }

  lossFor(nwk: number): number {
    return this.linkLoss.get(nwk) ?? this.lossRate;
  }

  /** A simulated duration in real milliseconds. */
  scale(ms: number): number {
    return ms * this.timeScale;
  }

  /** Puts a frame on the shared channel at `now` (it waits for frames already on the air). */
  send(now: number, nwk: number, payloadLen: number): Delivery {
    const loss = this.lossFor(nwk);
    const t = transmit(payloadLen, loss, this.random);
    const at = Math.max(now, this.busyUntil) + this.scale(t.us / 1000);
    this.busyUntil = at;
    const linkQuality = Math.max(0, Math.min(255, Math.round(255 * (1 - loss) - this.random() * 20)));
    return { delivered: t.delivered, attempts: t.attempts, at, linkQuality };
  }
}
