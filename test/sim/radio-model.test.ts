import { ackAirtimeUs, capturedPsduBytes, encodeMacAck, encodeMacFrame, frameAirtimeUs, HanFrame, psduBytes, crc16Kermit } from '../../host-tools/sim/han-frame';
import { AirFrame, ACK_WAIT_US, BACKOFF_UNIT_US, CCA_US, Delivery, MAC_MAX_FRAME_RETRIES, NWK_MAX_DATA_RETRIES, RadioModel, RadioModelOptions, TURNAROUND_US } from '../../host-tools/sim/radio-model';
import { runRadioOn } from '../../host-tools/sim/radio-clock';
import { ManualScheduler } from '../../host-tools/sim/scheduler';

const DEV = 0x1001;
const up = (len: number, src = DEV): HanFrame => ({ src, dst: 0, srcEndpoint: 1, dstEndpoint: 1, clusterId: 0x0019, profileId: 0x0109, payload: new Uint8Array(len) });
const down = (len: number, dst = DEV): HanFrame => ({ ...up(len), src: 0, dst });

describe('frame sizes (FACTS §3, §7)', () => {
  test('an APS frame is 27 bytes of MAC/NWK/APS header and FCS plus NWK security (14-byte auxiliary header, 4-byte MIC) plus the payload; airtime adds the 6-byte PHY header at 32 µs a byte', () => {
    expect(capturedPsduBytes(0)).toBe(9 + 8 + 8 + 2);
    expect(psduBytes(0)).toBe(27 + 14 + 4);
    expect(frameAirtimeUs(up(64))).toBe((6 + 45 + 64) * 32);
    expect(ackAirtimeUs()).toBe(11 * 32);
  });

  test('the encoder writes the frame as a sniffer with the network key shows it (security removed), in the layout tshark decodes', () => {
    const f = { ...down(3), payload: Uint8Array.from([0x19, 0x07, 0x05]) };
    const b = encodeMacFrame(f, { mac: 0x11, nwk: 0x22, aps: 0x33 });
    expect(b.length).toBe(capturedPsduBytes(3));
    // MAC 61 88 seq pan dst src | NWK 48 00 dst src radius seq | APS 00 dstEp 19 00 09 01 srcEp counter | payload | FCS
    expect(Array.from(b.subarray(0, 28))).toEqual([
      0x61, 0x88, 0x11, 0x62, 0x1a, 0x01, 0x10, 0x00, 0x00, 0x48, 0x00, 0x01, 0x10, 0x00, 0x00, 30, 0x22, 0x00, 0x01, 0x19, 0x00, 0x09, 0x01, 0x01, 0x33, 0x19, 0x07, 0x05,
    ]);
    const fcs = crc16Kermit(b.subarray(0, b.length - 2));
    expect([b[b.length - 2], b[b.length - 1]]).toEqual([fcs & 0xff, fcs >> 8]);
    expect(encodeMacAck(0x11).length).toBe(5);
  });

  test('FCS is CRC-16/KERMIT (check value 0x2189)', () => {
    expect(crc16Kermit(Buffer.from('123456789'))).toBe(0x2189);
  });
});

/** A radio model on a virtual clock: `send` hands a frame over at a given time, `settle` runs every event. */
function bench(opts: RadioModelOptions = {}) {
  const clock = new ManualScheduler();
  const radio = new RadioModel(opts);
  runRadioOn(radio, clock);
  const air: AirFrame[] = [];
  radio.observe((a) => air.push(a));
  const send = (at: number, frame: HanFrame, then?: (d: Delivery) => void): { d?: Delivery } => {
    const out: { d?: Delivery } = {};
    clock.setTimer(at - clock.now(), () =>
      radio.unicast(clock.now(), frame, {
        done: (d) => {
          out.d = d;
          if (then) then(d);
        },
      }),
    );
    return out;
  };
  const settle = () => clock.runUntil(Infinity);
  /** One frame alone: its outcome. */
  const one = (at: number, frame: HanFrame): Delivery => {
    const r = send(at, frame);
    settle();
    return r.d as Delivery;
  };
  return { clock, radio, air, send, settle, one };
}

const overlap = (a: { start: number; end: number }, b: { start: number; end: number }) => a.start < b.end && b.start < a.end;

describe('radio model', () => {
  test('it sets no timers: handed a frame, it only says when it next needs to run', () => {
    const m = new RadioModel({ seed: 1 });
    const woken: number[] = [];
    m.onWake((at) => woken.push(at));
    let d: Delivery | undefined;
    m.unicast(0, up(50), { done: (x) => (d = x) });
    expect(woken.length).toBeGreaterThan(0);
    for (let at = m.nextEventAt(); at !== undefined; at = m.nextEventAt()) m.advance(at);
    expect(d).toMatchObject({ delivered: true, attempts: 1 });
  });

  test('a clean link delivers at the first attempt: backoff + CCA + turnaround + frame + turnaround + ACK', () => {
    const d = bench({ seed: 1 }).one(0, up(50));
    expect(d).toMatchObject({ delivered: true, attempts: 1 });
    const fixedUs = CCA_US + TURNAROUND_US + frameAirtimeUs(up(50)) + TURNAROUND_US + ackAirtimeUs();
    expect(d.done * 1000).toBeGreaterThanOrEqual(fixedUs - 1e-6);
    expect(d.done * 1000).toBeLessThanOrEqual(fixedUs + 7 * BACKOFF_UNIT_US + 1e-6);
    // The receiver has it when the frame ends, before the ACK.
    expect(d.arrivals).toHaveLength(1);
    expect(d.arrivals[0]).toBeLessThan(d.done);
  });

  test('a receiver sends its ACK before its own next frame: it senses the channel only once the ACK is out', () => {
    const b = bench({ seed: 1 });
    let block: Delivery | undefined;
    // The device answers the moment the block is handed up, while its ACK is still to go.
    const answer = (at: number[]) => b.send(at[0], up(17));
    b.clock.setTimer(0, () => b.radio.unicast(0, down(81), { arrived: answer, done: (d) => (block = d) }));
    b.settle();
    const mine = b.air.find((a) => a.frame.src === DEV) as AirFrame;
    expect(mine.attempts[0].start * 1000).toBeGreaterThanOrEqual((block as Delivery).done * 1000 + CCA_US + TURNAROUND_US - 1e-6);
    expect(b.radio.stats()).toMatchObject({ busyCca: 0, collisions: 0 });
  });

  test('a dead link fails after 1 + 3 MAC retries, handed to the MAC again by the NWK layer twice, each try waiting for an ACK that never comes', () => {
    const b = bench({ seed: 1, lossRate: 1 });
    const d = b.one(0, up(50));
    const tries = (1 + MAC_MAX_FRAME_RETRIES) * (1 + NWK_MAX_DATA_RETRIES);
    expect(d).toMatchObject({ delivered: false, attempts: tries, arrivals: [] });
    const per = CCA_US + TURNAROUND_US + frameAirtimeUs(up(50)) + ACK_WAIT_US;
    expect(d.done * 1000).toBeGreaterThanOrEqual(tries * per - 1e-6);
    expect(b.radio.stats()).toMatchObject({ frames: 1, attempts: tries, macRetries: tries - 1, undelivered: 1, lostRandom: tries });
    expect(b.radio.linkStats(DEV)).toEqual({ frames: 1, macRetries: tries - 1, undelivered: 1 });
  });

  test('the same seed replays the same run; another seed does not', () => {
    const run = (seed: number) => {
      const b = bench({ seed, link: { loss: 0.3, duplicate: 0.1, reorder: 0.1, burst: { everyMs: 500, lengthMs: 50 } } });
      const out = Array.from({ length: 200 }, (_, i) => b.send(i * 3, i % 2 ? up(40, DEV + (i % 5)) : down(80, DEV + (i % 5))));
      b.settle();
      return { out: out.map((r) => r.d), stats: b.radio.stats() };
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  test('links have their own loss rate, and their own random stream', () => {
    const b = bench({ seed: 3 });
    b.radio.setLink(0x2002, { loss: 0.9 });
    const fails = (nwk: number) => {
      const out = Array.from({ length: 400 }, (_, i) => b.send(b.clock.now() + i * 200, up(40, nwk)));
      b.settle();
      return out.filter((r) => !r.d?.delivered).length;
    };
    expect(fails(DEV)).toBe(0);
    // 0.9^12 ≈ 0.28 of frames lose all twelve attempts.
    expect(fails(0x2002)).toBeGreaterThan(70);
    expect(fails(0x2002)).toBeLessThan(160);
    // Adding traffic on one link, far from the others in time, does not change another's draws.
    const a = bench({ seed: 9, lossRate: 0.5 });
    const c = bench({ seed: 9, lossRate: 0.5 });
    for (let i = 0; i < 50; i++) c.send(i * 200, up(10, 0x3003));
    const delivered = (x: ReturnType<typeof bench>) => {
      const out = Array.from({ length: 50 }, (_, i) => x.send(100000 + i * 200, up(10)));
      x.settle();
      return out.map((r) => r.d?.delivered);
    };
    expect(delivered(a)).toEqual(delivered(c));
  });

  test('bursts lose every attempt inside them; outages lose everything in their window', () => {
    const b = bench({ seed: 5 });
    b.radio.setLink(DEV, { burst: { everyMs: 1000, lengthMs: 100 } });
    for (let t = 0; t < 60000; t += 10) b.send(t, up(20));
    b.settle();
    const s = b.radio.stats();
    expect(s.lostBurst).toBeGreaterThan(200);
    expect(s.lostRandom).toBe(0);
    const o = bench({ seed: 5 });
    o.radio.addOutage(DEV, 1000, 2000);
    expect(o.one(500, up(20)).delivered).toBe(true);
    expect(o.one(1200, up(20)).delivered).toBe(false);
    expect(o.one(2500, up(20)).delivered).toBe(true);
    expect(o.radio.stats().lostOutage).toBe((1 + MAC_MAX_FRAME_RETRIES) * (1 + NWK_MAX_DATA_RETRIES));
  });

  test('duplicates arrive twice; reordered frames are held back and can be overtaken; latency delays arrivals', () => {
    const b = bench({ seed: 7, link: { duplicate: 0.2, reorder: 0.3, latencyMs: 25 } });
    const ds = Array.from({ length: 300 }, (_, i) => b.send(i * 20, up(30)));
    b.settle();
    const s = b.radio.stats();
    expect(ds.filter((r) => r.d?.arrivals.length === 2)).toHaveLength(s.duplicates);
    expect(s.duplicates).toBeGreaterThan(30);
    expect(s.reordered).toBeGreaterThan(50);
    expect(s.overtaken).toBeGreaterThan(0);
    for (const r of ds) expect((r.d as Delivery).arrivals[0]).toBeGreaterThanOrEqual(25);
  });

  test('LQI follows the link setting, or the loss rate', () => {
    const b = bench({ seed: 2 });
    b.radio.setLink(0x2002, { lqi: 80 });
    b.radio.setLink(0x3003, { loss: 0.5 });
    const lqi = (nwk: number) => {
      let q = -1;
      for (let i = 0; q < 0; i++) {
        b.radio.unicast(b.clock.now(), up(10, nwk), { arrived: (_, x) => (q = x) });
        b.settle();
      }
      return q;
    };
    expect(lqi(DEV)).toBeGreaterThan(230);
    expect(lqi(0x2002)).toBeLessThanOrEqual(80);
    expect(lqi(0x2002)).toBeGreaterThan(55);
    expect(lqi(0x3003)).toBeLessThanOrEqual(128);
  });

  test('a CCA while another frame is on the air finds the channel busy: the sender backs off and goes after it', () => {
    const b = bench({ seed: 5 });
    b.send(0, down(100));
    b.settle();
    const a = b.air[0].attempts[0];
    // The same run again, and a request handed over just as the block starts: every CCA its first backoffs
    // allow (≤ 7 units, 2.4 ms) falls inside the block (4.6 ms).
    const c = bench({ seed: 5 });
    c.send(0, down(100));
    c.send(a.start + 0.01, up(20, 0x2002));
    c.settle();
    const [block, req] = [c.air.find((x) => x.frame.src === 0) as AirFrame, c.air.find((x) => x.frame.src === 0x2002) as AirFrame];
    expect(c.radio.stats().busyCca).toBeGreaterThan(0);
    expect(req.attempts[0].start).toBeGreaterThanOrEqual(block.attempts[0].end);
    expect(c.radio.stats().collisions).toBe(0);
  });

  test('frames that overlap on the air are both lost (CCAs within a turnaround of each other): each is retried and gets through', () => {
    let collided = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const b = bench({ seed });
      const x = b.send(0, up(40, 0x2002));
      const y = b.send(0, up(40, 0x3003));
      b.settle();
      expect(x.d?.delivered && y.d?.delivered).toBe(true);
      const [ax, ay] = [b.air[0].attempts, b.air[1].attempts];
      if (b.radio.stats().collisions === 0) continue;
      collided++;
      // The first attempts overlapped and neither was delivered; later ones did not overlap.
      expect(overlap(ax[0], ay[0])).toBe(true);
      expect(ax[0].delivered || ay[0].delivered).toBe(false);
      expect(overlap(ax[ax.length - 1], ay[ay.length - 1])).toBe(false);
    }
    expect(collided).toBeGreaterThan(0);
  });

  test('on a crowded channel every transmission that overlaps another is counted lost, and none overlaps a delivered one', () => {
    const b = bench({ seed: 11 });
    for (let i = 0; i < 400; i++) b.send(i * 2, i % 2 ? up(40, DEV + (i % 7)) : down(81, DEV + (i % 7)));
    b.settle();
    const tx = b.air.flatMap((a) => a.attempts);
    for (const t of tx.filter((t) => t.delivered)) expect(tx.some((o) => o !== t && overlap(o, t))).toBe(false);
    const s = b.radio.stats();
    expect(s.collisions).toBeGreaterThan(0);
    expect(s.busyCca).toBeGreaterThan(0);
  });

  test('a broadcast is not acknowledged; the NWK layer repeats it for receivers that missed it', () => {
    const b = bench({ seed: 4 });
    b.radio.setLink(0x2002, { loss: 1 });
    const heard = new Map<number, number[]>();
    b.radio.broadcast(0, { ...down(12), dst: 0xfffd }, [DEV, 0x2002], 2, { arrived: (nwk, at) => heard.set(nwk, at) });
    b.settle();
    expect(heard.get(DEV)).toHaveLength(1);
    expect(heard.has(0x2002)).toBe(false);
    expect(b.air.map((a) => a.attempts.length)).toEqual([3]);
  });

  test('timeScale shrinks every delay', () => {
    const real = bench({ seed: 5, link: { latencyMs: 10 } }).one(0, up(64));
    const fast = bench({ seed: 5, link: { latencyMs: 10 }, timeScale: 0.05 }).one(0, up(64));
    expect(fast.arrivals[0]).toBeCloseTo(real.arrivals[0] * 0.05, 9);
  });
});
