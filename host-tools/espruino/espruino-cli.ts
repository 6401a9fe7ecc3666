// The `espruino` npm CLI (EspruinoTools 0.1.67), run the way ../shared/tools/espruino/cli.sh runs it:
// --no-ble (else it dies reaching D-Bus), and for the Linux interpreter on a pty the pty-listing shim
// (the CLI only opens ports serialport.list() reports), its board file (else it downloads one) and
// SERIAL_THROTTLE_SEND=1 (fast writes never finish short uploads). Real boards get the CLI's own board
// detection.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT } from '../build/build-firmware';
import { toolsDir } from './linux-interpreter';

const CLI = path.join(REPO_ROOT, 'node_modules/espruino/bin/espruino-cli.js');

export interface EspruinoCliRun {
  code: number;
  output: string;
}

/** A pty is an emulated board (the Linux interpreter): real boards are USB or Bluetooth serial devices. */
function isPty(port: string): boolean {
  try {
    return fs.realpathSync(port).startsWith('/dev/pts/');
  } catch {
    return false;
  }
}

/** The folder with cli-pty-shim.cjs and LINUX-board.json ($ESPRUINO_DIR or ../shared/tools/espruino). */
function linuxTools(env: NodeJS.ProcessEnv): { shim: string; board: string } {
  const dir = toolsDir(env);
  const shim = path.join(dir, 'cli-pty-shim.cjs');
  const board = path.join(dir, 'LINUX-board.json');
  for (const f of [shim, board]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: the espruino CLI needs it to reach the Linux interpreter on a pty (see ../shared/tools/espruino/README.md)`);
  return { shim, board };
}

/** Runs the CLI on `port` with `args` (after the port), set up for the Linux interpreter when the port is a pty. */
export function runEspruinoCli(port: string, args: string[], timeoutMs: number): Promise<EspruinoCliRun> {
  if (!fs.existsSync(CLI)) throw new Error(`the espruino CLI is not installed (${CLI}): run npm install`);
  const env = { ...process.env };
  const argv = [CLI, '--no-ble', '-p', port, ...args];
  if (isPty(port)) {
    const t = linuxTools(env);
    env.NODE_OPTIONS = `--require ${t.shim} ${env.NODE_OPTIONS ?? ''}`;
    argv.splice(1, 0, '--board', t.board, '--config', 'SERIAL_THROTTLE_SEND=1');
  }
  return new Promise((resolve) => {
    execFile(process.execPath, argv, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/**
 * Writes `bundle` to Storage as `name` (byte-exact, as a data file), then runs `then` (e.g. a check).
 * `then` goes in as a code file, not `-e`: only with a file does the CLI send reset() before the Storage
 * writes. Without it the running hub's functions, whose bodies live in .bootcde, break when it is rewritten
 * under them ("Function code is null") and flood the console the CLI is talking to.
 */
export async function writeStorageFile(opts: { port: string; bundle: string; name: string; then: string; timeoutMs: number }): Promise<EspruinoCliRun> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-flash-'));
  const thenFile = path.join(dir, 'then.js');
  fs.writeFileSync(thenFile, `${opts.then}\n`);
  try {
    return await runEspruinoCli(opts.port, ['--storage', `${opts.name}:${path.resolve(opts.bundle)}`, thenFile], opts.timeoutMs);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
