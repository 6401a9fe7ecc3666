// The firmware build and its Espruino gate: the linux bundle is minified ES5 (written pretokenised) with nothing Espruino 2v29
// lacks, and the gate really catches what would break on the device.
import * as acorn from 'acorn';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as vm from 'vm';
import { buildFirmware, BuildError } from '../../host-tools/build/build-firmware';
import { pretokenise, spellOut, tokenStream } from '../../host-tools/build/pretokenise';
import { checkEspruinoSource, regexProblems } from '../../host-tools/build/espruino-gate';
import { inlineConstants } from '../../host-tools/build/inline-constants';
import { aliasPrototypes, reserveEspruinoGlobals, unwrapBundleIife, unwrapClassIifes } from '../../host-tools/build/unwrap-classes';
import { BoardFileError, loadBoard, validateBoard } from '../../host-tools/boards/board-file';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-gate-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('linux firmware bundle', () => {
  let source = '';
  let bytes = 0;
  let written = Buffer.alloc(0);
  beforeAll(async () => {
    const r = await buildFirmware({ board: 'linux', outFile: path.join(tmp, 'linux.js'), es5Dir: path.join(tmp, 'es5'), log: () => undefined });
    source = r.source;
    bytes = r.bytes;
    written = fs.readFileSync(r.outFile);
  }, 60000);

  it('is minified ES5 that acorn parses with ecmaVersion 5', () => {
    expect(() => acorn.parse(source, { ecmaVersion: 5 })).not.toThrow();
    expect(source.split('\n').length).toBeLessThan(5); // minified
  });

  it('is written pretokenised: smaller, and the same program once the tokens are spelled out', () => {
    expect(bytes).toBe(written.length);
    expect(written.some((b) => b >= 0x80)).toBe(true);
    expect(bytes).toBeLessThan(Buffer.byteLength(source) * 0.9);
    expect(tokens(spellOut(written))).toEqual(tokens(source));
    console.log(`linux bundle: ${bytes} bytes pretokenised, ${Buffer.byteLength(source)} bytes of ES5`);
  });

  it('passes the Espruino gate', () => {
    expect(checkEspruinoSource(source)).toEqual([]);
  });

  it('bakes the board config in and runs at global scope (no wrapper IIFE)', () => {
    // (booleans, not toContain: a failure would print the whole bundle)
    expect(source.includes('"serial":"Serial1"')).toBe(true);
    expect(source.includes('"name":"linux"')).toBe(true);
    expect(source.includes('"jsvars"')).toBe(false); // budgets are for the host's checks: Storage bytes on the board
    expect(source.includes(`"maxChunk":${loadBoard('linux').hub!.maxChunk}`)).toBe(true); // hub config resolved at build time
    expect(source.startsWith('(function') || source.startsWith('!function')).toBe(false);
    expect(/\bD1;/.test(source)).toBe(false); // the reserved-names block is dropped by the minifier
  });
});

/** acorn's token stream, type and value: spacing and quoting do not count. */
const tokens = (src: string) => tokenStream(src).map((t) => t.text);

describe('pretokenise (the espruino package\'s tokeniser)', () => {
  it.each([
    ['keywords and operators', 'function f(a,b){if(a===b)return this.x>>>1;for(var i=0;i<a;i++)b+=i;return typeof a=="string"?void 0:null}'],
    ['strings, with bytes above 0x7f and quotes', 'var s="caf\u00e9 \\"q\\" \\n",t=\'it\\\'s\',u="",v="\u20ac";'],
    ['integers, negative ones and floats', 'var a=[0,1,-1,127,-128,128,-129,32767,-32768,32768,65536,4294967295,1.5,-2.25,1e3]-2,b=x-1;'],
    ['regular expressions and division', 'var r=/a\\/b/g.test(s)?a/2:a/b;'],
    ['catch, which stays a word (espruino/Espruino#1868)', 'try{f()}catch(e){throw e}finally{g()}'],
  ])('%s: spelled out again, it is the same token stream', (_name, code) => {
    const bytes = pretokenise(code);
    expect(bytes.length).toBeLessThan(Buffer.byteLength(code));
    expect(tokens(spellOut(bytes))).toEqual(tokens(code));
  });

  it('refuses code the tokeniser would change: "x- -1" would lex as x-- 1', () => {
    expect(() => pretokenise('var c=x- -1;')).toThrow(/pretokenising changed the program at offset 7 .*became \+\+\/-- --/);
  });

  it('writes a string as its UTF-8 bytes behind a one-byte length (LEX_RAW_STRING8)', () => {
    const bytes = pretokenise('x="\u20ac";');
    const at = bytes.indexOf(0xd1);
    expect(at).toBeGreaterThan(0);
    expect([...bytes.subarray(at, at + 5)]).toEqual([0xd1, 3, 0xe2, 0x82, 0xac]);
  });
});

describe('Espruino gate', () => {
  const problems = (src: string) => checkEspruinoSource(src).map((p) => p.message);

  it.each([
    ['var m = new Map();', /Map/],
    ['var s = new Set([1]);', /Set/],
    ['var a = Array.from(x);', /Array\.from/],
    ['var n = Math.imul(a, b);', /Math\.imul/],
    ['var n = Math.trunc(a);', /Math\.trunc/],
    ['var ok = Number.isInteger(a);', /Number\.isInteger/],
    ['Object.freeze(o);', /Object\.freeze/],
    ['var s = Object.getOwnPropertySymbols(o);', /getOwnPropertySymbols/],
    ['Promise.race([a, b]);', /Promise\.race/],
    ['setImmediate(f);', /setImmediate/],
    ['var e = new TextEncoder();', /TextEncoder/],
    ['var x = a.at(-1);', /\.at\(\)/],
    ['var x = a.flat();', /\.flat\(\)/],
    ['p.finally(f);', /\.finally\(\)/],
    ['var c = u8.buffer.slice(0, 4);', /ArrayBuffer\.prototype\.slice/],
    ['for (var it = a.values(); ;) {}', /iterators/],
    ['outer: for (;;) { break outer; }', /labelled/],
    ['with (o) { x = 1; }', /with/],
    ['var ok = /^[0-9A-F]{16}$/.test(s);', /\{16\} quantifier/],
    ['var ok = /colou?r/.test(s);', /\? quantifier/],
    ['var ok = /a+?/.test(s);', /lazy/],
    ['var ok = /(?:ab)+/.test(s);', /\(\?: group/],
    ['var ok = new RegExp("\\\\bword").test(s);', /word boundary/],
  ])('refuses %s', (src, want) => {
    const p = problems(src);
    expect(p.length).toBeGreaterThan(0);
    expect(p.join('\n')).toMatch(want);
  });

  it.each([
    ['var f = (a) => a;', /not ES5/],
    ['let x = 1;', /not ES5/],
    ['class A {}', /not ES5/],
    ['var s = `t`;', /not ES5/],
    ['for (var x of a) {}', /not ES5/],
    ['var {a} = o;', /not ES5/],
    ['f(...a);', /not ES5/],
    ['var y = a ?? b;', /not ES5/],
    ['var z = 2 ** 3;', /not ES5/],
  ])('refuses non-ES5 %s', (src, want) => {
    const p = checkEspruinoSource(src);
    expect(p).toHaveLength(1);
    expect(p[0].message).toMatch(want);
    expect(p[0].line).toBe(1);
  });

  it('gives positions', () => {
    const p = checkEspruinoSource('var a = 1;\nvar m = new Map();');
    expect(p).toEqual([expect.objectContaining({ line: 2, column: 12, pos: 23 })]);
  });

  it('accepts what Espruino has, and names that are only look-alikes', () => {
    const ok = [
      'var m = {}; m.at = 1; var t = m.at;', // a data property named like a missing method
      'function f(Map) { return new Map(); }', // a parameter, not the global
      'var o = { Set: 1, from: 2 }; o.Set = Array.isArray(o);',
      'Object.keys(o); Object.entries(o); Object.assign(a, b); [1].includes(1); "a".padStart(2);',
      'var u = new Uint8Array(4); u.subarray(1).set([1]); E.CRC32(u); E.toUint8Array("x");',
      'var ok = /^[A-Za-z0-9._-]+$/.test(s) && /[:\\-\\s]/g.test(s) && /^a*b$/.test(s);',
      'Promise.all([p]).then(f)["catch"](g);',
    ];
    for (const src of ok) expect([src, checkEspruinoSource(src)]).toEqual([src, []]);
  });

  it('finds regex features Espruino lacks, and no false alarms inside classes or escapes', () => {
    expect(regexProblems('[?{}]\\?\\{2\\}')).toEqual([]);
    expect(regexProblems('a{2,}')).toEqual(['{2,} quantifier']);
    expect(regexProblems('(a)\\1')).toEqual(['\\1 (backreference)']);
  });
});

describe('JsVar-saving rewrites keep the program meaning', () => {
  // tsc's ES5 class output, bundled by esbuild (inner names may differ from the outer ones).
  const src = [
    '"use strict";',
    '(function() {',
    '  var Counter = (',
    '    /** @class */',
    '    (function() {',
    '      function Counter2(start) { this.n = start; }',
    '      Counter2.prototype.add = function(k) { this.n += k; return this; };',
    '      Counter2.make = function() { return new Counter2(10); };',
    '      return Counter2;',
    '    })()',
    '  );',
    '  var Other = (function() { var hidden = 1; function Other() {} Other.prototype.h = function() { return hidden; }; return Other; })();',
    '  out.push(Counter.make().add(5).n, new Other().h(), new Counter(1) instanceof Counter);',
    '})();',
  ].join('\n');

  it('lifts class IIFEs that only define a class, and leaves the others', () => {
    const r = unwrapClassIifes(src);
    expect(r.unwrapped).toBe(1);
    expect(r.code).toContain('function Counter(start)'); // renamed to the outer name: no alias
    expect(r.code).toContain('return new Counter(10)');
    expect(r.code).not.toContain('Counter2');
    expect(r.code).toContain('var hidden = 1'); // the IIFE with a local stays wrapped
    const run = (code: string) => {
      const ctx = { out: [] as unknown[] };
      vm.runInNewContext(code, ctx);
      return ctx.out;
    };
    expect(run(r.code)).toEqual(run(src));
    const lifted = unwrapBundleIife(r.code);
    expect(lifted.globals).toEqual(expect.arrayContaining(['Counter', 'Other']));
    expect(run(lifted.code)).toEqual(run(src));
  });

  const run = (code: string) => {
    const ctx = { out: [] as unknown[] };
    vm.runInNewContext(code, ctx);
    return ctx.out;
  };

  it('inlines top-level small-integer and boolean constants, only where the name means the global', () => {
    const code = [
      'var A=5,C=-1,T=!0,BIG=100000,W=1,B=f(2),LATE=3;', // f(2) runs before LATE is set: LATE stays
      'out.push(late());function late(){return LATE}',
      'function f(t){return t+A+C}',
      'function g(A){return A}', // a parameter shadows it
      'function h(){var A=2;return A}', // so does a var anywhere in the function
      'function k(){try{throw 7}catch(C){return C}}', // and a catch parameter
      'var o={A:1};o.A=A;W=2;', // property names are not the constant; W is written: kept
      'out.push(B,g(9),h(),k(),o.A,o.A+A,x(),T,C.toString(),1-C,BIG,W);',
      'function x(){return A*2}',
    ].join('');
    const r = inlineConstants(code);
    expect(r.inlined).toEqual(['A', 'C', 'T']);
    expect(r.code).toContain('var BIG=100000,W=1,B=f(2),LATE=3;');
    expect(r.code).toContain('function g(A){return A}');
    expect(r.code).toContain('(-1).toString()');
    expect(r.code).toContain('1-(-1)');
    expect(run(r.code)).toEqual(run(code));
  });

  it('aliases prototypes filled in at top level, and the program means the same', () => {
    const code = 'function P(){}P.prototype.a=function(){return 1},P.prototype.b=function(){return this.a()+1};function Q(){}Q.prototype.c=function(){return 3};out.push(new P().b(),new Q().c());';
    const r = aliasPrototypes(code);
    expect(r.aliased).toBe(3);
    expect(r.code).toContain('($p=P.prototype).a=');
    expect(r.code).toContain('$p.b=');
    expect(run(r.code)).toEqual(run(code));
    expect(() => aliasPrototypes('var $p=1;')).toThrow(/already uses the name \$p/);
  });

  it('refuses top-level names a board defines (pins, E, LED1, ...) and reserves them for the minifier', () => {
    expect(() => unwrapBundleIife('(function(){ var D1 = 1; print(D1); })();')).toThrow(/D1/);
    expect(reserveEspruinoGlobals('(function(){ var a = 1; })();')).toMatch(/if \(false\) \{ A0; .*D31;.*LED1;/);
  });
});

describe('board files', () => {
  const good = () => JSON.parse(fs.readFileSync(path.join(__dirname, '../../boards/linux.json'), 'utf8'));

  it('loads boards/linux.json', () => {
    const b = loadBoard('linux');
    expect(b).toMatchObject({ name: 'linux', jsvars: 2500, storageBytes: 262144, imageMode: 'stored', host: { serial: 'Serial1', baud: 115200 }, radio: { serial: 'Serial2', baud: 115200 } });
  });

  it.each([
    [(b: any) => delete b.jsvars, /"jsvars" must be an integer, not missing/],
    [(b: any) => (b.jsvars = '2500'), /"jsvars" must be an integer/],
    [(b: any) => (b.imageMode = 'flash'), /"imageMode" must be "stored" or "streamed"/],
    [(b: any) => (b.host.serial = 'Serial9'), /"host\.serial" must name an Espruino UART/],
    [(b: any) => (b.radio.baud = 12345), /"radio\.baud" must be a standard rate/],
    [(b: any) => (b.radio.serial = 'Serial1'), /"radio\.serial" is Serial1, the same UART as host\.serial/],
    [(b: any) => (b.host.rx = 'D8'), /"host\.tx" must be given together/],
    [(b: any) => (b.jsvar = 1), /"jsvar" is not a board field/],
    [(b: any) => (b.hub.maxChunk = 5000), /"hub\.maxChunk" must be between 16 and 1024/],
    [(b: any) => (b.hub.maxJobs = 0), /"hub\.maxJobs" must be between 1 and 1000/],
    [(b: any) => (b.hub.maxSessions = 2.5), /"hub\.maxSessions" must be an integer/],
    [(b: any) => (b.name = 'pico'), /"name" is "pico" but the file is named for "linux"/],
    [(b: any) => (b.console = 'Serial2'), /"console" is Serial2, the radio's UART/],
    [(b: any) => (b.source = 7), /"source" must be a non-empty string/],
  ])('a wrong field is an error naming the file and the field (%#)', (mutate, want) => {
    const b = good();
    mutate(b);
    let err: unknown;
    try {
      validateBoard(b, '/x/boards/linux.json', 'linux');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BoardFileError);
    expect((err as Error).message).toMatch(/^\/x\/boards\/linux\.json: /);
    expect((err as Error).message).toMatch(want);
  });

  it('an unknown board is a clear build error', async () => {
    await expect(buildFirmware({ board: 'nosuchboard', outFile: path.join(tmp, 'x.js'), es5Dir: path.join(tmp, 'es5x'), log: () => undefined })).rejects.toThrow(
      /nosuchboard\.json: cannot be read .*known boards: .*linux/,
    );
    expect(BuildError).toBeDefined();
  });
});
