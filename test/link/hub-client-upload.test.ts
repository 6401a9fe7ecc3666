// HubClient uploads over a real pty against the hub core, with a link that loses img.data frames:
// the pipelined upload must recover by go-back-N and resume where an interrupted upload stopped.
import * as zlib from 'zlib';
import { SerialPort } from 'serialport';
import { Op } from '../../firmware/core/codes';
import { PAGE as JOB_START_BATCH } from '../../firmware/core/hub';
import { encodeFrame, FrameReader } from '../../firmware/core/wire';
import { decodeBody } from '../../host-tools/link/cbor-codec';
import { HubClient } from '../../host-tools/link/hub-client';
import { MemoryImageStore, MemoryKeyValueStore } from '../../host-tools/sim/memory-stores';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { coreHub, FakeRadio } from '../helpers/core-bench';
import { makeImage } from '../helpers/images';

const crc32 = (b: Uint8Array) => zlib.crc32(b) >>> 0;
const IMAGE = makeImage({ fileVersion: 2, size: 48 * 1024 });

/** The hub core on one end of a pty; `drop` decides which incoming requests are lost on the way. */
async function hubOnPty(drop: (op: number) => boolean) {
  const pair = await openPtyPair('client-test');
  const port = new SerialPort({ path: pair.a, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const images = new MemoryImageStore();
  const hub = coreHub(new FakeRadio(), images, new MemoryKeyValueStore(), (b) => port.write(Buffer.from(b)), {});
  hub.start(Date.now());
  // The requests as the hub's link would read them; the ones not dropped reach the hub, framed again.
  const reader = new FrameReader(crc32);
  port.on('data', (d: Buffer) => {
    for (const body of reader.push(new Uint8Array(d))) if (!drop((decodeBody(body) as number[])[1])) hub.host(encodeFrame(body, crc32), Date.now());
  });
  return {
    pair,
    images,
    close: async () => {
      await new Promise<void>((resolve) => port.close(() => resolve()));
      pair.close();
    },
  };
}

let bench: { pair: PtyPair; images: MemoryImageStore; close(): Promise<void> } | undefined;
let client: HubClient | undefined;
afterEach(async () => {
  await client?.close();
  await bench?.close();
  client = bench = undefined;
});

test('lost img.data frames are resent (go-back-N) and the stored image is exact', async () => {
  let n = 0;
  // Lose the 3rd and 20th chunk: the chunks behind each come back OUT_OF_ORDER and the client rewinds.
  bench = await hubOnPty((op) => op === Op.ImgData && (++n === 3 || n === 20));
  client = await HubClient.open(bench.pair.b);
  const r = await client.upload('fw', IMAGE);
  expect(r).toMatchObject({ resumedFrom: 0, image: { complete: true, size: IMAGE.length } });
  expect(r.sent).toBeGreaterThan(IMAGE.length); // some chunks went twice
  expect(Buffer.from(bench.images.files.get('fw')!).equals(Buffer.from(IMAGE))).toBe(true);
});

test('an interrupted upload resumes from the offset img.begin returns', async () => {
  bench = await hubOnPty(() => false);
  client = await HubClient.open(bench.pair.b);
  const chunk = client.info.maxChunk;
  await client.request('img.begin', { name: 'fw', size: IMAGE.length, crc: crc32(IMAGE) });
  for (let off = 0; off < 5 * chunk; off += chunk) await client.request('img.data', { name: 'fw', off, d: IMAGE.subarray(off, off + chunk) });
  const progress: number[] = [];
  const r = await client.upload('fw', IMAGE, (done) => progress.push(done));
  expect(r.resumedFrom).toBe(5 * chunk);
  expect(r.sent).toBe(IMAGE.length - 5 * chunk);
  expect(progress[0]).toBe(5 * chunk);
  expect(progress[progress.length - 1]).toBe(IMAGE.length);
  expect(r.image).toMatchObject({ complete: true });
});

test('a refused request rejects with the hub error code and message', async () => {
  bench = await hubOnPty(() => false);
  client = await HubClient.open(bench.pair.b);
  await expect(client.request('dev.add', { eui: 'nonsense', type: 'PPMID' })).rejects.toMatchObject({ code: 'BAD_EUI', message: expect.stringContaining('nonsense') });
});

test('a request the hub never answers times out naming the op and the port', async () => {
  bench = await hubOnPty((op) => op === Op.ImgList);
  client = await HubClient.open(bench.pair.b);
  await expect(client.request('img.list', {}, 300)).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(new RegExp(`img\\.list.*${bench.pair.b}`)) });
});

test('a lost last chunk is resent after its reply times out', async () => {
  const chunks = Math.ceil(IMAGE.length / DEFAULT_CONFIG.maxChunk);
  let n = 0;
  bench = await hubOnPty((op) => op === Op.ImgData && ++n === chunks);
  client = await HubClient.open(bench.pair.b, 300);
  const r = await client.upload('fw', IMAGE);
  expect(r.image).toMatchObject({ complete: true });
  expect(n).toBe(chunks + 1);
});

test('lists longer than one frame come back whole: the hub pages them, the client follows `more`', async () => {
  const seen: Message[] = [];
  bench = await hubOnPty((m) => (seen.push(m), false));
  client = await HubClient.open(bench.pair.b);
  const euis = Array.from({ length: 14 }, (_, i) => '000D6F00000001' + i.toString(16).padStart(2, '0').toUpperCase());
  for (const eui of euis) await client.request('dev.add', { eui, type: 'PPMID' });
  await client.upload('fw', IMAGE);
  for (let i = 0; i < euis.length; i += JOB_START_BATCH) await client.request('job.start', { image: 'fw', devices: euis.slice(i, i + JOB_START_BATCH) });
  const jobs = (await client.request('job.list')).jobs as unknown as { eui: string }[];
  expect(jobs.map((j) => j.eui)).toEqual(euis); // 14 jobs: more than fit in one 1400-byte frame
  const devices = (await client.request('dev.list')).devices as unknown as { eui: string }[];
  expect(devices.map((d) => d.eui).sort()).toEqual([...euis].sort());
  expect(seen.filter((m) => m.op === 'job.list').map((m) => m.from)).toEqual([undefined, 6, 12]);
});
