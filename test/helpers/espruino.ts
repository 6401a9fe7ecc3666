// The Linux Espruino interpreter (../shared/tools/espruino, or $ESPRUINO_DIR) for tests: find it, and
// boot a bundle from Storage in a fresh directory the way a flashed board boots it.
//
// Storage lives in ./espruino.flash of the interpreter's working directory. Files are written with the
// big `espruino` build (reading a large file on the 2500-JsVar build runs out of memory), then the board
// is "powered on" with the chosen binary, which runs .bootcde from Storage (code stays in flash).
import { toolsDir } from '../../host-tools/espruino/linux-interpreter';
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';

export const REPO_ROOT = path.resolve(__dirname, '../..');

export interface EspruinoTools {
  dir: string;
  /** 64-bit build with a growing JsVar store (never runs out). */
  big: string;
  /** 32-bit build with a fixed 2500-JsVar store, 13-byte JsVars (about a Puck.js). */
  small: string;
}

/** The interpreter directory, or null when it is not there. */
export function findEspruino(): EspruinoTools | null {
  const dir = toolsDir();
  const big = path.join(dir, 'espruino');
  const small = path.join(dir, 'espruino-2500');
  const ok = (f: string) => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return ok(big) && ok(small) ? { dir, big, small } : null;
}

export const MISSING_MESSAGE =
  'Espruino interpreter not found: set ESPRUINO_DIR to a directory holding the `espruino` and `espruino-2500` ' +
  'Linux builds (see ../shared/tools/espruino/README.md; build.sh there rebuilds them from an Espruino 2v29 checkout), ' +
  'or put them at ../shared/tools/espruino beside the repository.';

/**
 * The interpreter for a suite that needs it. Missing: throws under CI (the suite must run there),
 * otherwise warns loudly and returns null so the suite can skip itself.
 */
export function espruinoForSuite(suite: string): EspruinoTools | null {
  const t = findEspruino();
  if (t) return t;
  if (process.env.CI) throw new Error(`${suite}: ${MISSING_MESSAGE}`);
  console.warn(`\n*** SKIPPING ${suite}: ${MISSING_MESSAGE}\n`);
  return null;
}

/** Whether socat is on the PATH (pty pairs). */
export function haveSocat(): boolean {
  return spawnSync('sh', ['-c', 'command -v socat'], { stdio: 'ignore' }).status === 0;
}

/** Interpreter output made readable: no \r, no terminal escapes, no `>` prompts. */
export function cleanOutput(raw: string): string {
  return raw
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/^>+/gm, '');
}

/** What the interpreter prints when the program failed (uncaught error, out of memory, interpreter error). */
export const FAILURE_PATTERN = /Uncaught|OUT OF MEMORY|New interpreter error:/;

export type StorageFiles = { [name: string]: Uint8Array | string };

/**
 * A `.boot0` that holds about `vars` JsVars for good before the application boots (Storage runs .boot0
 * first), so a build with more JsVars can stand in for a smaller board, or headroom can be measured:
 * the largest ballast an application survives is its free memory at its peak.
 */
export function ballastBoot0(vars: number): string {
  // One flat string: 13 bytes per JsVar on the 32-bit builds (27 on the 64-bit one), plus its header.
  return `global.__ballast = new Uint8Array(Math.max(0, ${vars} - 2) * process.memory().blocksize);`;
}

/** A fresh "board": a temp directory whose espruino.flash holds `files`. Checked by CRC after writing. */
export function makeBoardDir(tools: EspruinoTools, files: StorageFiles, prefix = 'chub-esp-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  writeStorage(tools, dir, files);
  return dir;
}

/** Writes files into `dir`/espruino.flash with the big interpreter (file mode: .bootcde is not run). */
export function writeStorage(tools: EspruinoTools, dir: string, files: StorageFiles): void {
  const staging = fs.mkdtempSync(path.join(dir, 'staging-'));
  const names = Object.keys(files);
  const lines = ['var S = require("Storage"), fs = require("fs"), crc = {};'];
  names.forEach((name, i) => {
    if (name.length > 28) throw new Error(`Storage file name ${JSON.stringify(name)} is longer than 28 characters`);
    const data = files[name];
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const f = path.join(staging, `f${i}`);
    fs.writeFileSync(f, bytes);
    lines.push(`S.write(${JSON.stringify(name)}, fs.readFileSync(${JSON.stringify(f)}));`);
    lines.push(`crc[${JSON.stringify(name)}] = E.CRC32(S.read(${JSON.stringify(name)}));`);
  });
  lines.push('print("STORAGE_CRC " + JSON.stringify(crc));');
  const script = path.join(staging, 'write.js');
  fs.writeFileSync(script, lines.join('\n') + '\n');
  const r = spawnSync(tools.big, [script], { cwd: dir, encoding: 'latin1', timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'] });
  fs.rmSync(staging, { recursive: true, force: true });
  const out = cleanOutput((r.stdout || '') + (r.stderr || ''));
  const m = /STORAGE_CRC (\{.*\})/.exec(out);
  if (r.status !== 0 || !m || FAILURE_PATTERN.test(out)) throw new Error(`writing Storage in ${dir} failed (status ${r.status}):\n${out}`);
  const got = JSON.parse(m[1]) as { [name: string]: number };
  for (const name of names) {
    const data = files[name];
    const want = zlib.crc32(typeof data === 'string' ? Buffer.from(data, 'utf8') : data) >>> 0;
    if (got[name] >>> 0 !== want) throw new Error(`Storage file ${name} was not stored byte-exact (CRC ${got[name]} != ${want})`);
  }
}

export interface BootOptions {
  /** Default 'small' (espruino-2500); or a path to another build (e.g. one with more JsVars). */
  binary?: 'small' | 'big' | string;
  /** Stop the interpreter (quit()) after this long even if the program keeps timers. */
  quitAfterMs?: number;
  /** Called with each complete output line as it arrives. */
  onLine?: (line: string) => void;
}

export interface BootedBoard {
  dir: string;
  proc: ChildProcess;
  /** Output so far, cleaned. */
  output(): string;
  /** Resolves with the first line matching `re` (now or later); rejects after `timeoutMs` or on exit. */
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
  /** Resolves when the interpreter exits. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL after a second; resolves once it has exited. */
  kill(): Promise<void>;
}

/** "Powers on" the board in `dir`: the interpreter runs .boot0-3 and .bootcde from Storage. */
export function bootBoard(tools: EspruinoTools, dir: string, opts: BootOptions = {}): BootedBoard {
  const bin = opts.binary === 'big' ? tools.big : opts.binary === 'small' || opts.binary === undefined ? tools.small : opts.binary;
  const expr = opts.quitAfterMs !== undefined ? `setTimeout(quit, ${opts.quitAfterMs})` : '';
  const proc = spawn(bin, ['-e', expr], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let raw = '';
  let pendingLine = '';
  const waiters: { re: RegExp; resolve(l: string): void }[] = [];
  const lines: string[] = [];
  const onData = (d: Buffer) => {
    const text = d.toString('latin1');
    raw += text;
    pendingLine += cleanOutput(text);
    const parts = pendingLine.split('\n');
    pendingLine = parts.pop() as string;
    for (const l of parts) {
      lines.push(l);
      opts.onLine?.(l);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (waiters[i].re.test(l)) {
          waiters[i].resolve(l);
          waiters.splice(i, 1);
        }
      }
    }
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  const output = () => cleanOutput(raw);
  return {
    dir,
    proc,
    output,
    exited,
    waitFor(re: RegExp, timeoutMs: number): Promise<string> {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          re,
          resolve: (l: string) => {
            clearTimeout(timer);
            resolve(l);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`no line matching ${re} within ${timeoutMs} ms; output:\n${output().slice(-3000)}`));
        }, timeoutMs);
        waiters.push(w);
        exited.then(() =>
          setTimeout(() => {
            const i = waiters.indexOf(w);
            if (i < 0) return;
            waiters.splice(i, 1);
            clearTimeout(timer);
            reject(new Error(`interpreter exited before printing a line matching ${re}; output:\n${output().slice(-3000)}`));
          }, 50),
        );
      });
    },
    async kill(): Promise<void> {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 1000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Writes Storage, boots, waits for exit (the program must stop by itself or via quitAfterMs). */
export async function runFromStorage(
  tools: EspruinoTools,
  files: StorageFiles,
  opts: BootOptions & { timeoutMs?: number } = {},
): Promise<{ output: string; code: number | null }> {
  const dir = makeBoardDir(tools, files);
  const board = bootBoard(tools, dir, opts);
  const timer = setTimeout(() => void board.kill(), opts.timeoutMs ?? 20000);
  try {
    const r = await board.exited;
    return { output: board.output(), code: r.code };
  } finally {
    clearTimeout(timer);
    await board.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------
// The 32-bit interpreter and a board whose REPL can be typed at (make bench's footprint, bench/footprint*.ts).

/** How espruino-2500-i386 runs here: a command for bootBoard's `binary`, or why it cannot run. */
export type I386Runner = { binary: string; via: 'native' | 'qemu-i386' } | { binary: null; why: string };

/** Whether `bin -e ''` boots and exits in an empty directory (a fresh Storage). */
function runsHere(bin: string): { ok: boolean; why: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-i386-'));
  try {
    const r = spawnSync(bin, ['-e', ''], { cwd: dir, encoding: 'latin1', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.error) return { ok: false, why: `${bin}: ${r.error.message}` };
    if (r.status !== 0) return { ok: false, why: `${bin} -e '' exited with ${r.status ?? r.signal}: ${cleanOutput(`${r.stdout}${r.stderr}`).trim().slice(-300)}` };
    return { ok: true, why: '' };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * espruino-2500-i386 (2500 JsVars of 13 bytes, as on nRF52): natively where the kernel has IA32 emulation,
 * else under qemu-i386 (Debian qemu-user) through a wrapper script written to `scratchDir`.
 */
export function espruinoI386(tools: EspruinoTools, scratchDir: string): I386Runner {
  const bin = path.join(tools.dir, 'espruino-2500-i386');
  if (!fs.existsSync(bin)) return { binary: null, why: `${bin} is missing` };
  const native = runsHere(bin);
  if (native.ok) return { binary: bin, via: 'native' };
  if (spawnSync('sh', ['-c', 'command -v qemu-i386'], { stdio: 'ignore' }).status !== 0)
    return { binary: null, why: `${native.why}; and qemu-i386 is not installed (Debian qemu-user; .ci/system-deps installs it)` };
  const wrapper = path.join(scratchDir, 'espruino-2500-i386-qemu');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec qemu-i386 ${JSON.stringify(bin)} "$@"\n`, { mode: 0o755 });
  const emulated = runsHere(wrapper);
  return emulated.ok ? { binary: wrapper, via: 'qemu-i386' } : { binary: null, why: `${native.why}; under qemu-i386: ${emulated.why}` };
}

/** process.memory() as read at the REPL. */
export interface ReplMemory {
  /** JsVars in use, as process.memory() gives it. The probe line and the REPL's history count: on
   *  espruino-2500-i386 the first read is 2 lower than later ones, which then stay level (measured), so
   *  read twice and keep the second for a figure comparable with other boards' and runs'. */
  usage: number;
  /** process.memory().history (it grows with every line typed while `usage` stays level). */
  history: number;
  free: number;
  total: number;
  blocksize: number;
}

export interface ReplBoard extends BootedBoard {
  /** Types `line` (a newline is added) at the interpreter's REPL, which is its stdin here. */
  type(line: string): void;
  /** process.memory() typed at the REPL: after a garbage collection unless `gc` is false. The probe line's
   *  own few JsVars are counted (the same for every probe, so they cancel in differences). */
  memory(gc?: boolean, timeoutMs?: number): Promise<ReplMemory>;
  /** `expr` typed at the REPL, its value (an object or an array) read back as JSON. */
  json(expr: string, timeoutMs?: number): Promise<unknown>;
}

let replProbes = 0;

/**
 * bootBoard with the REPL on a FIFO the caller types into, so memory can be read at any moment without
 * code of the caller's in the board (a timer or a .boot file would hold JsVars of its own). The board
 * boots as with bootBoard (.boot0-3, .bootcde from Storage) and runs until killed.
 */
export function bootBoardRepl(tools: EspruinoTools, dir: string, opts: Omit<BootOptions, 'quitAfterMs'> = {}): ReplBoard {
  const bin = opts.binary === 'big' ? tools.big : opts.binary === 'small' || opts.binary === undefined ? tools.small : opts.binary;
  const fifo = path.join(dir, 'repl-in');
  const mk = spawnSync('mkfifo', [fifo], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`mkfifo ${fifo} failed: ${mk.stderr || mk.error}`);
  // Opened read-write so neither side blocks on open, and the interpreter never sees end of input.
  const fd = fs.openSync(fifo, 'r+');
  // bootBoard passes -e (which would make the interpreter exit when idle instead of reading its REPL).
  const wrapper = path.join(dir, 'repl-boot.sh');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(bin)} < ${JSON.stringify(fifo)}\n`, { mode: 0o755 });
  const board = bootBoard(tools, dir, { ...opts, binary: wrapper });
  board.exited.then(() => {
    try {
      fs.closeSync(fd);
    } catch {
      // closed already
    }
  });
  const type = (line: string) => {
    fs.writeSync(fd, line + '\n');
  };
  // The probe's number right after its tag, so neither the echoed line nor another probe's output matches.
  const json = async (expr: string, timeoutMs = 20000, tag = 'BENCHJSON'): Promise<unknown> => {
    const n = ++replProbes;
    const re = new RegExp(`${tag}${n}([{[].*)`);
    const got = board.waitFor(re, timeoutMs);
    type(`print("${tag}"+${n}+JSON.stringify(${expr}))`);
    return JSON.parse(re.exec(await got)![1]);
  };
  return {
    ...board,
    type,
    json: (expr: string, timeoutMs?: number) => json(expr, timeoutMs),
    async memory(gc = true, timeoutMs = 20000): Promise<ReplMemory> {
      const m = (await json(`process.memory(${gc ? 1 : 0})`, timeoutMs, 'BENCHMEM')) as { usage: number; history?: number; free: number; total: number; blocksize: number };
      return { usage: m.usage, history: m.history ?? 0, free: m.free, total: m.total, blocksize: m.blocksize };
    },
  };
}
