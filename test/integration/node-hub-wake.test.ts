// The Node hub ticks the hub core when the core asks (wakeAt), as the Espruino build does, so Image Page
// Request blocks leave at the responseSpacing the client asked for, not at a fixed 100 ms tick (issue 15,
// defect 6).
//
// The hub runs on a manual clock that the test moves 1 ms at a time, and only while no block is on its way
// to the device: the times the hub sends at are then its own decisions, the same on a loaded machine as on
// an idle one. The devices and the serial links run in real time.
import { FALLBACK_TICK_MS, nextTickAt } from '../../firmware/node/node-hub';
import { ZnpDriver } from '../../firmware/radio/znp-driver';
import { parseZclFrame } from '../../firmware/core/zcl-frame';
import { decodeOta, ImageBlockResponse } from '../../firmware/core/zcl-ota';
import { ClientEvent } from '../../host-tools/sim/ota-client';
import { ManualScheduler } from '../../host-tools/sim/scheduler';
import { makeImage } from '../helpers/images';
import { startBench, waitFor } from '../helpers/hub-bench';

const PPMID = '000D6F0000000001';
const SPACING_MS = 20;
const PAGE_BYTES = 512;
const BLOCK_BYTES = 64; // the simulated client's maxDataSize, and the hub's maxBlock
const PAGES = 3;

test(`page blocks leave ${SPACING_MS} ms apart (the responseSpacing asked), every page, by the hub's own clock`, async () => {
  const clock = new ManualScheduler(1_700_000_000_000);
  const bench = await startBench([`PPMID:${PPMID}`], 1, {
    quirks: { pageRequests: { pageSize: PAGE_BYTES, responseSpacingMs: SPACING_MS } },
    // Real-time device timeouts: the device waits for blocks as long as a loaded machine may need.
    timing: { notifyJitterMs: 0, responseTimeoutMs: 60000 },
    hub: { clock },
  });
  let driving = true;
  try {
    // Image Block Responses the hub handed the radio, at the hub's time; blocks the device has had.
    const sent: { at: number; off: number }[] = [];
    const driver = bench.hub.hub.p.radio as ZnpDriver;
    const send = driver.send.bind(driver);
    driver.send = (nwk, endpoint, cluster, data, len, now) => {
      const h = send(nwk, endpoint, cluster, data, len, now);
      const f = parseZclFrame(data.slice(0, len));
      if (h >= 0 && f.header.commandId === 0x05) {
        const r = decodeOta(0x05, f.payload) as ImageBlockResponse;
        if (r.block) sent.push({ at: now, off: r.block.fileOffset });
      }
      return h;
    };
    let had = 0;
    bench.sim.on('client', (_eui: string, e: ClientEvent) => {
      if (e.kind === 'block') had++;
    });
    void (async () => {
      while (driving) {
        if (had === sent.length) clock.advance(1);
        await new Promise((r) => setTimeout(r, 1));
      }
    })();

    await bench.client.request('dev.add', { eui: PPMID, type: 'PPMID' });
    await bench.client.upload('fw-v2', makeImage({ fileVersion: 2, size: 8 * 1024 }));
    const pagesServed = waitFor<[string, ClientEvent]>(bench.sim, 'client', () => had >= (PAGES * PAGE_BYTES) / BLOCK_BYTES, 60000, `${PAGES} pages at the device`);
    await bench.client.request('job.start', { image: 'fw-v2', devices: [PPMID] });
    await pagesServed;

    for (let p = 0; p < PAGES; p++) {
      const page = sent.filter((b) => Math.floor(b.off / PAGE_BYTES) === p);
      expect(page.map((b) => b.off)).toEqual(Array.from({ length: PAGE_BYTES / BLOCK_BYTES }, (_, i) => p * PAGE_BYTES + i * BLOCK_BYTES));
      // The first block answers the Image Page Request; each next one goes when its spacing is up.
      expect(page.slice(1).map((b, i) => b.at - page[i].at)).toEqual(Array(page.length - 1).fill(SPACING_MS));
    }
  } finally {
    driving = false;
    await bench.close();
  }
  // Closed, the hub leaves no timer behind.
  expect(clock.runUntil(Number.MAX_SAFE_INTEGER)).toBe(0);
}, 90000);

describe('nextTickAt: when NodeHub ticks the core next', () => {
  const now = 1000;
  test('at the wake the core asks for, when it comes before the fallback tick', () => {
    expect(nextTickAt(now, now + SPACING_MS, false)).toBe(now + SPACING_MS);
    expect(nextTickAt(now, now + SPACING_MS, true)).toBe(now + SPACING_MS);
  });
  test(`at the fallback tick (${FALLBACK_TICK_MS} ms) when nothing is due sooner: the core's other timeouts`, () => {
    expect(nextTickAt(now, -1, false)).toBe(now + FALLBACK_TICK_MS);
    expect(nextTickAt(now, now + 5000, true)).toBe(now + FALLBACK_TICK_MS);
  });
  test('at once for a wake already due after an input; after a tick that could not serve it, not in a 0 ms loop', () => {
    expect(nextTickAt(now, now - 5, false)).toBe(now);
    expect(nextTickAt(now, now, true)).toBe(now + FALLBACK_TICK_MS);
    expect(nextTickAt(now, now - 5, true)).toBe(now + FALLBACK_TICK_MS);
  });
});
