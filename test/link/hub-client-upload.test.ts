// HubClient over a real pty against a scripted hub that speaks the array protocol with the hub's own
// codec (firmware/core/wire.ts), on a link that can lose requests: the pipelined upload must recover by
// go-back-N and resume where an interrupted upload stopped; lists come back whole across pages; errors
// and events arrive as the messages chub has always used. (The real hub core is behind the same client
// in the integration suites.)
import * as zlib from 'zlib';
import { SerialPort } from 'serialport';
import { Err, Ev, JobState, Log, Mode, Op } from '../../firmware/core/codes';
import { decodeBody, FrameReader, Item, w, wClose, wOpen } from '../../firmware/core/wire';
import { HubClient } from '../../host-tools/link/hub-client';
import { Job, JOB_START_MAX } from '../../host-tools/link/hub-protocol';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { makeImage } from '../helpers/images';

const crc32 = (b: Uint8Array) => zlib.crc32(b) >>> 0;
const IMAGE = makeImage({ fileVersion: 2, size: 48 * 1024 });
const MAX_CHUNK = 1024;
const PAGE = 6;
const T = 1732630000123;

interface Upload {
  size: number;
  crc: number;
  bytes: Uint8Array;
  next: number;
  complete: boolean;
}

/**
 * Just enough of a hub, written as the hub writes: hello, devices, stored uploads (OUT_OF_ORDER with the
 * offset it wants), job.start and the paged lists. `drop` decides which requests are lost on the way in.
 */
class ScriptedHub {
  readonly images = new Map<string, Upload>();
  readonly devices: Uint8Array[] = [];
  readonly jobs: { id: number; eui: Uint8Array; image: string }[] = [];
  /** Every request that arrived, as the hub read it. */
  readonly seen: Item[][] = [];
  private reader = new FrameReader(crc32);

  constructor(private port: SerialPort, private drop: (a: Item[]) => boolean) {
    port.on('data', (d: Buffer) => {
      for (const body of this.reader.push(new Uint8Array(d))) {
        const a = decodeBody(body);
        if (!a) continue;
        this.seen.push(a);
        if (!this.drop(a)) this.answer(a);
      }
    });
  }

  /** Sends the frame written since wOpen: a copy, as the shared buffer is written again by the next one. */
  send(): void {
    this.port.write(Buffer.from(wClose(crc32)!));
  }

  event(ev: number, ...fields: Item[]): void {
    wOpen();
    w(0);
    w(ev);
    for (const f of fields) w(f);
    this.send();
  }

  private answer(a: Item[]): void {
    const [i, op] = a as number[];
    const refuse = (err: number, ...detail: Item[]) => {
      wOpen();
      for (const v of [i, err, ...detail]) w(v);
      this.send();
    };
    const results: Item[] = [];
    const page = (list: unknown[], record: (x: never) => Item[]) => {
      const from = a[2] as number;
      results.push(from + PAGE < list.length ? from + PAGE : null);
      for (const x of list.slice(from, from + PAGE)) results.push(...record(x as never));
    };
    const image = (name: string, u: Upload): Item[] => [name, u.size, u.crc, u.complete ? 1 : 0, 0, u.next, 0x1234, 1, 2, null, null];
    const job = (j: { id: number; eui: Uint8Array; image: string }): Item[] => [j.id, j.eui, j.image, 0x1234, 1, 2, JobState.Queued, 0, IMAGE.length, null, 0, T, T];
    const device = (e: Uint8Array): Item[] => [e, 5, null, null, null, null];
    const known = (e: Item) => this.devices.some((d) => Buffer.from(d).equals(e as Uint8Array));
    const name = a[2] as string;
    const u = this.images.get(name);
    switch (op) {
      case Op.Hello:
        results.push('test', 'scripted', Mode.Stored, a[2] as number, MAX_CHUNK, 8, 16);
        break;
      case Op.DevAdd:
        if (!known(a[2])) this.devices.push(Uint8Array.from(a[2] as Uint8Array));
        results.push(...device(a[2] as Uint8Array));
        break;
      case Op.DevRm:
        if (!known(a[2])) return refuse(Err.UNKNOWN_DEVICE);
        break;
      case Op.DevList:
        page(this.devices, device);
        break;
      case Op.ImgBegin: {
        const [size, crc] = a.slice(3) as number[];
        if (!u || u.size !== size || u.crc !== crc) this.images.set(name, { size, crc, bytes: new Uint8Array(size), next: 0, complete: false });
        results.push(this.images.get(name)!.next);
        break;
      }
      case Op.ImgData: {
        const off = a[3] as number;
        const d = a[4] as Uint8Array;
        if (!u || u.complete) return refuse(Err.NO_UPLOAD);
        if (off !== u.next) return refuse(Err.OUT_OF_ORDER, u.next);
        u.bytes.set(d, off);
        u.next = off + d.length;
        results.push(u.next);
        break;
      }
      case Op.ImgEnd:
        if (!u) return refuse(Err.NO_UPLOAD);
        if (u.next !== u.size) return refuse(Err.INCOMPLETE, u.next, u.size);
        u.complete = true;
        results.push(...image(name, u));
        break;
      case Op.JobStart: {
        const euis = a.slice(4);
        if (euis.length > JOB_START_MAX) return refuse(Err.TOO_MANY, JOB_START_MAX);
        if (!this.images.get(name)?.complete) return refuse(Err.UNKNOWN_IMAGE);
        if (!euis.every(known)) return refuse(Err.UNKNOWN_DEVICE);
        for (const e of euis) {
          const j = { id: this.jobs.length + 1, eui: e as Uint8Array, image: name };
          this.jobs.push(j);
          results.push(...job(j));
        }
        break;
      }
      case Op.JobList:
        page(this.jobs, job);
        break;
      case Op.ImgList:
        page([...this.images], ([n, x]: [string, Upload]) => image(n, x));
        break;
      default:
        return refuse(Err.BAD_OP, op);
    }
    wOpen();
    for (const v of [i, 0, ...results]) w(v);
    this.send();
  }
}

async function hubOnPty(drop: (a: Item[]) => boolean = () => false) {
  const pair = await openPtyPair('client-test');
  const port = new SerialPort({ path: pair.a, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const hub = new ScriptedHub(port, drop);
  return {
    pair,
    hub,
    close: async () => {
      await new Promise<void>((resolve) => port.close(() => resolve()));
      pair.close();
    },
  };
}

let bench: { pair: PtyPair; hub: ScriptedHub; close(): Promise<void> } | undefined;
let client: HubClient | undefined;
afterEach(async () => {
  await client?.close();
  await bench?.close();
  client = bench = undefined;
});

test('hello sets the clock with a unix ms time past 2^32 and reads the hub\'s limits', async () => {
  bench = await hubOnPty();
  client = await HubClient.open(bench.pair.b);
  expect(client.info).toMatchObject({ fw: 'test', board: 'scripted', mode: 'stored', maxChunk: MAX_CHUNK, maxJobs: 8, maxAlerts: 16 });
  expect(client.info.time).toBeGreaterThan(2 ** 32);
  expect(Math.abs(client.info.time - Date.now())).toBeLessThan(60000);
});

test('lost img.data frames are resent (go-back-N) and the stored image is exact', async () => {
  let n = 0;
  // Lose the 3rd and 20th chunk: the chunks behind each come back OUT_OF_ORDER and the client rewinds.
  bench = await hubOnPty((a) => a[1] === Op.ImgData && (++n === 3 || n === 20));
  client = await HubClient.open(bench.pair.b);
  const r = await client.upload('fw', IMAGE);
  expect(r).toMatchObject({ resumedFrom: 0, image: { name: 'fw', complete: true, size: IMAGE.length, crc: crc32(IMAGE) } });
  expect(r.sent).toBeGreaterThan(IMAGE.length); // some chunks went twice
  expect(Buffer.from(bench.hub.images.get('fw')!.bytes).equals(Buffer.from(IMAGE))).toBe(true);
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
  const before = bench.hub.seen.length;
  await expect(client.request('dev.add', { eui: 'nonsense', type: 'PPMID' })).rejects.toMatchObject({ code: 'BAD_EUI', message: expect.stringContaining('nonsense') });
  await expect(client.request('dev.frob')).rejects.toMatchObject({ code: 'BAD_OP' });
  await expect(client.request('img.data', { name: 'x', off: 0, d: new Uint8Array(1500) })).rejects.toMatchObject({ code: 'TOO_BIG' });
  expect(bench.hub.seen.length).toBe(before);
});

test('a request the hub never answers times out naming the op and the port', async () => {
  bench = await hubOnPty((a) => a[1] === Op.ImgList);
  client = await HubClient.open(bench.pair.b);
  await expect(client.request('img.list', {}, 300)).rejects.toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(new RegExp(`img\\.list.*${bench.pair.b}`)) });
});

test('a lost last chunk is resent after its reply times out', async () => {
  const chunks = Math.ceil(IMAGE.length / MAX_CHUNK);
  let n = 0;
  bench = await hubOnPty((a) => a[1] === Op.ImgData && ++n === chunks);
  client = await HubClient.open(bench.pair.b, 300);
  const r = await client.upload('fw', IMAGE);
  expect(r.image).toMatchObject({ complete: true });
  expect(n).toBe(chunks + 1);
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
  expect(jobs[0]).toEqual({ id: 1, eui: euis[0], image: 'fw', manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, state: 'queued', off: 0, size: IMAGE.length, started: T, updated: T });
  const devices = (await client.request('dev.list')).devices as unknown as { eui: string }[];
  expect(devices.map((d) => d.eui)).toEqual(euis);
  expect(bench.hub.seen.filter((a) => a[1] === Op.JobList).map((a) => a[2])).toEqual([0, 6, 12]);
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
  bench.hub.event(Ev.Job, 3, eui, 'fw', 0x1234, 1, 2, JobState.Transferring, 2048, 4096, null, 0, T, T + 1);
  bench.hub.event(Ev.Alert, 7, 0x8f8a, eui, T, 2, 0, null);
  bench.hub.event(Ev.Log, Log.NOT_JOINED, eui);
  bench.hub.event(Ev.Need, 'fw', 512, 512);
  await client.request('dev.list'); // after the events, on the same link
  expect(got).toEqual([
    ['job', { id: 3, eui: '000D6F0000000001', image: 'fw', manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, state: 'transferring', off: 2048, size: 4096, started: T, updated: T + 1 }],
    ['alert', { id: 7, code: 0x8f8a, eui: '000D6F0000000001', time: T, fileVersion: 2, responseCode: 0 }],
    ['log', { level: 'info', msg: 'cannot reach 000D6F0000000001: it has not joined' }],
    ['need', { img: 'fw', off: 512, len: 512 }],
  ]);
});
