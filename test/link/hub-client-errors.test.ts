// What HubClient says when it cannot reach a hub, and what it does with bodies no hub sends (issue 15, defect 8):
// a silent port's message states the whole wait; a path that is no serial port, or a port another program
// holds, is named as such; a CBOR map (whose key could be `__proto__`) is refused, not made an object.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { SerialPort } from 'serialport';
import { encodeFrame } from '../../firmware/core/wire';
import { decodeBody } from '../../host-tools/link/cbor-codec';
import { HubClient } from '../../host-tools/link/hub-client';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { PtyCoreHub, ptyCoreHub } from '../helpers/pty-core-hub';

const crc32 = (b: Uint8Array) => zlib.crc32(b) >>> 0;
const text = (s: string) => [0x60 + s.length, ...Buffer.from(s)];
/** [1, 0, {"__proto__": {"polluted": 1}}]: a reply whose item is a map with that key. */
const PROTO_ITEM = Uint8Array.from([0x83, 0x01, 0x00, 0xa1, ...text('__proto__'), 0xa1, ...text('polluted'), 0x01]);
/** {"__proto__": {"polluted": 1}}: a body that is a map. */
const PROTO_BODY = Uint8Array.from([0xa1, ...text('__proto__'), 0xa1, ...text('polluted'), 0x01]);

let pair: PtyPair | undefined;
let hub: PtyCoreHub | undefined;
let holder: SerialPort | undefined;
let client: HubClient | undefined;
afterEach(async () => {
  await client?.close();
  await new Promise<void>((r) => (holder?.isOpen ? holder.close(() => r()) : r()));
  await hub?.close();
  pair?.close();
  client = holder = hub = pair = undefined;
});

test('a port where no hub answers says how long it waited in all, the wake tries included', async () => {
  pair = await openPtyPair('silent');
  const timeoutMs = 200;
  const e = await HubClient.open(pair.b, timeoutMs).catch((err: Error) => err);
  expect(e).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining(`no hub answered hello on ${pair.b} within `) });
  expect((e as Error).message).toMatch(/asked 3 times, the last 2 after typing chubLink\(\)/);
  // The figure is the whole wait: the first hello's, then each wake try's settling time and hello.
  const stated = Number(/within (\d+) ms/.exec((e as Error).message)![1]);
  const waits = timeoutMs + 300 + timeoutMs + 600 + timeoutMs;
  expect(stated).toBeGreaterThanOrEqual(waits - 5); // timers may round a millisecond early
});

test('/dev/null as the port is said not to be a serial port', async () => {
  await expect(HubClient.open('/dev/null', 200)).rejects.toMatchObject({ code: 'PORT', message: expect.stringContaining('/dev/null is not a serial port') });
});

test('a regular file as the port is said not to be a serial port', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-'));
  try {
    const file = path.join(dir, 'not-a-port');
    fs.writeFileSync(file, '');
    await expect(HubClient.open(file, 200)).rejects.toMatchObject({ code: 'PORT', message: expect.stringContaining(`${file} is not a serial port`) });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a port another program holds is said to be in use by it', async () => {
  pair = await openPtyPair('held');
  holder = new SerialPort({ path: pair.b, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => holder!.open((e) => (e ? reject(e) : resolve())));
  await expect(HubClient.open(pair.b, 200)).rejects.toMatchObject({ code: 'PORT', message: expect.stringMatching(new RegExp(`${pair.b} is in use by another program \\(another chub`)) });
});

test('a body holding a map, or being one, is refused whatever its keys: no decoded object gets a prototype from the line', () => {
  expect(() => decodeBody(PROTO_ITEM)).toThrow(/item 2 .* not an unsigned integer, byte string, text or null/);
  expect(() => decodeBody(PROTO_BODY)).toThrow(/must be a CBOR array/);
  expect(({} as { polluted?: number }).polluted).toBeUndefined();
  // What the hub sends still reads.
  expect(decodeBody(Uint8Array.from([0x84, 0x01, 0x00, 0xf6, ...text('ok')]))).toEqual([1, 0, null, 'ok']);
});

test('a frame with such a body is counted as undecodable, and the client goes on', async () => {
  hub = await ptyCoreHub();
  client = await HubClient.open(hub.path);
  const before = client.undecodable;
  hub.send(encodeFrame(PROTO_ITEM, crc32));
  hub.send(encodeFrame(PROTO_BODY, crc32));
  // Answered after those frames, on the same link.
  expect(await client.request('dev.list')).toMatchObject({ ok: true, devices: [] });
  expect(client.undecodable).toBe(before + 2);
  expect(({} as { polluted?: number }).polluted).toBeUndefined();
});
