import { ackAirtimeUs, frameAirtimeUs, mulberry32, RadioModel, transmit } from '../../host-tools/sim/radio-model';

describe('radio model (FACTS §3)', () => {
  test('airtime: 33 bytes of PHY/MAC/NWK/APS overhead plus the payload, 32 µs a byte; an ACK is 11 bytes', () => {
    expect(frameAirtimeUs(0)).toBe(33 * 32);
    expect(frameAirtimeUs(64)).toBe(97 * 32);
    expect(ackAirtimeUs()).toBe(352);
  });

  test('a clean link delivers at the first attempt; a dead one fails after 1 + 3 MAC retries', () => {
    const r = mulberry32(1);
    expect(transmit(50, 0, r)).toMatchObject({ delivered: true, attempts: 1 });
    const dead = transmit(50, 1, r);
    expect(dead).toMatchObject({ delivered: false, attempts: 4 });
    // Each attempt: backoff (0..7 × 320 µs) + frame + turnaround + ACK time.
    const perAttempt = frameAirtimeUs(50) + 192 + ackAirtimeUs();
    expect(dead.us).toBeGreaterThanOrEqual(4 * perAttempt);
    expect(dead.us).toBeLessThanOrEqual(4 * (perAttempt + 7 * 320));
  });

  test('the same seed replays the same losses', () => {
    const run = (seed: number) => {
      const m = new RadioModel({ seed, lossRate: 0.5 });
      return Array.from({ length: 50 }, (_, i) => m.send(i * 100, 0x1001, 40)).map((d) => [d.delivered, d.attempts, d.at]);
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  test('a loss rate shows up as failed deliveries, per link', () => {
    const m = new RadioModel({ seed: 3, lossRate: 0 });
    m.setLinkLoss(0x2002, 0.9);
    const fails = (nwk: number) => Array.from({ length: 400 }, () => m.send(0, nwk, 40)).filter((d) => !d.delivered).length;
    expect(fails(0x1001)).toBe(0);
    // 0.9^4 ≈ 0.66 of frames lose all four attempts.
    expect(fails(0x2002)).toBeGreaterThan(200);
    expect(fails(0x2002)).toBeLessThan(320);
  });

  test('timeScale shrinks delays; the channel carries one frame at a time', () => {
    const real = new RadioModel({ seed: 5 });
    const fast = new RadioModel({ seed: 5, timeScale: 0.05 });
    const a = real.send(0, 0x1001, 64).at;
    expect(fast.send(0, 0x1001, 64).at).toBeCloseTo(a * 0.05, 9);
    const second = real.send(0, 0x1002, 64);
    expect(second.at).toBeGreaterThan(a); // queued behind the first frame
  });
});
