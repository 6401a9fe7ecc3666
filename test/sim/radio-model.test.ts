import { ackAirtimeUs, capturedPsduBytes, encodeMacAck, encodeMacFrame, frameAirtimeUs, HanFrame, psduBytes, crc16Kermit } from '../../host-tools/sim/han-frame';
import { ACK_WAIT_US, BACKOFF_UNIT_US, CCA_US, MAC_MAX_BE, RadioModel, TURNAROUND_US } from '../../host-tools/sim/radio-model';

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

describe('radio model', () => {
  test('a clean link delivers at the first attempt: backoff + CCA + frame + turnaround + ACK', () => {
    const m = new RadioModel({ seed: 1 });
    const d = m.unicast(0, up(50));
    expect(d).toMatchObject({ delivered: true, attempts: 1 });
    const fixedUs = CCA_US + frameAirtimeUs(up(50)) + TURNAROUND_US + ackAirtimeUs();
    expect(d.done * 1000).toBeGreaterThanOrEqual(fixedUs - 1e-6);
    expect(d.done * 1000).toBeLessThanOrEqual(fixedUs + 7 * BACKOFF_UNIT_US + 1e-6);
    // The receiver has it when the frame ends, before the ACK.
    expect(d.arrivals).toHaveLength(1);
    expect(d.arrivals[0]).toBeLessThan(d.done);
  });

  test('a receiver sends its ACK before its own next frame: it senses the channel only once the ACK is out', () => {
    const m = new RadioModel({ seed: 1 });
    const starts: number[] = [];
    m.observe((a) => starts.push(a.attempts[0].start));
    const block = m.unicast(0, down(81));
    // The device answers the moment the block is handed up, while its ACK is still to go.
    m.unicast(block.arrivals[0], up(17));
    expect(starts[1] * 1000).toBeGreaterThanOrEqual(block.done * 1000 + CCA_US - 1e-6);
    expect(m.stats().busyCca).toBe(0);
  });

  test('a dead link fails after 1 + 3 MAC retries, each waiting for an ACK that never comes', () => {
    const m = new RadioModel({ seed: 1, lossRate: 1 });
    const d = m.unicast(0, up(50));
    expect(d).toMatchObject({ delivered: false, attempts: 4, arrivals: [] });
    const per = CCA_US + frameAirtimeUs(up(50)) + ACK_WAIT_US;
    expect(d.done * 1000).toBeGreaterThanOrEqual(4 * per - 1e-6);
    expect(m.stats()).toMatchObject({ frames: 1, attempts: 4, macRetries: 3, undelivered: 1, lostRandom: 4 });
    expect(m.linkStats(DEV)).toEqual({ frames: 1, macRetries: 3, undelivered: 1 });
  });

  test('the same seed replays the same run; another seed does not', () => {
    const run = (seed: number) => {
      const m = new RadioModel({ seed, link: { loss: 0.3, duplicate: 0.1, reorder: 0.1, burst: { everyMs: 500, lengthMs: 50 } } });
      return Array.from({ length: 200 }, (_, i) => m.unicast(i * 10, i % 2 ? up(40) : down(80)));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  test('links have their own loss rate, and their own random stream', () => {
    const m = new RadioModel({ seed: 3 });
    m.setLink(0x2002, { loss: 0.9 });
    const fails = (nwk: number) => Array.from({ length: 400 }, (_, i) => m.unicast(i * 100, up(40, nwk))).filter((d) => !d.delivered).length;
    expect(fails(DEV)).toBe(0);
    // 0.9^4 ≈ 0.66 of frames lose all four attempts.
    expect(fails(0x2002)).toBeGreaterThan(200);
    expect(fails(0x2002)).toBeLessThan(320);
    // Adding traffic on one link does not change another's draws.
    const a = new RadioModel({ seed: 9, lossRate: 0.5 });
    const b = new RadioModel({ seed: 9, lossRate: 0.5 });
    for (let i = 0; i < 50; i++) b.unicast(i, up(10, 0x3003));
    const delivered = (m2: RadioModel) => Array.from({ length: 50 }, (_, i) => m2.unicast(10000 + i * 100, up(10)).delivered);
    expect(delivered(a)).toEqual(delivered(b));
  });

  test('bursts lose every attempt inside them; outages lose everything in their window', () => {
    const m = new RadioModel({ seed: 5 });
    m.setLink(DEV, { burst: { everyMs: 1000, lengthMs: 100 } });
    for (let t = 0; t < 60000; t += 10) m.unicast(t, up(20));
    const s = m.stats();
    expect(s.lostBurst).toBeGreaterThan(200);
    expect(s.lostRandom).toBe(0);
    const o = new RadioModel({ seed: 5 });
    o.addOutage(DEV, 1000, 2000);
    expect(o.unicast(500, up(20)).delivered).toBe(true);
    expect(o.unicast(1200, up(20)).delivered).toBe(false);
    expect(o.unicast(2500, up(20)).delivered).toBe(true);
    expect(o.stats().lostOutage).toBe(4);
  });

  test('duplicates arrive twice; reordered frames are held back and can be overtaken; latency delays arrivals', () => {
    const m = new RadioModel({ seed: 7, link: { duplicate: 0.2, reorder: 0.3, latencyMs: 25 } });
    const ds = Array.from({ length: 300 }, (_, i) => m.unicast(i * 20, up(30)));
    const s = m.stats();
    expect(ds.filter((d) => d.arrivals.length === 2)).toHaveLength(s.duplicates);
    expect(s.duplicates).toBeGreaterThan(30);
    expect(s.reordered).toBeGreaterThan(50);
    expect(s.overtaken).toBeGreaterThan(0);
    for (const d of ds) expect(d.arrivals[0]).toBeGreaterThanOrEqual(25);
  });

  test('LQI follows the link setting, or the loss rate', () => {
    const m = new RadioModel({ seed: 2 });
    m.setLink(0x2002, { lqi: 80 });
    m.setLink(0x3003, { loss: 0.5 });
    const lqi = (nwk: number) => m.unicast(0, up(10, nwk)).linkQuality;
    expect(lqi(DEV)).toBeGreaterThan(230);
    expect(lqi(0x2002)).toBeLessThanOrEqual(80);
    expect(lqi(0x2002)).toBeGreaterThan(55);
    expect(lqi(0x3003)).toBeLessThanOrEqual(128);
  });

  test('one channel: frames take it one at a time, a waiting sender backs off with a growing exponent', () => {
    const m = new RadioModel({ seed: 5 });
    const a = m.unicast(0, down(100));
    const b = m.unicast(0, up(100, 0x2002));
    const c = m.unicast(0, up(100, 0x3003));
    expect(b.arrivals[0] - frameAirtimeUs(up(100)) / 1000).toBeGreaterThanOrEqual(a.done - 1e-9);
    expect(c.arrivals[0] - frameAirtimeUs(up(100)) / 1000).toBeGreaterThanOrEqual(b.done - 1e-9);
    expect(m.stats().busyCca).toBeGreaterThan(0);
    expect(MAC_MAX_BE).toBe(5);
  });

  test('a broadcast is not acknowledged; the NWK layer repeats it for receivers that missed it', () => {
    const m = new RadioModel({ seed: 4 });
    m.setLink(0x2002, { loss: 1 });
    const air: number[] = [];
    m.observe((a) => air.push(a.attempts.length));
    const r = m.broadcast(0, { ...down(12), dst: 0xfffd }, [DEV, 0x2002], 2);
    expect(r.arrivals.get(DEV)).toHaveLength(1);
    expect(r.arrivals.get(0x2002)).toEqual([]);
    expect(air).toEqual([3]);
  });

  test('timeScale shrinks every delay', () => {
    const real = new RadioModel({ seed: 5, link: { latencyMs: 10 } });
    const fast = new RadioModel({ seed: 5, link: { latencyMs: 10 }, timeScale: 0.05 });
    expect(fast.unicast(0, up(64)).arrivals[0]).toBeCloseTo(real.unicast(0, up(64)).arrivals[0] * 0.05, 9);
  });
});
