// The hub's host-link reader and CBOR codec (firmware/core/host-link-frame.ts, cbor.ts) on the real
// Espruino interpreter, where they take native shortcuts Node never exercises the same way
// (String.fromCharCode.apply for ASCII text, typed-array views of a frame's own buffer): frames written
// by the host (cbor-x) are fed in slices of several sizes to a FrameReader on espruino-2500, each body
// is decoded and encoded again, and the bytes must be what the host wrote.
import { build } from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { encodeFrame } from '../../firmware/core/host-link-frame';
import type { Message } from '../../firmware/core/host-link';
import { compileFirmwareEs5 } from '../../host-tools/build/build-firmware';
import { hostCodec } from '../../host-tools/link/cbor-codec';
import { espruinoForSuite, FAILURE_PATTERN, runFromStorage } from '../helpers/espruino';

const tools = espruinoForSuite('host-link codec on Espruino');
const describeOnEspruino = tools ? describe : describe.skip;

const ascii = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join('');

/** Text around the 32-byte pieces String.fromCharCode.apply takes, ASCII and not, and the message shapes the hub gets. */
const MESSAGES: Message[] = [
  { i: 1, op: 'hello', time: 1732630000123 },
  { i: 2, op: 'img.data', name: 'bench-ota', off: 12345, d: Uint8Array.from({ length: 300 }, (_, i) => (i * 31) & 0xff) },
  { i: 3, op: 'img.begin', name: 'ppmid-v2.ota', size: 6144, crc: 0xfedcba98 },
  { s0: '', s1: 'a', s31: ascii(31), s32: ascii(32), s33: ascii(33), s100: ascii(100), s250: ascii(250) },
  // Not ASCII, so decoded a code point at a time; only up to U+00FF: Espruino 2v29's strings hold a byte per
  // character, so text past Latin-1 does not survive there (with this codec or the one before it).
  { latin: 'caf\u00e9', late: ascii(33) + '\u00ff', long: ascii(40) + '\u00e9' + ascii(40), del: '\u007f\u0080' },
  { n: [0, 23, 24, 255, 256, 65535, 65536, 0xffffffff, -1, -24, -25, -0x100000000, 2 ** 40, -(2 ** 40), 1.5, -0.25], t: true, f: false, z: null },
  { nested: { a: [1, [2, [3, { b: 'deep' }]]], e: {}, l: [] }, bytes: new Uint8Array(0) },
];
const SLICES = [1, 7, 32, 96, 4096];

describeOnEspruino('host-link frames and CBOR on espruino-2500', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-codec-esp-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads the host\'s frames in any slicing, and encodes each message to the bytes the host wrote', async () => {
    const bodies = MESSAGES.map((m) => hostCodec.encode(m));
    const stream = Buffer.concat(bodies.map((b) => encodeFrame(b, zlib.crc32)));
    const { outDir } = compileFirmwareEs5(path.join(tmp, 'es5'));
    const entry = path.join(tmp, 'entry.js');
    const rel = (f: string) => JSON.stringify(path.join(outDir, f));
    fs.writeFileSync(
      entry,
      `import { cborDecode, cborEncode } from ${rel('core/cbor.js')};
import { FrameReader } from ${rel('core/host-link-frame.js')};
function hex(b) { var s = ''; for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16); return s; }
var stream = E.toUint8Array(atob(${JSON.stringify(stream.toString('base64'))}));
var slices = ${JSON.stringify(SLICES)};
for (var k = 0; k < slices.length; k++) {
  var reader = new FrameReader(function (b) { return E.CRC32(b); });
  var got = [];
  for (var off = 0; off < stream.length; off += slices[k]) {
    var part = new Uint8Array(Math.min(slices[k], stream.length - off));
    part.set(stream.subarray(off, off + part.length));
    var bodies = reader.push(part);
    part.fill(0); // the caller reuses its buffer: bodies already handed out must not change
    for (var j = 0; j < bodies.length; j++) got.push(bodies[j]);
  }
  for (var j = 0; j < got.length; j++) console.log('CODEC ' + slices[k] + ' ' + j + ' ' + hex(got[j]) + ' ' + hex(cborEncode(cborDecode(got[j]))));
  console.log('CODEC_STATS ' + slices[k] + ' ' + JSON.stringify(reader.stats) + ' ' + reader.midFrame());
}
console.log('CODEC_DONE ' + process.memory(false).usage);
`,
    );
    const bundle = await build({ entryPoints: [entry], bundle: true, write: false, target: 'es5', format: 'iife', platform: 'neutral', logLevel: 'silent' });
    const { output } = await runFromStorage(tools!, { '.bootcde': bundle.outputFiles[0].text }, { binary: 'small', timeoutMs: 30000 });
    expect(output).not.toMatch(FAILURE_PATTERN);
    expect(output).toMatch(/CODEC_DONE \d+/);
    const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
    for (const slice of SLICES) {
      const lines = output.split('\n').filter((l) => l.startsWith(`CODEC ${slice} `));
      // what arrived, and what the hub's encoder makes of what it decoded
      expect(lines.map((l) => l.split(' ')[3])).toEqual(bodies.map(hex));
      expect(lines.map((l) => l.split(' ')[4])).toEqual(bodies.map(hex));
      expect(output).toContain(`CODEC_STATS ${slice} {"frames":${MESSAGES.length},"skipped":0,"bad":0} false`);
    }
  }, 90000);
});
