// One radio link of the HAN (the coordinator ⇄ one device, both directions) and what it does to a frame
// that reached the other end's antenna: random loss, bursts of interference, outages, latency, reordering,
// duplicates and LQI. Each link draws from its own seeded stream, so adding a device leaves the others alone.

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

/** Longest extra delay of a held-back frame (reordering) and of a duplicate's second copy. */
export const REORDER_MAX_DELAY_MS = 200;
export const DUPLICATE_MAX_DELAY_MS = 500;

/** Per link, both directions. */
export interface LinkStats {
  frames: number;
  macRetries: number;
  undelivered: number;
}

export type LossCause = 'random' | 'burst' | 'outage' | null;

/** What a link's impairments did, for the radio's totals. */
export interface ImpairmentCounts {
  duplicates: number;
  reordered: number;
  overtaken: number;
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

function exponential(mean: number, rand: () => number): number {
  return -mean * Math.log(1 - rand());
}

export class RadioLink {
  readonly counts: LinkStats = { frames: 0, macRetries: 0, undelivered: 0 };
  private burstStart = 0;
  private burstEnd = 0;
  private outages: { from: number; to: number }[] = [];
  /** Latest arrival so far, per direction (to the device, to the coordinator): for counting overtakes. */
  private lastArrival: [number, number] = [0, 0];

  /** `scale`: simulated ms to scheduler ms. */
  constructor(
    public spec: LinkSpec,
    readonly rand: () => number,
    private readonly scale: (ms: number) => number,
  ) {}

  /** Nothing gets through from `from` to `to` (scheduler ms). */
  addOutage(from: number, to: number): void {
    this.outages.push({ from, to });
  }

  /** Why a frame starting at `t` is lost, or null; `random` false: outages and bursts only (a MAC ACK: loss is drawn once per attempt). */
  lossAt(t: number, random = true): LossCause {
    if (this.outages.some((o) => t >= o.from && t < o.to)) return 'outage';
    if (this.inBurst(t)) return 'burst';
    return random && this.spec.loss > 0 && this.rand() < this.spec.loss ? 'random' : null;
  }

  /** Receive-side times of a frame that ended at `end`: latency, maybe held back, maybe twice. */
  arrivals(end: number, direction: 0 | 1, counts: ImpairmentCounts): number[] {
    const s = this.spec;
    let at = end + this.scale(s.latencyMs);
    if (s.reorder > 0 && this.rand() < s.reorder) {
      counts.reordered++;
      at += this.scale(this.rand() * REORDER_MAX_DELAY_MS);
    }
    if (at < this.lastArrival[direction]) counts.overtaken++;
    this.lastArrival[direction] = Math.max(this.lastArrival[direction], at);
    if (s.duplicate > 0 && this.rand() < s.duplicate) {
      counts.duplicates++;
      return [at, at + this.scale(this.rand() * DUPLICATE_MAX_DELAY_MS)];
    }
    return [at];
  }

  lqi(): number {
    const mean = this.spec.lqi ?? 255 * (1 - this.spec.loss);
    return Math.max(0, Math.min(255, Math.round(mean - this.rand() * 20)));
  }

  /** Bursts are drawn lazily along the link's timeline, so asking never changes what comes later. */
  private inBurst(t: number): boolean {
    const b = this.spec.burst;
    if (!b) return false;
    while (t >= this.burstEnd) {
      this.burstStart = this.burstEnd + this.scale(exponential(b.everyMs, this.rand));
      this.burstEnd = this.burstStart + this.scale(exponential(b.lengthMs, this.rand));
    }
    return t >= this.burstStart;
  }
}
