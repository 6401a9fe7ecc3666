// The hub's end of the host link (firmware/core/wire.ts) on the real Espruino interpreter, where it takes
// native shortcuts Node never exercises the same way (String.fromCharCode.apply for text, typed-array views
// of a frame's own buffer, indexOf for sync markers, E.CRC32's signed results): frames written by the host
// (cbor-x) are fed in slices of several sizes to a FrameReader on espruino-2500, each body is decoded and
// written back with w/wClose, and cbor-x must read back the items the host sent.
import { build } from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import * as zlib from 'zlib';
import { Op } from '../../firmware/core/codes';
import { encodeFrame, MAX_REPLY } from '../../firmware/core/wire';
import { decodeBody as hostDecode, encodeBody } from '../../host-tools/link/cbor-codec';
import { espruinoForSuite, FAILURE_PATTERN, REPO_ROOT, runFromStorage } from '../helpers/espruino';

const tools = espruinoForSuite('host-link codec on Espruino');
const describeOnEspruino = tools ? describe : describe.skip;

const ascii = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(32 + ((i * 7) % 95))).join('');
const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31) & 0xff);
const T = 1732630000123; // unix ms, past 2^32

/** Bodies the hub reads: requests as chub sends them, text around the 32-byte pieces String.fromCharCode.apply
 *  takes, numbers at every head size, and one 1 KiB chunk whose echo cannot fit a reply. */
const ARRAYS: unknown[][] = [
  [1, Op.Hello, T],
  [2, Op.ImgData, 'bench-ota', 12345, bytes(300)],
  [3, Op.ImgBegin, 'ppmid-v2.ota', 6144, 0xfedcba98],
  [4, Op.DevAdd, Uint8Array.from([0x01, 0, 0, 0, 0, 0x6f, 0x0d, 0]), 5],
  [5, 99, '', 'a', ascii(31), ascii(32), ascii(33), ascii(100)],
  [6, 99, ascii(250)],
  [7, 99, 0, 23, 24, 255, 256, 65535, 65536, 0xffffffff, 2 ** 32, 2 ** 40, 2 ** 53 - 1, null, new Uint8Array(0)],
  // UTF-8 from cbor-x: a byte a character on the hub, so the same bytes go back
  [8, 99, 'caf\u00e9', ascii(40) + '\u00ff'],
  [9, Op.ImgData, 'fw', 0, bytes(1024)],
  [10, Op.AlertAck, 1, 2, 3],
];
/** Bodies the hub refuses (decodeBody null): a map, a negative, a float, a nested array, trailing bytes. */
const REFUSED: Uint8Array[] = [
  Uint8Array.from([0xa1, 0x61, 0x61, 0x01]),
  encodeBody([1, -1]),
  encodeBody([1, 1.5]),
  encodeBody([1, [2]]),
  Uint8Array.from([0x81, 0x01, 0x02]),
];
const SLICES = [1, 7, 32, 96, 4096];

/** wire.ts alone, compiled as the firmware build compiles it (firmware/tsconfig.json, ES5): the rest of the
 *  core need not compile for this test to run. */
function compileWire(outDir: string): string {
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(REPO_ROOT, 'firmware/tsconfig.json'), { outDir }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  const program = ts.createProgram({ rootNames: [path.join(REPO_ROOT, 'firmware/core/wire.ts')], options: parsed!.options });
  const emit = program.emit();
  const errors = [...ts.getPreEmitDiagnostics(program), ...emit.diagnostics].filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) throw new Error(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')).join('\n'));
  return path.join(outDir, 'core/wire.js');
}

const plain = (items: unknown) => (items as unknown[]).map((v) => (v instanceof Uint8Array ? Array.from(v) : v));

describeOnEspruino('host-link frames and the hub\'s CBOR subset on espruino-2500', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-wire-esp-'));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('reads the host\'s frames in any slicing, refuses what it does not speak, and writes back what cbor-x reads', async () => {
    const bodies = [...ARRAYS.map((a) => encodeBody(a)), ...REFUSED];
    const stream = Buffer.concat(bodies.map((b) => encodeFrame(b, zlib.crc32)));
    const entry = path.join(tmp, 'entry.js');
    fs.writeFileSync(
      entry,
      `import { decodeBody, FrameReader, w, wClose } from ${JSON.stringify(compileWire(path.join(tmp, 'es5')))};
function hex(b) { var s = ''; for (var i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16); return s; }
function crc(b) { return E.CRC32(b); }
var stream = E.toUint8Array(atob(${JSON.stringify(stream.toString('base64'))}));
var slices = ${JSON.stringify(SLICES)};
for (var k = 0; k < slices.length; k++) {
  var reader = new FrameReader(crc);
  var got = [];
  for (var off = 0; off < stream.length; off += slices[k]) {
    var part = new Uint8Array(Math.min(slices[k], stream.length - off));
    part.set(stream.subarray(off, off + part.length));
    var bodies = reader.push(part);
    part.fill(0); // the caller reuses its buffer: bodies already handed out must not change
    for (var j = 0; j < bodies.length; j++) got.push(bodies[j]);
  }
  for (var j = 0; j < got.length; j++) {
    var a = decodeBody(got[j]);
    var f = null;
    if (a) {
      for (var i = 0; i < a.length; i++) w(a[i], i === 0 ? 1 : undefined);
      f = wClose(crc);
    }
    console.log('CODEC ' + slices[k] + ' ' + j + ' ' + (a ? a.length : 'null') + ' ' + (f ? hex(f) : 'null'));
  }
  console.log('CODEC_STATS ' + slices[k] + ' ' + JSON.stringify(reader.stats) + ' ' + reader.midFrame());
}
console.log('CODEC_DONE ' + process.memory(false).usage);
`,
    );
    const bundle = await build({ entryPoints: [entry], bundle: true, write: false, target: 'es5', format: 'iife', platform: 'neutral', logLevel: 'silent' });
    const { output } = await runFromStorage(tools!, { '.bootcde': bundle.outputFiles[0].text }, { binary: 'small', timeoutMs: 60000 });
    expect(output).not.toMatch(FAILURE_PATTERN);
    expect(output).toMatch(/CODEC_DONE \d+/);
    for (const slice of SLICES) {
      const lines = output.split('\n').filter((l) => l.startsWith(`CODEC ${slice} `));
      expect(lines).toHaveLength(bodies.length);
      lines.forEach((line, j) => {
        const [, , , count, frameHex] = line.split(' ');
        if (j >= ARRAYS.length) {
          expect([j, count]).toEqual([j, 'null']);
          return;
        }
        const sent = ARRAYS[j];
        expect([j, count]).toEqual([j, String(sent.length)]);
        if (bodies[j].length + 2 > MAX_REPLY) {
          expect([j, frameHex]).toEqual([j, 'null']); // too big to echo: refused, and the next frame is whole
          return;
        }
        const f = Buffer.from(frameHex, 'hex');
        const len = f.readUInt16LE(2);
        expect(f.subarray(0, 2).toString('hex')).toBe('c74b');
        expect(f.readUInt32LE(4 + len)).toBe(zlib.crc32(f.subarray(2, 4 + len)));
        expect(plain(hostDecode(f.subarray(4, 4 + len)))).toEqual(plain(sent));
      });
      expect(output).toContain(`CODEC_STATS ${slice} {"frames":${bodies.length},"skipped":0,"bad":0} false`);
    }
  }, 120000);
});
