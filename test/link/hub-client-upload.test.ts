// HubClient over a real pty against the hub core (firmware/core/hub.ts), on a link that can lose requests:
// the pipelined upload must recover by go-back-N and resume where an interrupted upload stopped; lists
// come back whole across pages; refusals and events arrive as the messages chub has always used.
import * as zlib from 'zlib';
import { SerialPort } from 'serialport';
import { Ev, JobState, Log, Op } from '../../firmware/core/codes';
import { DEFAULT_CONFIG } from '../../firmware/core/hub';
import { decodeBody, encodeFrame, FrameReader, Item, w, wClose } from '../../firmware/core/wire';
import { HubClient } from '../../host-tools/link/hub-client';
import { Job, JOB_START_MAX } from '../../host-tools/link/hub-protocol';
import { MemoryImageStore, MemoryKeyValueStore } from '../../host-tools/sim/memory-stores';
import { openPtyPair } from '../../host-tools/serial/pty-pair';
import { coreHub, FakeRadio } from '../helpers/core-bench';
import { makeImage } from '../helpers/images';

const crc32 = (b: Uint8Array) => zlib.crc32(b) >>> 0;
const IMAGE = makeImage({ fileVersion: 2, size: 48 * 1024 });
const T = 1732630000123;

/** The hub core on one end of a pty; `drop` decides which requests (as the hub reads them) are lost on the way. */
async function hubOnPty(drop: (a: Item[]) => boolean = () => false) {
  const pair = await openPtyPair('client-test');
  const port = new SerialPort({ path: pair.a, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const images = new MemoryImageStore();
  // A copy of each frame: the hub writes the next one into the same buffer.
  const hub = coreHub(new FakeRadio(), images, new MemoryKeyValueStore(), (b) => port.write(Buffer.from(b)), {});
  hub.start(Date.now());
  const seen: Item[][] = [];
  const frames: Uint8Array[] = [];
  const reader = new FrameReader(crc32);
  port.on('data', (d: Buffer) => {
    for (const body of reader.push(new Uint8Array(d))) {
      const a = decodeBody(body);
      frames.push(encodeFrame(body, crc32));
      if (a) seen.push(a);
      if (!a || !drop(a)) hub.host(encodeFrame(body, crc32), Date.now());
    }
  });
  /** An event as the hub writes one, straight onto the link. */
  const event = (ev: number, ...fields: Item[]) => {
    w(0, 1);
    for (const v of [ev, ...fields]) w(v);
    port.write(Buffer.from(wClose(crc32)!));
  };
  return {
    pair,
    images,
    seen,
    frames,
    event,
    close: async () => {
      await new Promise<void>((resolve) => port.close(() => resolve()));
      pair.close();
    },
  };
}

let bench: Awaited<ReturnType<typeof hubOnPty>> | undefined;
let client: HubClient | undefined;
afterEach(async () => {
  await client?.close();
  await bench?.close();
  client = bench = undefined;
});

test('hello sets the clock with a unix ms time past 2^32 and reads the hub\'s limits', async () => {
  bench = await hubOnPty();
  client = await HubClient.open(bench.pair.b);
  const c = DEFAULT_CONFIG;
  expect(client.info).toMatchObject({ fw: c.fw, board: c.board, mode: 'stored', maxChunk: c.maxChunk, maxJobs: c.maxJobs, maxAlerts: c.maxAlerts });
  expect(client.info.time).toBeGreaterThan(2 ** 32);
  expect(Math.abs(client.info.time - Date.now())).toBeLessThan(60000);
});

// A hello may land at a REPL holding the port, where Ctrl-C (0x03) interrupts a board and Ctrl-D (0x04)
// ends the Linux interpreter; such bytes in the clock itself last for hours at a time.
test.each([
  ['the clock is free of them', 0x0193_1122_3344],
  ['the clock\'s own bytes hold them', 0x0193_0403_0a0b],
])('a first hello never carries Ctrl-C or Ctrl-D, and the clock reaches the hub (%s)', async (_, time) => {
  bench = await hubOnPty();
  const now = jest.spyOn(Date, 'now').mockReturnValue(time);
  try {
    for (let n = 0; n < 20; n++) {
      const seenBefore = bench.frames.length;
      client = await HubClient.open(bench.pair.b);
      const first = bench.frames[seenBefore];
      expect([first.indexOf(3), first.indexOf(4)]).toEqual([-1, -1]);
      expect(client.info.time).toBe(time);
      await client.close();
      client = undefined;
    }
  } finally {
    now.mockRestore();
  }
});

test('lost img.data frames are resent (go-back-N) and the stored image is exact', async () => {
  let n = 0;
  // Lose the 3rd and 20th chunk: the chunks behind each come back OUT_OF_ORDER and the client rewinds.
  bench = await hubOnPty((a) => a[1] === Op.ImgData && (++n === 3 || n === 20));
  client = await HubClient.open(bench.pair.b);
  const r = await client.upload('fw', IMAGE);
  expect(r).toMatchObject({ resumedFrom: 0, image: { name: 'fw', complete: true, size: IMAGE.length, crc: crc32(IMAGE) } });
  expect(r.sent).toBeGreaterThan(IMAGE.length); // some chunks went twice
  expect(Buffer.from(bench.images.files.get('fw')!).equals(Buffer.from(IMAGE))).toBe(true);
});

test('an interrupted upload resumes from the offset img.begin returns', async () => {
  bench = await hubOnPty();
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

test('a refused request rejects with the error name and a message naming what the request named', async () => {
  bench = await hubOnPty();
  client = await HubClient.open(bench.pair.b);
  await expect(client.request('dev.rm', { eui: '000d6f0000000042' })).rejects.toMatchObject({ code: 'UNKNOWN_DEVICE', message: 'device 000D6F0000000042 is not in the device log' });
  await expect(client.request('img.end', { name: 'nothing' })).rejects.toMatchObject({ code: 'NO_UPLOAD', message: expect.stringContaining('nothing') });
  await expect(client.request('img.data', { name: 'nothing', off: 0, d: new Uint8Array(1) })).rejects.toMatchObject({ code: 'NO_UPLOAD' });
});

test('a request the hub could not read is refused here, with the code the hub would give', async () => {
  bench = await hubOnPty();
  client = await HubClient.open(bench.pair.b);
  const before = bench.seen.length;
  await expect(client.request('dev.add', { eui: 'nonsense', type: 'PPMID' })).rejects.toMatchObject({ code: 'BAD_EUI', message: expect.stringContaining('nonsense') });
  await expect(client.request('dev.frob')).rejects.toMatchObject({ code: 'BAD_OP' });
  await expect(client.request('img.data', { name: 'x', off: 0, d: new Uint8Array(1500) })).rejects.toMatchObject({ code: 'TOO_BIG' });
  expect(bench.seen.length).toBe(before);
});

test('a request the hub never answers times out naming the op and the port', async () => {
  bench = await hubOnPty((a) => a[1] === Op.ImgList);
  client = await HubClient.open(bench.pair.b);
  await expect(client.request('img.list', {}, 300)).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(new RegExp(`img\\.list.*${bench.pair.b}`)) });
});

test('a lost last chunk is resent after its reply times out', async () => {
  const chunks = Math.ceil(IMAGE.length / DEFAULT_CONFIG.maxChunk);
  let n = 0;
  bench = await hubOnPty((a) => a[1] === Op.ImgData && ++n === chunks);
  client = await HubClient.open(bench.pair.b, 300);
  const r = await client.upload('fw', IMAGE);
  expect(r.image).toMatchObject({ complete: true });
  // It was sent again (how many chunks went twice on a slow machine is make bench's business).
  expect(n).toBeGreaterThan(chunks);
});

test('lists longer than one frame come back whole: the hub pages them, the client follows `more`', async () => {
  bench = await hubOnPty();
  client = await HubClient.open(bench.pair.b);
  const euis = Array.from({ length: 14 }, (_, i) => '000D6F00000001' + i.toString(16).padStart(2, '0').toUpperCase());
  for (const eui of euis) await client.request('dev.add', { eui, type: 'PPMID' });
  await client.upload('fw', IMAGE);
  for (let i = 0; i < euis.length; i += JOB_START_MAX) await client.request('job.start', { image: 'fw', devices: euis.slice(i, i + JOB_START_MAX) });
  const jobs = (await client.request('job.list')).jobs as unknown as Job[];
  expect(jobs.map((j) => j.eui)).toEqual(euis);
  expect(jobs[0]).toMatchObject({ id: 1, eui: euis[0], image: 'fw', fileVersion: 2, state: 'queued', off: 0, size: IMAGE.length });
  expect(jobs[0].started).toBeGreaterThan(2 ** 32); // unix ms
  const devices = (await client.request('dev.list')).devices as unknown as { eui: string }[];
  expect(devices.map((d) => d.eui).sort()).toEqual([...euis].sort());
  // 14 jobs: more than fit in one reply; each page starts where the hub's `more` said
  expect(bench.seen.filter((a) => a[1] === Op.JobList).map((a) => a[2])).toEqual([0, 6, 12]);
});

test('events arrive as job, alert, log and need messages', async () => {
  bench = await hubOnPty();
  client = await HubClient.open(bench.pair.b);
  const eui = Uint8Array.from([0x01, 0, 0, 0, 0, 0x6f, 0x0d, 0]);
  const got: unknown[] = [];
  client.on('job', (j) => got.push(['job', j]));
  client.on('alert', (a) => got.push(['alert', a]));
  client.on('log', (l) => got.push(['log', l]));
  client.on('need', (n) => got.push(['need', n]));
  bench.event(Ev.Job, 3, eui, 'fw', 0x1234, 1, 2, JobState.Transferring, 2048, 4096, null, 0, T, T + 1);
  bench.event(Ev.Alert, 7, 0x8f8a, eui, T, 2, 0, null);
  bench.event(Ev.Log, Log.NOT_JOINED, eui);
  bench.event(Ev.Need, 'fw', 512, 512);
  await client.request('dev.list'); // after the events, on the same link
  expect(got).toEqual([
    ['job', { id: 3, eui: '000D6F0000000001', image: 'fw', manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, state: 'transferring', off: 2048, size: 4096, started: T, updated: T + 1 }],
    ['alert', { id: 7, code: 0x8f8a, eui: '000D6F0000000001', time: T, fileVersion: 2, responseCode: 0 }],
    ['log', { level: 'info', msg: 'cannot reach 000D6F0000000001: it has not joined' }],
    ['need', { img: 'fw', off: 512, len: 512 }],
  ]);
});
