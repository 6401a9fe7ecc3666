// The `espruino` npm CLI (EspruinoTools 0.1.67), run the way ../shared/tools/espruino/cli.sh runs it:
// --no-ble (else it dies reaching D-Bus), and for the Linux interpreter on a pty the pty-listing shim
// (the CLI only opens ports serialport.list() reports), its board file (else it downloads one) and
// SERIAL_THROTTLE_SEND=1 (fast writes never finish short uploads). Real boards get the CLI's own board
// detection.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { REPO_ROOT } from '../build/build-firmware';
import { toolsDir } from './linux-interpreter';

const CLI = path.join(REPO_ROOT, 'node_modules/espruino/bin/espruino-cli.js');

export interface EspruinoCliRun {
  code: number;
  output: string;
}

/** The folder with cli-pty-shim.cjs and LINUX-board.json ($ESPRUINO_DIR or ../shared/tools/espruino). */
function linuxTools(env: NodeJS.ProcessEnv): { shim: string; board: string } {
  const dir = toolsDir(env);
  const shim = path.join(dir, 'cli-pty-shim.cjs');
  const board = path.join(dir, 'LINUX-board.json');
  for (const f of [shim, board]) if (!fs.existsSync(f)) throw new Error(`${f} is missing: the espruino CLI needs it to reach the Linux interpreter on a pty (see ../shared/tools/espruino/README.md)`);
  return { shim, board };
}

/** Writes `bundle` to Storage as .bootcde (byte-exact, as a data file) and runs `then` (e.g. load()). */
export function writeBootCode(opts: { port: string; bundle: string; linux: boolean; then: string; timeoutMs: number }): Promise<EspruinoCliRun> {
  if (!fs.existsSync(CLI)) throw new Error(`the espruino CLI is not installed (${CLI}): run npm install`);
  const env = { ...process.env };
  const args = [CLI, '--no-ble', '-p', opts.port, '--storage', `.bootcde:${path.resolve(opts.bundle)}`, '-e', opts.then];
  if (opts.linux) {
    const t = linuxTools(env);
    env.NODE_OPTIONS = `--require ${t.shim} ${env.NODE_OPTIONS ?? ''}`;
    args.splice(1, 0, '--board', t.board, '--config', 'SERIAL_THROTTLE_SEND=1');
  }
  return new Promise((resolve) => {
    execFile(process.execPath, args, { env, timeout: opts.timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
