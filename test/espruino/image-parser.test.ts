// The OTA header parser (firmware/core/image-header.ts) on the real Espruino interpreter, loaded the
// way a flashed board loads it: a bundle in Storage (.bootcde) read through the Storage ImageStore,
// on espruino-2500 (2500 JsVars), compared with the Node parse of the same bytes.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { bytesSource, parseImageHeader } from '../../firmware/core/image-header';
import { buildImage } from '../../host-tools/image/image-builder';
import { buildFirmware } from '../../host-tools/build/build-firmware';
import { espruinoForSuite, FAILURE_PATTERN, runFromStorage } from '../helpers/espruino';

const tools = espruinoForSuite('image-parser on Espruino');
const describeOnEspruino = tools ? describe : describe.skip;

const IMAGES: { name: string; bytes: Uint8Array }[] = [
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
  },
  { name: 'plain.ota', bytes: buildImage({ manufacturerCode: 0xbeef, imageType: 2, fileVersion: 0xfffffffe, size: 300, seed: 1, integrityCode: false }) },
];
// A vendor prefix before the magic and trailing bytes after the declared size: warnings, not errors.
const base = IMAGES[1].bytes;
const untidy = new Uint8Array(base.length + 9);
untidy.set([1, 2, 3, 4, 5, 6, 7], 0);
untidy.set(base, 7);
untidy.set([0xaa, 0xbb], base.length + 7);
IMAGES.push({ name: 'untidy.ota', bytes: untidy });
IMAGES.push({ name: 'nomagic.ota', bytes: new Uint8Array(2000).fill(0x11) });
// Past the parser's cap: 70 zero-length sub-elements (distinct tags) are refused, not listed.
const many = new Uint8Array(base.length + 70 * 6);
many.set(base);
for (let i = 0; i < 70; i++) many.set([i, 0xf0], base.length + i * 6);
many.set([many.length & 0xff, many.length >> 8], 52); // totalImageSize
IMAGES.push({ name: 'many.ota', bytes: many });

describeOnEspruino('OTA header parser on espruino-2500, from Storage', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-selftest-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('prints the same header as the Node parse for each image', async () => {
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
      const node = JSON.parse(JSON.stringify(parseImageHeader(bytesSource(img.bytes))));
      expect({ name: img.name, result: got[i].result }).toEqual({ name: img.name, result: node });
      expect(got[i].crc >>> 0).toBe(zlib.crc32(img.bytes) >>> 0); // E.CRC32 over the memory-mapped file
      expect(got[i].usage).toBeLessThan(2500);
    }
    expect(got[0].result.ok).toBe(true);
    expect(got[0].result.header).toMatchObject({ manufacturerCode: 0x1234, fileVersion: 0x01020304, minHardwareVersion: 1, upgradeFileDestination: '000D6F0000ABCDEF' });
    expect(got[2].result.header.start).toBe(7);
    expect(got[3].result).toMatchObject({ ok: false, code: 'NO_MAGIC' });
    expect(got[4].result).toMatchObject({ ok: false, code: 'TOO_MANY_SUB_ELEMENTS' });
    console.log(`selftest bundle ${built.bytes} bytes; JsVars in use after each parse: ${got.map((g) => g.usage).join(', ')} of 2500`);
  }, 60000);
});
