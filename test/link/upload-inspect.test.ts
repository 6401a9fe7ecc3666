// `chub image inspect` and `chub upload` give one verdict on every OTA file. Each runs as the CLI does
// (host-tools/cli.ts run()), the upload against the hub core on a pty: vendors' manufacturer-specific
// sub-elements are their data, never our digests; a file `chub image make` wrote is refused by both once
// damaged, also when the damage took its Image Integrity Code away; and refused means nothing reached the hub.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { SerialPort } from 'serialport';
import { bytesSource, findSubElement, parseImageHeader, TAG_INTEGRITY_CODE, TAG_UPGRADE_IMAGE } from '../../firmware/core/image-header';
import { decodeBody, encodeFrame, FrameReader } from '../../firmware/core/wire';
import { run } from '../../host-tools/cli';
import { openPtyPair } from '../../host-tools/serial/pty-pair';
import { MemoryImageStore, MemoryKeyValueStore } from '../../host-tools/sim/memory-stores';
import { coreHub, FakeRadio } from '../helpers/core-bench';
import { flipBit, makeImage, vendorImage, withBytesAt, withoutSubElement } from '../helpers/images';
import { captureConsole } from '../helpers/console-capture';

const crc32 = (b: Uint8Array) => zlib.crc32(b) >>> 0;

/** The hub core on one end of a pty, its image store in memory. */
async function hubOnPty() {
  const pair = await openPtyPair('upload-inspect');
  const port = new SerialPort({ path: pair.a, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const images = new MemoryImageStore();
  const hub = coreHub(new FakeRadio(), images, new MemoryKeyValueStore(), (b) => port.write(Buffer.from(b)), {});
  hub.start(Date.now());
  const reader = new FrameReader(crc32);
  port.on('data', (d: Buffer) => {
    for (const body of reader.push(new Uint8Array(d))) if (decodeBody(body)) hub.host(encodeFrame(body, crc32), Date.now());
  });
  const close = async () => {
    await new Promise<void>((resolve) => port.close(() => resolve()));
    pair.close();
  };
  return { port: pair.b, images, close };
}

let hub: Awaited<ReturnType<typeof hubOnPty>>;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-upload-inspect-'));
beforeAll(async () => void (hub = await hubOnPty()));
afterAll(async () => {
  await hub.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const { out, err } = captureConsole();

/** `chub ...args`: its exit code and what it printed. run() reports process.exitCode, which inspect sets. */
async function chub(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  out.length = err.length = 0;
  process.exitCode = undefined;
  const code = await run(args);
  process.exitCode = undefined;
  return { code, out: out.join(''), err: err.join('\n') };
}

let n = 0;
/** Writes the file, inspects it, uploads it under a fresh name: both results, and what the hub then holds. */
async function inspectAndUpload(file: Uint8Array) {
  const name = `f${++n}`;
  const p = path.join(dir, `${name}.ota`);
  fs.writeFileSync(p, file);
  const inspect = await chub('image', 'inspect', p, '--json');
  const upload = await chub('upload', p, '--name', name, '--json', '--port', hub.port);
  return { report: JSON.parse(inspect.out), inspect, upload, stored: hub.images.files.get(name) };
}

const random = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 131 + seed * 7919 + ((i * i) >> 3)) & 0xff);

describe('vendor files: manufacturer-specific sub-elements are the vendor\'s data', () => {
  test.each<[string, [number, Uint8Array][]]>([
    ['0xF000 holding 32 bytes (where chub once read a SHA-256)', [[0xf000, random(32, 1)]]],
    ['0xF001 holding 4 bytes (where chub once read a CRC-32)', [[0xf001, random(4, 2)]]],
    ['0xF000 of 7 bytes and 0xF001 of 300', [[0xf000, random(7, 3)], [0xf001, random(300, 4)]]],
    ['0xFFFF, empty', [[0xffff, new Uint8Array(0)]]],
  ])('%s: servable in inspect, stored whole by upload', async (_name, elements) => {
    const file = vendorImage(elements);
    const r = await inspectAndUpload(file);
    expect(r.inspect.code).toBe(0);
    expect(r.report).toMatchObject({ servable: true, problems: [], integrity: 'absent' });
    expect(r.report.subElements.slice(1).map((s: { name: string }) => s.name)).toEqual(elements.map(() => 'manufacturer specific'));
    expect(r.upload.code).toBe(0);
    expect(JSON.parse(r.upload.out).image).toMatchObject({ complete: true });
    expect(r.stored).toEqual(file);
  });
});

describe('files chub image make wrote', () => {
  const made = makeImage({ size: 4096 });
  const h = (() => {
    const r = parseImageHeader(bytesSource(made));
    if (!r.ok) throw new Error(r.message);
    return r.header;
  })();
  const code = findSubElement(h, TAG_INTEGRITY_CODE)!;
  const payload = findSubElement(h, TAG_UPGRADE_IMAGE)!;

  test('intact: servable in inspect, stored whole by upload', async () => {
    const r = await inspectAndUpload(made);
    expect(r.inspect.code).toBe(0);
    expect(r.report).toMatchObject({ servable: true, integrity: 'ok' });
    expect(r.upload.code).toBe(0);
    expect(r.stored).toEqual(made);
  });

  // Each is refused by both, for the same stated reason, and the upload stops before a byte goes out.
  test.each<[string, Uint8Array, RegExp]>([
    ['one bit flipped in the payload', flipBit(made, (payload.offset + 1000) * 8 + 3), /Image Integrity Code \(AES-MMO\) does not match/],
    ['one bit flipped in the header string', flipBit(made, 21 * 8), /Image Integrity Code \(AES-MMO\) does not match/],
    ['one bit flipped in the integrity code', flipBit(made, code.offset * 8 + 5), /Image Integrity Code \(AES-MMO\) does not match/],
    ['its integrity code cut out (and the total size fixed to match)', withoutSubElement(made, code.offset, code.length), /damaged: .*holds no Image Integrity Code/],
    [
      'its framing broken: the payload claims the integrity code\'s bytes too',
      withBytesAt(made, payload.offset - 4, Buffer.from(Uint32Array.of(payload.length + 22).buffer)),
      /damaged: .*holds no Image Integrity Code/,
    ],
  ])('%s: refused by inspect and by upload', async (_name, file, why) => {
    const r = await inspectAndUpload(file);
    expect(r.inspect.code).toBe(1);
    expect(r.report.servable).toBe(false);
    expect(r.report.problems.join('; ')).toMatch(why);
    expect(r.upload.code).toBe(1);
    expect(r.upload.err).toMatch(why);
    expect(r.stored).toBeUndefined();
  });
});
