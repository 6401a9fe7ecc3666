// The hub's OTA header check (checkHeader, firmware/core/ota-fixed-header.ts) on the real Espruino
// interpreter, loaded the way a flashed board loads it: a bundle in Storage (.bootcde) reading each image
// through the Storage ImageStore as img.end does, on espruino-2500 (2500 JsVars). Its code and the fields
// it writes are compared with the same check run by Node, and with the host's parseImageHeader verdict for
// the same bytes (the two decide validity alike: test/core/image-header.test.ts proves it on random files).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { bytesSource, HEADER_CODES, parseImageHeader } from '../../firmware/core/image-header';
import { checkHeader, Hc, Ota } from '../../firmware/core/ota-fixed-header';
import { buildImage } from '../../host-tools/image/image-builder';
import { buildFirmware } from '../../host-tools/build/build-firmware';
import { espruinoForSuite, FAILURE_PATTERN, runFromStorage } from '../helpers/espruino';
import { truncate, withHeaderField, withTrailing } from '../helpers/images';

const tools = espruinoForSuite('image-parser on Espruino');
const describeOnEspruino = tools ? describe : describe.skip;

/** Each file, the code the hub's check gives it, and the fields it stores (Mfr, Type, Ver, MinHw, MaxHw). */
const IMAGES: { name: string; bytes: Uint8Array; code: Hc; fields?: number[] }[] = [
  {
    // every optional header field, an Image Integrity Code
    name: 'full.ota',
    bytes: buildImage({
      manufacturerCode: 0x1234,
      imageType: 0x0101,
      fileVersion: 0x01020304,
      size: 6000,
      seed: 7,
      headerString: 'chub espruino selftest',
      minHardwareVersion: 1,
      maxHardwareVersion: 9,
      securityCredentialVersion: 2,
      upgradeFileDestination: '000D6F0000ABCDEF',
    }),
    code: Hc.Ok,
    fields: [0x1234, 0x0101, 0x01020304, 1, 9],
  },
  {
    name: 'plain.ota',
    bytes: buildImage({ manufacturerCode: 0xbeef, imageType: 2, fileVersion: 0xfffffffe, size: 300, seed: 1, integrityCode: false }),
    code: Hc.Ok,
    fields: [0xbeef, 2, 0xfffffffe, -1, -1],
  },
];
const full = IMAGES[0].bytes;
const base = IMAGES[1].bytes;
// A vendor prefix before the magic: the host strips it (chub upload); the hub refuses it.
const untidy = new Uint8Array(base.length + 9);
untidy.set([1, 2, 3, 4, 5, 6, 7], 0);
untidy.set(base, 7);
untidy.set([0xaa, 0xbb], base.length + 7);
IMAGES.push({ name: 'untidy.ota', bytes: untidy, code: Hc.NoMagic });
IMAGES.push({ name: 'nomagic.ota', bytes: new Uint8Array(2000).fill(0x11), code: Hc.NoMagic });
// Past the host parser's cap on listing sub-elements: 70 zero-length ones (distinct tags). Its header is
// valid, and the hub, which lists none, serves it.
const many = new Uint8Array(base.length + 70 * 6);
many.set(base);
for (let i = 0; i < 70; i++) many.set([i, 0xf0], base.length + i * 6);
many.set([many.length & 0xff, many.length >> 8], 52); // totalImageSize
IMAGES.push({ name: 'many.ota', bytes: many, code: Hc.Ok, fields: [0xbeef, 2, 0xfffffffe, -1, -1] });
// Trailing bytes after the declared size: a warning on the host, served by the hub.
IMAGES.push({ name: 'trailing.ota', bytes: withTrailing(full, 5), code: Hc.Ok, fields: [0x1234, 0x0101, 0x01020304, 1, 9] });
// One file for each of the check's other refusals; the first two shorter than the header the hub reads.
IMAGES.push({ name: 'tiny.ota', bytes: truncate(base, 3), code: Hc.NoMagic });
IMAGES.push({ name: 'short.ota', bytes: truncate(base, 40), code: Hc.Short });
IMAGES.push({ name: 'version.ota', bytes: withHeaderField(full, 'headerVersion', 0x0200), code: Hc.Version });
IMAGES.push({ name: 'length.ota', bytes: withHeaderField(full, 'headerLength', 68), code: Hc.Length });
IMAGES.push({ name: 'size.ota', bytes: withHeaderField(full, 'totalImageSize', 68), code: Hc.Size });
IMAGES.push({ name: 'truncated.ota', bytes: truncate(full, 5999), code: Hc.Truncated });

/** checkHeader as the selftest runs it: a 7-cell row of -2, written from offset 1. */
function nodeCheck(bytes: Uint8Array): { code: number; row: number[] } {
  const row = new Float64Array(7).fill(-2);
  const code = checkHeader(bytes.subarray(0, Ota.Max), bytes.length, row, 1);
  return { code, row: Array.from(row) };
}

describeOnEspruino('OTA header check on espruino-2500, from Storage', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-selftest-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('gives each image the code and fields the Node check gives, and parseImageHeader\'s verdict', async () => {
    const built = await buildFirmware({ board: 'linux', entry: 'espruino/selftest', outFile: path.join(tmp, 'selftest.js'), es5Dir: path.join(tmp, 'es5'), log: () => undefined });
    const files: { [name: string]: Uint8Array | string } = { '.bootcde': built.source };
    for (const img of IMAGES) files['img:' + img.name] = img.bytes;
    files['selftest.json'] = JSON.stringify(IMAGES.map((i) => ({ name: i.name, size: i.bytes.length })));

    const { output } = await runFromStorage(tools!, files, { binary: 'small', timeoutMs: 20000 });
    expect(output).not.toMatch(FAILURE_PATTERN);
    expect(output).toContain('SELFTEST_DONE');
    const got = output
      .split('\n')
      .filter((l) => l.startsWith('SELFTEST {'))
      .map((l) => JSON.parse(l.slice('SELFTEST '.length)));
    expect(got.map((g) => g.name)).toEqual(IMAGES.map((i) => i.name));
    for (let i = 0; i < IMAGES.length; i++) {
      const img = IMAGES[i];
      const node = nodeCheck(img.bytes);
      // The device and Node agree, and both give the code and fields expected (untouched cells stay -2).
      expect({ name: img.name, code: got[i].code, row: got[i].row }).toEqual({ name: img.name, ...node });
      expect({ name: img.name, code: node.code, row: node.row }).toEqual({ name: img.name, code: img.code, row: [-2, ...(img.fields ?? [-2, -2, -2, -2, -2]), -2] });
      // The host's parse decides alike: the same fields when the hub serves the file; the same refusal when
      // it does not, except a file whose magic is not at offset 0 (the host finds it later, or not at all).
      const parsed = parseImageHeader(bytesSource(img.bytes));
      if (img.name === 'many.ota') expect(parsed).toMatchObject({ ok: false, code: 'TOO_MANY_SUB_ELEMENTS' });
      else if (node.code === Hc.Ok) {
        if (!parsed.ok) throw new Error(`${img.name}: parseImageHeader refused it: ${parsed.message}`);
        const h = parsed.header;
        expect([h.start, h.manufacturerCode, h.imageType, h.fileVersion, h.minHardwareVersion ?? -1, h.maxHardwareVersion ?? -1]).toEqual([0, ...img.fields!]);
      } else if (node.code === Hc.NoMagic) expect(parsed.ok ? parsed.header.start : parsed.code).toBe(img.name === 'untidy.ota' ? 7 : 'NO_MAGIC');
      else expect({ name: img.name, parsed: parsed.ok ? 'ok' : parsed.code }).toEqual({ name: img.name, parsed: HEADER_CODES[node.code] });
      expect(got[i].crc >>> 0).toBe(zlib.crc32(img.bytes) >>> 0); // E.CRC32 over the memory-mapped file
      expect(got[i].usage).toBeLessThan(2500);
    }
    console.log(`selftest bundle ${built.bytes} bytes; JsVars in use after each check: ${got.map((g) => g.usage).join(', ')} of 2500`);
  }, 60000);
});
