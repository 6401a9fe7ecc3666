// A bad serial line for tests and benches: a pty the client opens, relayed to `upstream` in both directions
// with bits flipped, runs of bytes dropped and runs repeated, at per-byte rates. Faults are drawn from a
// seeded PRNG over each direction's byte stream, not over the reads it arrives in, so a seed repeats a
// line's faults wherever the reads happen to split.
import { SerialPort } from 'serialport';
import { mulberry32 } from '../../host-tools/sim/radio-link';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';

export interface Noise {
  /** Chance per byte that one of its bits is flipped. */
  flip: number;
  /** Chance per byte that a run of bytes starting there is lost. */
  drop?: number;
  /** Chance per byte that a run of bytes starting there arrives twice. */
  dup?: number;
  /** Longest dropped or repeated run (each run's length is drawn from 1 to this). */
  run?: number;
  seed?: number;
}

export interface NoiseStats {
  bytes: number;
  flips: number;
  drops: number;
  dups: number;
}

const DEFAULT_RUN = 64;

/** Bytes before the next fault of per-byte chance `rate` (geometric); never one at rate 0. */
function gap(rate: number, rand: () => number): number {
  return rate > 0 ? Math.floor(Math.log(1 - rand()) / Math.log(1 - Math.min(rate, 0.999999))) : Infinity;
}

/** One direction of the line (`stream` 0 toward upstream, 1 back: each its own faults): what it delivers for
 *  the bytes given to it, in order. */
export class LineNoise {
  readonly stats: NoiseStats = { bytes: 0, flips: 0, drops: 0, dups: 0 };
  private rand: () => number;
  private toFlip: number;
  private toDrop: number;
  private toDup: number;
  /** Bytes still to lose of a dropped run. */
  private dropping = 0;
  /** A run to repeat once `repeatLeft` more bytes have joined it (perhaps from a later input). */
  private repeat: number[] | undefined;
  private repeatLeft = 0;
  private run: number;

  constructor(private noise: Noise, stream: number) {
    this.rand = mulberry32(((noise.seed ?? 1) * 2 + stream) >>> 0);
    this.run = noise.run ?? DEFAULT_RUN;
    this.toFlip = gap(noise.flip, this.rand);
    this.toDrop = gap(noise.drop ?? 0, this.rand);
    this.toDup = gap(noise.dup ?? 0, this.rand);
  }

  pass(input: Uint8Array): Uint8Array {
    const out: number[] = [];
    for (let b of input) {
      this.stats.bytes++;
      if (this.dropping > 0) {
        this.dropping--;
        continue;
      }
      if (--this.toDrop < 0) {
        this.stats.drops++;
        this.dropping = this.runLength() - 1;
        this.toDrop = gap(this.noise.drop ?? 0, this.rand);
        continue;
      }
      if (--this.toFlip < 0) {
        this.stats.flips++;
        b ^= 1 << Math.floor(this.rand() * 8);
        this.toFlip = gap(this.noise.flip, this.rand);
      }
      if (!this.repeat && --this.toDup < 0) {
        this.stats.dups++;
        this.repeat = [];
        this.repeatLeft = this.runLength();
        this.toDup = gap(this.noise.dup ?? 0, this.rand);
      }
      out.push(b);
      if (this.repeat) {
        this.repeat.push(b);
        if (--this.repeatLeft === 0) {
          out.push(...this.repeat);
          this.repeat = undefined;
        }
      }
    }
    return Uint8Array.from(out);
  }

  private runLength(): number {
    return 1 + Math.floor(this.rand() * this.run);
  }
}

export interface NoisyRelay {
  /** What the client opens instead of `upstream`. */
  path: string;
  /** Faults so far: toward upstream, and back. */
  up: NoiseStats;
  down: NoiseStats;
  close(): Promise<void>;
}

function openPort(p: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path: p, baudRate: 115200, autoOpen: false });
    port.open((e) => (e ? reject(new Error(`noisy relay: cannot open ${p}: ${e.message}`)) : resolve(port)));
  });
}

/** Puts a line with `noise` (both directions) in front of `upstream`. close() may be called again. */
export async function openNoisyRelay(upstream: string, noise: Noise): Promise<NoisyRelay> {
  const toUp = new LineNoise(noise, 0);
  const toNear = new LineNoise(noise, 1);
  let pair: PtyPair | undefined;
  const ports: SerialPort[] = [];
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await Promise.all(ports.map((p) => new Promise<void>((r) => (p.isOpen ? p.close(() => r()) : r()))));
    pair?.close();
  };
  try {
    pair = await openPtyPair('noisy');
    const up = await openPort(upstream);
    ports.push(up);
    const near = await openPort(pair.a);
    ports.push(near);
    // The other end going away ends nothing here: the relay lives until close().
    for (const p of ports) p.on('error', () => undefined);
    const relay = (to: SerialPort, line: LineNoise) => (d: Buffer) => {
      const out = line.pass(d);
      if (out.length > 0) to.write(Buffer.from(out));
    };
    near.on('data', relay(up, toUp));
    up.on('data', relay(near, toNear));
    return { path: pair.b, up: toUp.stats, down: toNear.stats, close };
  } catch (e) {
    await close();
    throw e;
  }
}
