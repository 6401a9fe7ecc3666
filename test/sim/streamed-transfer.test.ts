// Streamed images on the virtual bench: the hub stores none of a 300 KB image, fetches ranges from the
// host (over a 115200-baud link's worth of delay) ahead of five clients downloading at once, answers
// WAIT_FOR_DATA while a range is on its way, and every client ends with an image that passes its check.
import { crc32 } from 'zlib';
import { ALERT_TRANSFER_FAILED, ALERT_TRANSFER_SUCCEEDED } from '../../host-tools/link/hub-protocol';
import { parseDeviceSpec } from '../../host-tools/sim/device-spec';
import { VirtualBench } from '../../host-tools/sim/virtual-bench';
import { makeImage } from '../helpers/images';

const SIZE = 300 * 1024;
const IMAGE = makeImage({ fileVersion: 2, size: SIZE });
const FACTS = { manufacturerCode: 0x1234, imageType: 0x0001, fileVersion: 2 };
const DEVICES = ['PPMID', 'PPMID', 'PPMID', 'HCALCS', 'HCALCS'].map((t, i) =>
  parseDeviceSpec(`${t}:000D6F00000000${(i + 1).toString(16).padStart(2, '0')}`, i, { manufacturerCode: 0x1234, imageType: 0x0001 }),
);

function run(hub: { streamRanges: number; streamRangeBytes: number }) {
  const bench = new VirtualBench({ devices: DEVICES, seed: 7, hub: { ...hub, maxBlock: 64 } });
  const endings = new Map<string, number>();
  const needs: number[] = [];
  bench.onEvent((e) => {
    const a = e.alert as { code: number; eui: string } | undefined;
    if (e.ev === 'alert' && a && (a.code === ALERT_TRANSFER_SUCCEEDED || a.code === ALERT_TRANSFER_FAILED)) endings.set(a.eui, a.code);
    if (e.ev === 'need') needs.push(e.off as number);
  });
  const sent = bench.stream('fw-big', IMAGE, FACTS);
  for (const d of DEVICES) bench.request('dev.add', { eui: d.eui, type: d.type });
  bench.request('job.start', { image: 'fw-big', devices: DEVICES.map((d) => d.eui) });
  bench.run(6 * 3600 * 1000, () => endings.size === DEVICES.length);
  bench.run(bench.clock.now() + 60000); // the PPMIDs reboot into the image
  return { bench, endings, needs, sent: sent() };
}

test('a 300 KB streamed image reaches five devices at once; the hub stores none of it', () => {
  const { bench, endings, sent } = run({ streamRanges: 10, streamRangeBytes: 256 });
  expect(bench.hubErrors).toEqual([]);
  expect([...endings.values()]).toEqual(DEVICES.map(() => ALERT_TRANSFER_SUCCEEDED));
  // The clients checked their image's digest before ending well; the PPMIDs run it.
  for (const s of bench.sim.devices()) expect(s.type === 'PPMID' ? s.fileVersion : s.heldVersion).toBe(2);
  const img = (bench.request('img.list').images as unknown as { name: string; streamed: boolean }[])[0];
  expect(img).toMatchObject({ name: 'fw-big', streamed: true });
  // Ranges are shared by clients that are close together: the host sent less than five copies.
  expect(sent).toBeGreaterThanOrEqual(SIZE);
  expect(sent).toBeLessThan(5 * SIZE);
});

test('with room for fewer ranges than clients, the clients still finish (ranges are fetched again)', () => {
  const { endings, sent } = run({ streamRanges: 3, streamRangeBytes: 128 });
  expect([...endings.values()]).toEqual(DEVICES.map(() => ALERT_TRANSFER_SUCCEEDED));
  expect(sent).toBeGreaterThan(SIZE);
});

test('registering: the same image again is a no-op, other content is refused while in use, names stay distinct', () => {
  const bench = new VirtualBench({ devices: DEVICES.slice(0, 1), seed: 1 });
  bench.stream('fw-big', IMAGE, FACTS);
  const again = bench.request('img.stream', { ...FACTS, name: 'fw-big', size: SIZE, crc: crc32(IMAGE) >>> 0 });
  expect(again.image).toMatchObject({ streamed: true, crc: crc32(IMAGE) >>> 0, size: SIZE });
  bench.request('dev.add', { eui: DEVICES[0].eui, type: DEVICES[0].type });
  bench.request('job.start', { image: 'fw-big', devices: [DEVICES[0].eui] });
  expect(() => bench.request('img.stream', { ...FACTS, name: 'fw-big', size: SIZE - 1, crc: 1 })).toThrow(/IN_USE/);
  expect(() => bench.request('img.begin', { name: 'fw-big', size: 10, crc: 1 })).toThrow(/EXISTS.*streamed/);
  expect(() => bench.request('img.range', { name: 'nosuch', off: 0, d: new Uint8Array(4) })).toThrow(/UNKNOWN_IMAGE/);
  expect(() => bench.request('img.range', { name: 'fw-big', off: 3, d: new Uint8Array(4) })).toThrow(/BAD_RANGE/);
});
