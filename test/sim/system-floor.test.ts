import { DEFAULT_CONFIG } from '../../firmware/core/hub';
import { transferFrames } from '../../host-tools/sim/airtime-floor';
import { MAX_PSDU_BYTES, psduBytes } from '../../host-tools/sim/han-frame';
import { DEFAULT_TIMING } from '../../host-tools/sim/ota-client';
import { parseScenario } from '../../host-tools/sim/scenario';
import { runScenario } from '../../host-tools/sim/scenario-run';
import { criticalPath, floorDevice, FloorDevice, sharedMs, systemFloor } from '../../host-tools/sim/system-floor';

// Spec arithmetic, written out independently of the encoders.
const US_PER_AIR_BYTE = 32; // 250 kbit/s (FACTS §3)
const PHY = 6;
/** MAC 9 + NWK 8 + NWK auxiliary security header 14 + APS 8 + NWK MIC 4 + FCS 2. */
const ON_AIR_OVERHEAD = 9 + 8 + 14 + 8 + 4 + 2;
const airUs = (zcl: number) => (PHY + ON_AIR_OVERHEAD + zcl) * US_PER_AIR_BYTE;
const ACK_US = 192 + (PHY + 5) * US_PER_AIR_BYTE; // turnaround + 5-byte ACK
const CCA_US = 128;
const TURNAROUND_US = 192; // RX-to-TX after a clear CCA, before the frame (IEEE 802.15.4-2006 §6.4.1)
/** Unslotted CSMA-CA (IEEE 802.15.4-2006 §7.5.1.4): before a frame's first CCA a backoff drawn uniformly from
 *  0 … 2^macMinBE − 1 units of aUnitBackoffPeriod = 20 symbols × 16 µs; macMinBE 3 (Table 86). */
const UNIT_BACKOFF_US = 20 * 16;
const BACKOFF_DRAWS = 2 ** 3; // 0 … 7 units
const MEAN_BACKOFF_US = ((BACKOFF_DRAWS - 1) / 2) * UNIT_BACKOFF_US; // 3.5 units, 1,120 µs
/** Variance of one uniform draw from 0 … 7 units, (8² − 1) ÷ 12 units². */
const BACKOFF_VARIANCE_US2 = ((BACKOFF_DRAWS ** 2 - 1) / 12) * UNIT_BACKOFF_US ** 2;
const uartUs = (bytes: number) => (bytes * 10 * 1e6) / 115200; // 8N1
/** ZCL header 3 + field control 1 + manufacturer 2 + image type 2 + version 4 + offset 4 + maxDataSize 1. */
const BLOCK_REQUEST = 3 + 1 + 2 + 2 + 4 + 4 + 1;
/** ZCL header 3 + status 1 + manufacturer 2 + image type 2 + version 4 + offset 4 + dataSize 1 + data. */
const blockResponse = (data: number) => 3 + 1 + 2 + 2 + 4 + 4 + 1 + data;
/** ZNP: SOF, LEN, CMD0, CMD1, FCS around AF_DATA_REQUEST's 10 bytes before the data / AF_INCOMING_MSG's 17 + 3-byte trailer. */
const dataRequest = (zcl: number) => 5 + 10 + zcl;
const incomingMsg = (zcl: number) => 5 + 20 + zcl;
const SRSP = 5 + 1;
const CONFIRM = 5 + 3;
/** ZCL header 3 + payloadType 1 + queryJitter 1. */
const NOTIFY = 3 + 1 + 1;
/** ZCL header 3 + field control 1 + manufacturer 2 + type 2 + version 4 + hardware version 2. */
const QUERY = 3 + 1 + 2 + 2 + 4 + 2;
/** ZCL header 3 + status 1 + manufacturer 2 + type 2 + version 4 + image size 4. */
const QUERY_RESPONSE = 3 + 1 + 2 + 2 + 4 + 4;
/** ZCL header 3 + status 1 + manufacturer 2 + type 2 + version 4. */
const END_REQUEST = 3 + 1 + 2 + 2 + 4;
/** Hub → device: AF_DATA_REQUEST, then its backoff, a CCA and the turnaround, then the frame. */
const downUs = (zcl: number) => uartUs(dataRequest(zcl)) + MEAN_BACKOFF_US + CCA_US + TURNAROUND_US + airUs(zcl);
/** Device → hub, from the device's gap (a pause or its ACK, whichever is longer): backoff, CCA, turnaround, frame, AF_INCOMING_MSG. */
const upUs = (zcl: number, gapUs: number) => gapUs + MEAN_BACKOFF_US + CCA_US + TURNAROUND_US + airUs(zcl) + uartUs(incomingMsg(zcl));

const device = (turnaroundMs = 0): FloorDevice => ({ blockSize: 64, turnaroundMs });

describe('system floor: one 64-byte block, by hand', () => {
  test('the frames: a 17-byte request in a 62-byte PSDU, an 81-byte response in a 126-byte one, which still fits 127', () => {
    expect(ON_AIR_OVERHEAD + BLOCK_REQUEST).toBe(62);
    expect(psduBytes(BLOCK_REQUEST)).toBe(62);
    expect(psduBytes(blockResponse(64))).toBe(126);
    expect(psduBytes(blockResponse(DEFAULT_CONFIG.maxBlock))).toBeLessThanOrEqual(MAX_PSDU_BYTES);
  });

  test('the other frames of a transfer, by hand, are the sizes the encoders give', () => {
    const f = transferFrames(64 * 10, 64);
    expect([f.notify, f.query, f.queryResponse, f.endRequest]).toEqual([NOTIFY, QUERY, QUERY_RESPONSE, END_REQUEST]);
    expect(f.blocks).toEqual([{ count: 10, request: BLOCK_REQUEST, response: blockResponse(64) }]);
    // A client that states its minimumBlockPeriod sends it in every Image Block Request: 2 bytes more.
    expect(transferFrames(64 * 10, 64, 1000).blocks[0].request).toBe(BLOCK_REQUEST + 2);
  });

  test("one device: a block adds the device's ACK, a backoff, a CCA and a turnaround, the request on the air, AF_INCOMING_MSG, AF_DATA_REQUEST, a backoff, a CCA, a turnaround and the response on the air", () => {
    expect(MEAN_BACKOFF_US).toBe(1120); // 3.5 units of 320 µs
    const block = upUs(BLOCK_REQUEST, ACK_US) + downUs(blockResponse(64));
    expect(block).toBeCloseTo(19563.2 + 2 * 1120, 1); // the worked block in docs/simulator.md: 21,803.2 µs
    const oneMore = criticalPath(64 * 11, device()).ms - criticalPath(64 * 10, device()).ms;
    expect(oneMore * 1000).toBeCloseTo(block, 6);
  });

  test('one device: the whole critical path is the sum of its legs, each frame with its mean backoff, and the mean query jitter', () => {
    const blocks = 10;
    const jitterMs = 2000;
    const d: FloorDevice = { ...device(), queryJitterMs: jitterMs };
    const byHand =
      downUs(NOTIFY) +
      upUs(QUERY, (jitterMs * 1000) / 2) + // the client waits a uniform 0 … 2 s after Image Notify, 1 s on average; its ACK goes out within it
      downUs(QUERY_RESPONSE) +
      blocks * (upUs(BLOCK_REQUEST, ACK_US) + downUs(blockResponse(64))) + // each request waits for the device's ACK of the frame before
      upUs(END_REQUEST, ACK_US);
    const p = criticalPath(64 * blocks, d);
    expect(p.ms * 1000).toBeCloseTo(byHand, 6);
    // The backoff term: 3.5 units for each of its 4 + 2 × blocks frames (notify, query, query response, the blocks' requests and responses, Upgrade End Request).
    expect(p.frames).toBe(4 + 2 * blocks);
    expect(p.csmaBackoffMs * 1000).toBeCloseTo((4 + 2 * blocks) * 3.5 * 320, 6);
    expect(p.queryJitterMs * 1000).toBeCloseTo(1000e3 - ACK_US, 6);
    const f = systemFloor(64 * blocks, [d]);
    expect(f.bound).toBe('critical path');
    expect([f.ms, f.csmaBackoffMs, f.queryJitterMs]).toEqual([p.ms, p.csmaBackoffMs, p.queryJitterMs]);
    // What the bench and the scenario tests use: the simulated client's own timing, and its profile's pause.
    expect(floorDevice({}, 64)).toEqual({ blockSize: 64, turnaroundMs: 0, queryJitterMs: DEFAULT_TIMING.notifyJitterMs, processingMs: 0 });
    expect(floorDevice({ maxDataSize: 100, quirks: { minBlockPeriodMs: 1000 } }, 64)).toEqual({ blockSize: 64, turnaroundMs: 1000, queryJitterMs: DEFAULT_TIMING.notifyJitterMs, processingMs: 0 });
  });

  test("a client's own pause between blocks replaces the ACK in the gap when it is longer; it states it in each request", () => {
    const blocks = 10;
    const slower = criticalPath(64 * blocks, device(5)).ms - criticalPath(64 * blocks, device()).ms;
    // Every request but the first follows the client's pause: 5 ms instead of the ACK; every request carries 2 bytes more on the air and the UART.
    expect(slower * 1000).toBeCloseTo((blocks - 1) * (5000 - ACK_US) + blocks * (2 * US_PER_AIR_BYTE + uartUs(2)), 6);
    expect(criticalPath(64 * blocks, device(0.1)).ms - criticalPath(64 * blocks, device()).ms).toBeCloseTo((blocks * (2 * US_PER_AIR_BYTE + uartUs(2))) / 1000, 9);
  });

  test("a client's processing time comes before each of its 2 + blocks frames on the path (the query, the block requests, the Upgrade End Request); its ACK hides what is shorter; the default is 0", () => {
    const blocks = 10;
    const clientFrames = 2 + blocks;
    const jittery = (processingMs?: number, turnaroundMs = 0): FloorDevice => ({ ...device(turnaroundMs), queryJitterMs: 2000, processingMs });
    const path = (d: FloorDevice) => criticalPath(64 * blocks, d).ms;
    // The default: the simulated client's timing has none, and a floor without it is the floor it always was.
    expect(DEFAULT_TIMING.processingMs).toBe(0);
    expect(criticalPath(64 * blocks, jittery(0))).toEqual(criticalPath(64 * blocks, jittery()));
    expect(systemFloor(64 * blocks, [floorDevice({}, 64)])).toEqual(systemFloor(64 * blocks, [{ blockSize: 64, turnaroundMs: 0, queryJitterMs: DEFAULT_TIMING.notifyJitterMs }]));
    // Longer than the device's ACK (544 µs), each ms of it is a ms on the path before every frame the client sends.
    expect((path(jittery(5)) - path(jittery(1))) * 1000).toBeCloseTo(4000 * clientFrames, 6);
    expect((path(jittery(2)) - path(jittery(1))) * 1000).toBeCloseTo(1000 * clientFrames, 6);
    // From none: the query's gap is the jitter, so all of it counts there; before the block requests and the Upgrade
    // End Request the ACK was the gap, so only what exceeds it counts. 0.5 ms is within the ACK.
    for (const p of [0.5, 1, 2, 5]) {
      const byHand = p * 1000 + (clientFrames - 1) * Math.max(0, p * 1000 - ACK_US);
      expect((path(jittery(p)) - path(jittery(0))) * 1000).toBeCloseTo(byHand, 6);
    }
    // A client pausing 5 ms between blocks: the processing adds to the pause, so all of it counts before those requests.
    expect((path(jittery(1, 5)) - path(jittery(0, 5))) * 1000).toBeCloseTo(1000 * (1 + (blocks - 1)) + 2 * (1000 - ACK_US), 6);
    // The query jitter term stays the jitter's own share: without it the path is the path with no jitter.
    for (const p of [0, 0.5, 5]) {
      const withJitter = criticalPath(64 * blocks, jittery(p));
      expect(withJitter.ms - withJitter.queryJitterMs).toBeCloseTo(criticalPath(64 * blocks, { ...jittery(p), queryJitterMs: 0 }).ms, 9);
    }
    // It is the client's own time, not a shared resource's: ten devices' line to the stick and channel do not change.
    const ten = (p: number) => systemFloor(64 * blocks, Array.from({ length: 10 }, () => jittery(p)));
    expect([ten(5).toStickMs, ten(5).toHubMs, ten(5).airMs]).toEqual([ten(0).toStickMs, ten(0).toHubMs, ten(0).airMs]);
  });

  test('shared resources: per block, AF_DATA_REQUEST + its SRSP to the stick, AF_INCOMING_MSG + SRSP + AF_DATA_CONFIRM to the hub, both frames with ACKs on the air', () => {
    const per = (blocks: number) => sharedMs(64 * blocks, [device()]);
    const a = per(10);
    const b = per(11);
    expect((b.toStickMs - a.toStickMs) * 1000).toBeCloseTo(uartUs(dataRequest(blockResponse(64)) + SRSP), 6);
    expect((b.toHubMs - a.toHubMs) * 1000).toBeCloseTo(uartUs(incomingMsg(BLOCK_REQUEST) + SRSP + CONFIRM), 6);
    expect((b.airMs - a.airMs) * 1000).toBeCloseTo(airUs(BLOCK_REQUEST) + ACK_US + airUs(blockResponse(64)) + ACK_US, 6);
  });

  test('many devices: the floor is the line to the stick by hand, n times over, with no backoff in it', () => {
    const blocks = 100;
    // Every hub frame of one transfer: AF_DATA_REQUEST + its SRSP (Image Notify, Query Next Image Response, each block).
    const toStickUs = [NOTIFY, QUERY_RESPONSE, ...Array(blocks).fill(blockResponse(64))].reduce((n, z) => n + uartUs(dataRequest(z) + SRSP), 0);
    for (const n of [10, 50]) {
      const f = systemFloor(64 * blocks, Array.from({ length: n }, () => ({ ...device(), queryJitterMs: 2000 })));
      expect(f.bound).toBe('UART to the stick');
      expect(f.ms * 1000).toBeCloseTo(n * toStickUs, 3);
      // The one-device path (backoff and jitter included) is still reported, but well below.
      expect(f.criticalPathMs).toBeLessThan(f.ms);
    }
  });
});

describe('system floor: properties', () => {
  const image = 64 * 100 + 17; // a short last block
  test('it is the larger of the critical path and the busiest shared resource; the shared terms grow with the devices', () => {
    for (const n of [1, 2, 10, 50]) {
      const devices = Array.from({ length: n }, () => device());
      const f = systemFloor(image, devices);
      expect(f.ms).toBe(Math.max(f.criticalPathMs, f.toStickMs, f.toHubMs, f.airMs));
      const one = sharedMs(image, [device()]);
      expect(f.toStickMs).toBeCloseTo(n * one.toStickMs, 6);
      expect(f.airMs).toBeCloseTo(n * one.airMs, 6);
    }
    // One device waits for each leg in turn; ten keep the line to the stick busy.
    expect(systemFloor(image, [device()]).bound).toBe('critical path');
    expect(systemFloor(image, Array.from({ length: 10 }, () => device())).bound).toBe('UART to the stick');
  });

  const scenario = (devices: string, image: number) => parseScenario(`image: { size: ${image} }\ndevices:\n${devices}\nexpect: { allSucceed: true }\n`, 'floor.yaml');

  test('without its two mean random waits it never exceeds the measured time of a loss-free simulated run', () => {
    const cases = [
      { devices: '  - { type: PPMID }', image: 4096 },
      { devices: '  - { type: HCALCS, profile: slow }', image: 1024 },
      { devices: '  - { type: PPMID, count: 2 }\n  - { type: HCALCS, count: 2 }', image: 4096 },
    ];
    for (const c of cases)
      for (const seed of [1, 2, 3]) {
        const s = scenario(c.devices, c.image);
        const { report } = runScenario(s, { seed });
        expect(report.ok).toBe(true);
        const floor = systemFloor(c.image, s.devices.map((d) => floorDevice(d, DEFAULT_CONFIG.maxBlock)));
        // A run may draw shorter backoffs and a shorter query jitter than their means; the rest it cannot beat.
        const fixedPath = floor.criticalPathMs - floor.csmaBackoffMs - floor.queryJitterMs;
        expect(Math.max(fixedPath, floor.toStickMs, floor.toHubMs, floor.airMs)).toBeLessThanOrEqual(report.measuredMs as number);
        for (const d of report.devices) expect(fixedPath).toBeLessThanOrEqual(d.timeMs as number);
      }
  });

  // One device alone: the simulator's mean time over many seeds is the floor, within three standard errors of
  // the random waits (each backoff a uniform 0 … 7 units, the query jitter a uniform 0 … notifyJitterMs).
  // Too small a backoff term (none, or one per block) or too large a one (a draw up to macMaxBE) falls outside.
  const SEEDS = Array.from({ length: 30 }, (_, i) => i + 1);
  test.each([
    { what: 'a textbook client, no query jitter', devices: '  - { type: PPMID }', image: 4096, jitterMs: 0 },
    { what: 'a client pausing 1 s between blocks, no query jitter', devices: '  - { type: HCALCS, profile: slow }', image: 1024, jitterMs: 0 },
    { what: 'a textbook client with its default query jitter', devices: '  - { type: PPMID }', image: 4096, jitterMs: DEFAULT_TIMING.notifyJitterMs },
    { what: 'a textbook client taking 2 ms to process each frame, no query jitter', devices: '  - { type: PPMID }', image: 4096, jitterMs: 0, processingMs: 2 },
  ])('one device, $what: the mean measured time is the floor, backoffs included', ({ devices, image, jitterMs, processingMs }) => {
    const s = scenario(devices, image);
    const timing = { notifyJitterMs: jitterMs, processingMs: processingMs ?? 0 };
    const floor = systemFloor(image, s.devices.map((d) => floorDevice(d, DEFAULT_CONFIG.maxBlock, { ...DEFAULT_TIMING, ...timing })));
    expect(floor.bound).toBe('critical path');
    const frames = floor.csmaBackoffMs / (MEAN_BACKOFF_US / 1000);
    const sdUs = Math.sqrt(frames * BACKOFF_VARIANCE_US2 + (jitterMs * 1000) ** 2 / 12) / Math.sqrt(SEEDS.length);
    const times = SEEDS.map((seed) => runScenario(s, { seed, timing }).report.measuredMs as number);
    const meanUs = (times.reduce((n, t) => n + t, 0) / times.length) * 1000;
    expect(Math.abs(meanUs - floor.ms * 1000)).toBeLessThanOrEqual(3 * sdUs);
    // The term under test is far outside that band: leaving it out would be caught.
    const processingTermMs = floor.ms - systemFloor(image, s.devices.map((d) => floorDevice(d, DEFAULT_CONFIG.maxBlock, { ...DEFAULT_TIMING, ...timing, processingMs: 0 }))).ms;
    expect((processingMs ? processingTermMs : jitterMs > 0 ? floor.queryJitterMs : floor.csmaBackoffMs) * 1000).toBeGreaterThan(6 * sdUs);
  });
});
