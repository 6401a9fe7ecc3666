// Uploads over a bad line (issue 15, defect 3): through a relay that flips bits, loses and repeats runs of
// bytes in both directions, a 200 KB image reaches the hub core whole and exact; a lost hello, img.begin,
// img.end or list page (or its lost reply) is sent again, so one lost frame no longer fails an upload.
import * as zlib from 'zlib';
import { Op } from '../../firmware/core/codes';
import { Item } from '../../firmware/core/wire';
import { HubClient } from '../../host-tools/link/hub-client';
import { makeImage } from '../helpers/images';
import { LineNoise, NoisyRelay, openNoisyRelay } from '../helpers/noisy-relay';
import { PtyCoreHub, ptyCoreHub, requestsOf } from '../helpers/pty-core-hub';

const crc32 = (b: Uint8Array) => zlib.crc32(b) >>> 0;
const IMAGE = makeImage({ fileVersion: 2, size: 200 * 1024, seed: 5 });
const SMALL = makeImage({ fileVersion: 2, size: 8 * 1024 });

let hub: PtyCoreHub | undefined;
let relay: NoisyRelay | undefined;
let client: HubClient | undefined;
afterEach(async () => {
  await client?.close();
  await relay?.close();
  await hub?.close();
  client = relay = hub = undefined;
});

test('the noisy line flips, drops and repeats at the rates asked, the same way for a seed however the input is split', () => {
  const noise = { flip: 1e-3, drop: 1e-4, dup: 1e-4, seed: 9 };
  const input = makeImage({ size: 400 * 1024, seed: 3 });
  const whole = new LineNoise(noise, 0);
  const once = whole.pass(input);
  const split = new LineNoise(noise, 0);
  const parts: Uint8Array[] = [];
  for (let off = 0, n = 1; off < input.length; off += n, n = (n * 7) % 1000 + 1) parts.push(split.pass(input.subarray(off, off + n)));
  expect(Buffer.concat(parts).equals(Buffer.from(once))).toBe(true);
  const s = whole.stats;
  expect(s.bytes).toBe(input.length);
  // ~420 flips, ~42 drops and ~42 repeats expected: far from zero, and from ten times as many
  expect(s.flips).toBeGreaterThan(300);
  expect(s.flips).toBeLessThan(600);
  for (const n of [s.drops, s.dups]) {
    expect(n).toBeGreaterThan(15);
    expect(n).toBeLessThan(90);
  }
});

test('a 200 KB upload through a line that flips bits (1e-3 per byte), drops and repeats bytes both ways is stored exactly', async () => {
  hub = await ptyCoreHub();
  relay = await openNoisyRelay(hub.path, { flip: 1e-3, drop: 1e-4, dup: 1e-4, seed: 4 });
  client = await HubClient.open(relay.path);
  const r = await client.upload('fw', IMAGE);
  expect(r.image).toMatchObject({ name: 'fw', complete: true, size: IMAGE.length, crc: crc32(IMAGE) });
  expect(Buffer.from(hub.images.files.get('fw')!).equals(Buffer.from(IMAGE))).toBe(true);
  // The line did its worst: frames were damaged both ways, and some chunks went again.
  expect(relay.up.flips).toBeGreaterThan(0);
  expect(relay.down.flips + relay.down.drops + relay.down.dups).toBeGreaterThan(0);
  expect(r.sent).toBeGreaterThan(IMAGE.length);
});

/** The first request of `op` the hub reads is lost. */
const firstOf = (op: number) => {
  let n = 0;
  return (a: Item[]) => a[1] === op && ++n === 1;
};

/** The reply to the first request of `op` is lost (the hub did what it asked). */
const firstReplyTo = (op: number) => {
  let n = 0;
  return (_: Item[], request: Item[]) => request[1] === op && ++n === 1;
};

describe.each([
  ['img.begin', Op.ImgBegin],
  ['img.end', Op.ImgEnd],
])('a lost %s', (_, op) => {
  test('is sent again and the upload completes', async () => {
    hub = await ptyCoreHub({ request: firstOf(op) });
    client = await HubClient.open(hub.path);
    const r = await client.upload('fw', SMALL);
    expect(r.image).toMatchObject({ complete: true });
    expect(requestsOf(hub, op)).toHaveLength(2);
  });

  test('reply is answered by the request sent again, and the upload completes', async () => {
    hub = await ptyCoreHub({ reply: firstReplyTo(op) });
    client = await HubClient.open(hub.path);
    const r = await client.upload('fw', SMALL);
    expect(r).toMatchObject({ resumedFrom: 0, image: { complete: true } });
    expect(Buffer.from(hub.images.files.get('fw')!).equals(Buffer.from(SMALL))).toBe(true);
    expect(requestsOf(hub, op)).toHaveLength(2);
  });
});

test('a lost hello, or its lost reply, is asked again and the client opens', async () => {
  hub = await ptyCoreHub({ request: firstOf(Op.Hello) });
  client = await HubClient.open(hub.path);
  expect(client.info.board).not.toBe('?');
  expect(requestsOf(hub, Op.Hello)).toHaveLength(2);
  await client.close();
  await hub.close();
  hub = await ptyCoreHub({ reply: firstReplyTo(Op.Hello) });
  client = await HubClient.open(hub.path);
  expect(client.info.board).not.toBe('?');
  expect(requestsOf(hub, Op.Hello)).toHaveLength(2);
});

test('a lost hello carrying the clock (sent after the first hello when the clock holds Ctrl-C) is sent again', async () => {
  const time = 0x0193_0403_0a0b; // its own bytes hold 0x03 and 0x04: it goes in a second hello
  hub = await ptyCoreHub({ request: (a) => a[1] === Op.Hello && a[2] === time && requestsOf(hub!, Op.Hello).length === 2 });
  const now = jest.spyOn(Date, 'now').mockReturnValue(time);
  try {
    client = await HubClient.open(hub.path);
  } finally {
    now.mockRestore();
  }
  expect(client.info.time).toBe(time);
  expect(requestsOf(hub, Op.Hello).map((a) => a[2])).toEqual([null, time, time]);
});

test('a list page whose reply is lost is asked again, and the list comes back whole', async () => {
  let pages = 0;
  hub = await ptyCoreHub({ reply: (_, request) => request[1] === Op.DevList && ++pages === 2 });
  client = await HubClient.open(hub.path);
  const euis = Array.from({ length: 9 }, (_, i) => '000D6F00000002' + i.toString(16).padStart(2, '0').toUpperCase());
  for (const eui of euis) await client.request('dev.add', { eui, type: 'PPMID' });
  const devices = (await client.request('dev.list')).devices as unknown as { eui: string }[];
  expect(devices.map((d) => d.eui).sort()).toEqual(euis);
  expect(requestsOf(hub, Op.DevList).map((a) => a[2])).toEqual([0, 6, 6]);
});
