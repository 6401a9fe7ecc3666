// The rate-limited relay: bytes cross it unchanged and in order both ways over real ptys, and its pacing
// arithmetic holds on a fake clock. How fast it really is gets measured by make bench, never here.
import { randomBytes } from 'crypto';
import { SerialPort } from 'serialport';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { IDLE_LINE, LineBudget, lineBytesPerSecond, openRateLimitedRelay, pace, RateLimitedRelay } from '../../host-tools/serial/rate-limited-relay';

const BPS = lineBytesPerSecond(115200);

describe('pace (fake clock)', () => {
  it('is 11,520 bytes a second at 115200 baud 8N1', () => {
    expect(BPS).toBe(11520);
  });

  it('sends nothing the moment bytes reach an idle line, and asks to come back when they are due', () => {
    const p = pace(IDLE_LINE, 5000, 20, BPS);
    expect(p.send).toBe(0);
    expect(p.next).toEqual({ credit: 0, atMs: 5000, idle: false });
    expect(p.waitMs).toBeCloseTo((20 * 1000) / BPS, 9);
    const q = pace(p.next, 5000 + p.waitMs!, 20, BPS);
    expect(q).toEqual({ send: 20, next: { credit: 0, atMs: 5000 + p.waitMs!, idle: true } });
  });

  it('asks for a grain at a time while more waits', () => {
    const p = pace(IDLE_LINE, 0, 10000, BPS, 64);
    expect(p.waitMs).toBeCloseTo((64 * 1000) / BPS, 9);
  });

  it('carries fractions of a byte: 1 ms steps deliver floor(k × 11.52) bytes in all', () => {
    let b: LineBudget = pace(IDLE_LINE, 0, 1e6, BPS).next;
    let queued = 1e6;
    let total = 0;
    for (let ms = 1; ms <= 1000; ms++) {
      const p = pace(b, ms, queued, BPS);
      total += p.send;
      queued -= p.send;
      b = p.next;
      expect(total).toBe(Math.floor(ms * 11.52 + 1e-9));
    }
    expect(total).toBe(11520);
  });

  it('lets a late timer catch up, but saves nothing up while idle', () => {
    const start = pace(IDLE_LINE, 0, 50000, BPS).next;
    const late = pace(start, 250, 50000, BPS); // the timer came 250 ms late: those bytes were on the wire
    expect(late.send).toBe(2880);
    const drained = pace(late.next, 300, 100, BPS);
    expect(drained.send).toBe(100);
    expect(drained.next.idle).toBe(true);
    // A second later a big burst arrives: the idle second buys nothing.
    const burst = pace(drained.next, 1300, 50000, BPS);
    expect(burst.send).toBe(0);
    expect(pace(burst.next, 1301, 50000, BPS).send).toBe(11);
  });

  it('never delivers more than the line rate × busy time, whatever the arrivals and timer lateness', () => {
    // A deterministic pseudo-random schedule: bursts arrive, timers fire late by 0–30 ms.
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    let b = IDLE_LINE;
    let now = 0;
    let queued = 0;
    let busySince: number | undefined;
    let busyMs = 0;
    let sentInBusy = 0;
    for (let i = 0; i < 5000; i++) {
      if (rnd() < 0.2) queued += Math.floor(rnd() * 3000);
      const p = pace(b, now, queued, BPS);
      if (busySince === undefined && queued > 0) busySince = now;
      queued -= p.send;
      sentInBusy += p.send;
      b = p.next;
      if (busySince !== undefined && queued === 0) {
        busyMs += now - busySince;
        busySince = undefined;
      }
      const elapsed = busyMs + (busySince !== undefined ? now - busySince : 0);
      expect(sentInBusy).toBeLessThanOrEqual(Math.floor((elapsed * BPS) / 1000) + 1e-9);
      now += (p.waitMs ?? rnd() * 20) + rnd() * 30;
    }
    expect(sentInBusy).toBeGreaterThan(0);
  });

  it('goes idle when nothing waits', () => {
    expect(pace({ credit: 3.5, atMs: 10, idle: false }, 20, 0, BPS)).toEqual({ send: 0, next: { credit: 0, atMs: 20, idle: true } });
  });
});

function open(p: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path: p, baudRate: 115200, autoOpen: false });
    port.open((e) => (e ? reject(e) : resolve(port)));
  });
}

/** Resolves with the first `n` bytes `port` receives. */
function receive(port: SerialPort, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let have = 0;
    const timer = setTimeout(() => reject(new Error(`received ${have} of ${n} bytes within 20 s`)), 20000);
    const onData = (d: Buffer) => {
      got.push(d);
      have += d.length;
      if (have >= n) {
        clearTimeout(timer);
        port.off('data', onData);
        resolve(Buffer.concat(got));
      }
    };
    port.on('data', onData);
  });
}

describe('rate-limited relay over ptys', () => {
  let far: PtyPair | undefined; // far.a is the upstream port the relay opens; the test plays the hub on far.b
  let relay: RateLimitedRelay | undefined;
  let client: SerialPort | undefined;
  let hub: SerialPort | undefined;
  beforeEach(async () => {
    far = await openPtyPair('relay-test');
    relay = await openRateLimitedRelay(far.a, 115200);
    client = await open(relay.path);
    hub = await open(far.b);
  });
  afterEach(async () => {
    for (const p of [client, hub]) if (p?.isOpen) await new Promise((r) => p.close(r));
    await relay?.close();
    far?.close();
  });

  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

  it('carries every byte value and random data, in order, client → upstream', async () => {
    const data = Buffer.concat([allBytes, randomBytes(3000), allBytes]);
    const got = receive(hub!, data.length);
    client!.write(data.subarray(0, 1000));
    client!.write(data.subarray(1000));
    expect((await got).equals(data)).toBe(true);
  });

  it('carries every byte value and random data, in order, upstream → client', async () => {
    const data = Buffer.concat([allBytes, randomBytes(3000), allBytes]);
    const got = receive(client!, data.length);
    hub!.write(data);
    expect((await got).equals(data)).toBe(true);
  });

  it('carries both directions at once without mixing them', async () => {
    const up = Buffer.concat([allBytes, randomBytes(2048)]);
    const down = Buffer.concat([randomBytes(2048), allBytes]);
    const gotUp = receive(hub!, up.length);
    const gotDown = receive(client!, down.length);
    for (let off = 0; off < up.length; off += 100) client!.write(up.subarray(off, off + 100));
    hub!.write(down);
    expect((await gotUp).equals(up)).toBe(true);
    expect((await gotDown).equals(down)).toBe(true);
  });

  it('refuses a baud rate that is not positive', async () => {
    await expect(openRateLimitedRelay(far!.a, 0)).rejects.toThrow(/baud must be positive/);
  });
});
