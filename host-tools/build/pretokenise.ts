// Espruino's pretokeniser, as the Web IDE and the espruino CLI apply it when code is saved to Storage
// (EspruinoTools plugins/pretokenise.js, from the `espruino` npm package): reserved words and operators
// become one byte each (0x8A…), strings and integers become length- or value-prefixed raw tokens. The
// interpreter runs such code straight from flash (jslex.c, LEX_RAW_STRING8 etc.; strings since 2v20.48,
// integers since 2v25.396), so a bundle takes about a sixth less Storage.
//
// The plugin is loaded from the package in a sandbox with just the pieces of the EspruinoTools global it
// reads, rather than through the package's index.js, which starts the whole IDE core (serial, jQuery
// stubs, a global `require`).
import * as acorn from 'acorn';
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';

const PLUGIN = path.resolve(__dirname, '../../node_modules/espruino/plugins/pretokenise.js');
/** Every bundle targets Espruino 2v29 (boards/*.json): tokenise strings and integers too. */
const TARGET_VERSION = '2v29';

interface PretokenisePlugin {
  tokenise(code: string): string;
  untokenise(code: string): string;
}

let plugin: PretokenisePlugin | undefined;

function load(): PretokenisePlugin {
  if (plugin) return plugin;
  if (!fs.existsSync(PLUGIN)) throw new Error(`${PLUGIN} is missing: the espruino package provides the pretokeniser (run npm install)`);
  const espruino = {
    Core: {
      Config: { add: () => undefined },
      Env: { getBoardData: () => ({ VERSION: TARGET_VERSION }) },
      Utils: {
        atob: (s: string) => Buffer.from(s, 'base64').toString('latin1'),
        toJSONishString: (s: string) => JSON.stringify(s),
      },
    },
    Config: { PRETOKENISE: 1 },
    Plugins: {} as { Pretokenise?: PretokenisePlugin },
    addProcessor: () => undefined,
  };
  const quiet = { log: () => undefined, warn: () => undefined };
  vm.runInNewContext(fs.readFileSync(PLUGIN, 'utf8'), { Espruino: espruino, acorn, console: quiet }, { filename: PLUGIN });
  if (!espruino.Plugins.Pretokenise) throw new Error(`${PLUGIN} did not register Espruino.Plugins.Pretokenise`);
  plugin = espruino.Plugins.Pretokenise;
  return plugin;
}

// jslex.h (2v29): one-byte tokens from LEX_OPERATOR_START, then the raw string and integer tokens.
const LEX_OPERATOR_START = 0x8a;
const LEX_RAW_STRING8 = 0xd1;
const LEX_RAW_STRING16 = 0xd2;
const LEX_RAW_INT0 = 0xd3;
const LEX_RAW_INT8 = 0xd4;
const LEX_RAW_INT16 = 0xd5;

let words: string[] | undefined;

/** The text of each one-byte token, from the plugin's own table (what its untokenise prints). */
function tokenTexts(): string[] {
  if (words) return words;
  const out: string[] = [];
  for (let b = LEX_OPERATOR_START; b < LEX_RAW_STRING8; b++) {
    const t = load().untokenise(String.fromCharCode(b));
    if (t.length === 1 && t.charCodeAt(0) === b) break; // past the table's end
    out.push(t);
  }
  words = out;
  return out;
}

/**
 * Pretokenised bytes as the interpreter's lexer sees them: each token spelled out with spaces around it,
 * the ASCII between tokens exactly as written (so two characters the tokeniser ran together, such as
 * `- -` becoming `--`, show up as the token they now form).
 */
export function spellOut(bytes: Buffer): string {
  const words = tokenTexts();
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < LEX_OPERATOR_START) {
      out += String.fromCharCode(b);
      i++;
    } else if (b === LEX_RAW_STRING8 || b === LEX_RAW_STRING16) {
      const n = b === LEX_RAW_STRING8 ? bytes[i + 1] : bytes.readUInt16LE(i + 1);
      const at = i + (b === LEX_RAW_STRING8 ? 2 : 3);
      out += ' ' + JSON.stringify(bytes.subarray(at, at + n).toString('latin1')) + ' ';
      i = at + n;
    } else if (b === LEX_RAW_INT0) {
      out += ' 0 ';
      i++;
    } else if (b === LEX_RAW_INT8 || b === LEX_RAW_INT16) {
      out += ' ' + (b === LEX_RAW_INT8 ? bytes.readInt8(i + 1) : bytes.readInt16LE(i + 1)) + ' ';
      i += b === LEX_RAW_INT8 ? 2 : 3;
    } else if (b - LEX_OPERATOR_START < words.length) {
      out += ' ' + words[b - LEX_OPERATOR_START] + ' ';
      i++;
    } else throw new Error(`byte 0x${b.toString(16)} at ${i} is no Espruino token`);
  }
  return Buffer.from(out, 'latin1').toString('utf8');
}

/** acorn's token stream, type and value (and where each starts): what must survive pretokenising. */
export function tokenStream(src: string): { text: string; at: number }[] {
  const out: { text: string; at: number }[] = [];
  for (const t of acorn.tokenizer(src, { ecmaVersion: 5 })) out.push({ text: `${t.type.label} ${String((t as acorn.Token & { value: unknown }).value)}`, at: t.start });
  return out;
}

/**
 * `source` (ES5) as the bytes Espruino runs from Storage. Espruino reads code as bytes, so the source
 * goes in as its UTF-8 bytes (a raw string's length counts bytes). The result is checked token for token
 * against the source: the tokeniser drops all whitespace, so `a- -b` would become `a--b`.
 */
export function pretokenise(source: string): Buffer {
  const out = Buffer.from(load().tokenise(Buffer.from(source, 'utf8').toString('latin1')), 'latin1');
  const want = tokenStream(source);
  const got = tokenStream(spellOut(out));
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    const w = want[i];
    if (w && got[i] && w.text === got[i].text) continue;
    const where = w ? `at offset ${w.at} (${JSON.stringify(source.slice(Math.max(0, w.at - 20), w.at + 20))})` : 'at the end';
    throw new Error(`pretokenising changed the program ${where}: ${w ? w.text : 'nothing'} became ${got[i] ? got[i].text : 'nothing'}`);
  }
  return out;
}
