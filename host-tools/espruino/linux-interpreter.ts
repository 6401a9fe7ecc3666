// The Linux Espruino interpreter (../shared/tools/espruino, $ESPRUINO_DIR, or $ESPRUINO_BIN) as an emulated board:
// a state directory is the board (its Storage is ./espruino.flash there), booted with the console on a
// pty so `espruino` and `chub flash` reach it as they reach a real board's USB serial port.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { REPO_ROOT } from '../build/build-firmware';

export const ESPRUINO_BIN_ENV = 'ESPRUINO_BIN';
export const DEFAULT_TOOLS_DIR = path.resolve(REPO_ROOT, '../shared/tools/espruino');

/** The folder with the interpreter builds and their CLI helpers: $ESPRUINO_DIR, else ../shared/tools/espruino. */
export function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.ESPRUINO_DIR || DEFAULT_TOOLS_DIR;
}

export interface Interpreter {
  /** The binary that runs the board. */
  run: string;
  /** The growing-memory build, used to write Storage (reading a big file on espruino-2500 runs out of memory). */
  writer: string;
}

function executable(f: string): boolean {
  try {
    fs.accessSync(f, fs.constants.X_OK);
    return fs.statSync(f).isFile();
  } catch {
    return false;
  }
}

/** $ESPRUINO_BIN, else espruino (espruino-2500 with `small`) in toolsDir(). */
export function findInterpreter(small: boolean, env: NodeJS.ProcessEnv = process.env): Interpreter {
  const given = env[ESPRUINO_BIN_ENV];
  const run = given ? path.resolve(given) : path.join(toolsDir(env), small ? 'espruino-2500' : 'espruino');
  if (!executable(run)) {
    throw new Error(
      `no Espruino interpreter at ${run}${given ? ` ($${ESPRUINO_BIN_ENV})` : ''}: set ${ESPRUINO_BIN_ENV} to a Linux build of Espruino 2v29, or ESPRUINO_DIR to a folder of them ` +
        `(see ../shared/tools/espruino/README.md; its build.sh rebuilds them)`,
    );
  }
  const sibling = path.join(path.dirname(run), 'espruino');
  return { run, writer: executable(sibling) ? sibling : run };
}

/** Writes files into `dir`/espruino.flash, checked by CRC. `ifMissing` files are left alone when present. */
export function writeStorage(writer: string, dir: string, files: { [name: string]: Buffer }, ifMissing: string[] = []): void {
  fs.mkdirSync(dir, { recursive: true });
  const staging = fs.mkdtempSync(path.join(dir, 'staging-'));
  try {
    const lines = ['var S = require("Storage"), fs = require("fs"), crc = {};'];
    Object.keys(files).forEach((name, i) => {
      if (name.length > 28) throw new Error(`Storage file name ${JSON.stringify(name)} is longer than 28 characters`);
      const f = path.join(staging, `f${i}`);
      fs.writeFileSync(f, files[name]);
      const n = JSON.stringify(name);
      const write = `S.write(${n}, fs.readFileSync(${JSON.stringify(f)}));`;
      lines.push(ifMissing.includes(name) ? `if (S.read(${n}) === undefined) ${write}` : write);
      lines.push(`crc[${n}] = E.CRC32(S.read(${n}));`);
    });
    lines.push('print("STORAGE_CRC " + JSON.stringify(crc));');
    const script = path.join(staging, 'write.js');
    fs.writeFileSync(script, lines.join('\n') + '\n');
    const r = spawnSync(writer, [script], { cwd: dir, encoding: 'latin1', timeout: 30000, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/\r/g, '');
    const m = /STORAGE_CRC (\{.*\})/.exec(out);
    if (r.status !== 0 || !m || /Uncaught|OUT OF MEMORY/.test(out)) throw new Error(`writing Storage in ${dir} with ${writer} failed (status ${r.status}):\n${out.slice(-2000)}`);
    const got = JSON.parse(m[1]) as { [name: string]: number };
    for (const name of Object.keys(files)) {
      if (ifMissing.includes(name)) continue; // may hold an earlier (e.g. flashed) version on purpose
      if (got[name] >>> 0 !== zlib.crc32(files[name]) >>> 0) throw new Error(`Storage file ${name} in ${dir} was not stored byte-exact`);
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
