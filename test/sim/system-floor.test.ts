import { DEFAULT_CONFIG } from '../../firmware/core/hub';
import { MAX_PSDU_BYTES, psduBytes } from '../../host-tools/sim/han-frame';
import { parseScenario } from '../../host-tools/sim/scenario';
import { runScenario } from '../../host-tools/sim/scenario-run';
import { criticalPathMs, sharedMs, systemFloor } from '../../host-tools/sim/system-floor';

// Spec arithmetic, written out independently of the encoders.
const US_PER_AIR_BYTE = 32; // 250 kbit/s (FACTS §3)
const PHY = 6;
/** MAC 9 + NWK 8 + NWK auxiliary security header 14 + APS 8 + NWK MIC 4 + FCS 2. */
const ON_AIR_OVERHEAD = 9 + 8 + 14 + 8 + 4 + 2;
const airUs = (zcl: number) => (PHY + ON_AIR_OVERHEAD + zcl) * US_PER_AIR_BYTE;
const ACK_US = 192 + (PHY + 5) * US_PER_AIR_BYTE; // turnaround + 5-byte ACK
const CCA_US = 128;
const TURNAROUND_US = 192; // RX-to-TX after a clear CCA, before the frame (IEEE 802.15.4-2006 §6.4.1)
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

const device = (turnaroundMs = 0) => ({ blockSize: 64, turnaroundMs });

describe('system floor: one 64-byte block, by hand', () => {
  test('the frames: a 17-byte request in a 62-byte PSDU, an 81-byte response in a 126-byte one, which still fits 127', () => {
    expect(ON_AIR_OVERHEAD + BLOCK_REQUEST).toBe(62);
    expect(psduBytes(BLOCK_REQUEST)).toBe(62);
    expect(psduBytes(blockResponse(64))).toBe(126);
    expect(psduBytes(blockResponse(DEFAULT_CONFIG.maxBlock))).toBeLessThanOrEqual(MAX_PSDU_BYTES);
  });

  test("one device: a block adds the device's ACK, a CCA and a turnaround, the request on the air, AF_INCOMING_MSG, AF_DATA_REQUEST, a CCA, a turnaround and the response on the air", () => {
    const block = ACK_US + CCA_US + TURNAROUND_US + airUs(BLOCK_REQUEST) + uartUs(incomingMsg(BLOCK_REQUEST)) + uartUs(dataRequest(blockResponse(64))) + CCA_US + TURNAROUND_US + airUs(blockResponse(64));
    expect(block).toBeCloseTo(19563.2, 1); // the worked block in docs/simulator.md
    const oneMore = criticalPathMs(64 * 11, device()) - criticalPathMs(64 * 10, device());
    expect(oneMore * 1000).toBeCloseTo(block, 6);
  });

  test("a client's own pause between blocks replaces the ACK in the gap when it is longer", () => {
    const blocks = 10;
    const slower = criticalPathMs(64 * blocks, device(5)) - criticalPathMs(64 * blocks, device());
    // Every request but the first follows the client's pause: 5 ms instead of the ACK.
    expect(slower * 1000).toBeCloseTo((blocks - 1) * (5000 - ACK_US), 6);
    expect(criticalPathMs(64 * blocks, device(0.1))).toBeCloseTo(criticalPathMs(64 * blocks, device()), 9);
  });

  test('shared resources: per block, AF_DATA_REQUEST + its SRSP to the stick, AF_INCOMING_MSG + SRSP + AF_DATA_CONFIRM to the hub, both frames with ACKs on the air', () => {
    const per = (blocks: number) => sharedMs(64 * blocks, [device()]);
    const a = per(10);
    const b = per(11);
    expect((b.toStickMs - a.toStickMs) * 1000).toBeCloseTo(uartUs(dataRequest(blockResponse(64)) + SRSP), 6);
    expect((b.toHubMs - a.toHubMs) * 1000).toBeCloseTo(uartUs(incomingMsg(BLOCK_REQUEST) + SRSP + CONFIRM), 6);
    expect((b.airMs - a.airMs) * 1000).toBeCloseTo(airUs(BLOCK_REQUEST) + ACK_US + airUs(blockResponse(64)) + ACK_US, 6);
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

  test('it never exceeds the measured time of a loss-free simulated run', () => {
    const cases = [
      { devices: '  - { type: PPMID }', image: 4096 },
      { devices: '  - { type: HCALCS, profile: slow }', image: 1024 },
      { devices: '  - { type: PPMID, count: 2 }\n  - { type: HCALCS, count: 2 }', image: 4096 },
    ];
    for (const c of cases)
      for (const seed of [1, 2, 3]) {
        const s = parseScenario(`image: { size: ${c.image} }\ndevices:\n${c.devices}\nexpect: { allSucceed: true }\n`, 'floor.yaml');
        const { report } = runScenario(s, { seed });
        expect(report.ok).toBe(true);
        const floor = systemFloor(c.image, s.devices.map((d) => ({ blockSize: Math.min(d.maxDataSize ?? 64, DEFAULT_CONFIG.maxBlock), turnaroundMs: d.quirks?.minBlockPeriodMs ?? 0 })));
        expect(floor.ms).toBeLessThanOrEqual(report.measuredMs as number);
        // Each device's own critical path is a floor for its own time too.
        for (const d of report.devices) expect(floor.criticalPathMs).toBeLessThanOrEqual(d.timeMs as number);
      }
  });
});
