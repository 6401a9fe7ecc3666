// The hub bundle (dist/firmware/linux.js) running on the Linux Espruino interpreter, booted from Storage
// like a flashed board: host link on a pty pair (Serial1, path from the Storage file chub.json), radio on
// the given port (Serial2), console on its own pty for `espruino` / `chub flash`, watched: an interpreter
// that stops reading it is restarted (console-watchdog.ts).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SerialPort } from 'serialport';
import { buildFirmware, REPO_ROOT } from '../build/build-firmware';
import { openPtyPair, openPtyProcess, PtyPair, PtyProcess } from '../serial/pty-pair';
import { startWatchedConsole, WatchedConsole } from './console-watchdog';
import { findInterpreter, writeStorage } from './linux-interpreter';

export const LINUX_BUNDLE = path.join(REPO_ROOT, 'dist/firmware/linux.js');

export interface EspruinoHubOptions {
  /** The hub's radio UART: a pty or device path. */
  radio: string;
  /** The board's Storage lives here (kept); default a temp dir removed on close. */
  stateDir?: string;
  /** espruino-2500 (2500 JsVars, about a Puck.js) instead of the growing build. */
  small?: boolean;
  /** The board whose bundle runs: linux (default), or linux-console, whose REPL is on the host link's
   *  port as on Puck.js (the hub borrows it: firmware/espruino/console-port.ts). */
  board?: 'linux' | 'linux-console';
  /** More settings for the board's chub.json, e.g. {consoleIdleS: 5}. */
  config?: Record<string, unknown>;
  /** Progress lines (the build, if it runs). */
  log?: (line: string) => void;
}

export interface EspruinoHub {
  /** The host-link port for chub / HubClient. */
  port: string;
  /** The interpreter's console (REPL): where `espruino` and `chub flash` connect. On linux it is watched:
   *  an interpreter that stops reading it is restarted, and `log` says so. */
  console: string;
  stateDir: string;
  interpreter: string;
  /** linux-console only: the last 8 KB the interpreter wrote to its stdout (the `console` pty, which no
   *  tool uses on that board): its start-up banner, and anything printed while the REPL was there. */
  output(): string;
  close(): void;
}

/** dist/firmware/<board>.js (a Linux-interpreter board), built first if it is not there or is older than
 *  the firmware sources or the board file (a stale bundle would run yesterday's hub). */
export async function boardBundle(board: string, log: (line: string) => void): Promise<string> {
  const file = path.join(REPO_ROOT, 'dist/firmware', `${board}.js`);
  const built = fs.existsSync(file) ? fs.statSync(file).mtimeMs : -1;
  if (built < newestSource([path.join(REPO_ROOT, 'firmware'), path.join(REPO_ROOT, 'boards', `${board}.json`)])) await buildFirmware({ board, log });
  return file;
}

/** The latest modification time of the files at or below `paths`. */
function newestSource(paths: string[]): number {
  let t = 0;
  for (const p of paths) {
    const st = fs.statSync(p);
    t = Math.max(t, st.isDirectory() ? newestSource(fs.readdirSync(p).map((f) => path.join(p, f))) : st.mtimeMs);
  }
  return t;
}

export function linuxBundle(log: (line: string) => void): Promise<string> {
  return boardBundle('linux', log);
}

export async function startEspruinoHub(opts: EspruinoHubOptions): Promise<EspruinoHub> {
  const log = opts.log ?? (() => undefined);
  const interp = findInterpreter(opts.small === true);
  const ownState = opts.stateDir === undefined;
  const stateDir = opts.stateDir ? path.resolve(opts.stateDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'chub-espruino-'));
  let host: PtyPair | undefined;
  let consolePty: PtyProcess | WatchedConsole | undefined;
  let reader: SerialPort | undefined;
  let stdout = '';
  const close = () => {
    if (reader?.isOpen) reader.close();
    consolePty?.close(); // socat exits, the pty hangs up, the interpreter exits
    host?.close();
    if (ownState) fs.rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    const bundle = await boardBundle(opts.board ?? 'linux', log);
    host = await openPtyPair('host');
    // chub.json points the UARTs at this run's ptys; .bootcde is kept if the state dir has one, so a
    // bundle written by `chub flash` survives a restart.
    writeStorage(
      interp.writer,
      stateDir,
      { '.bootcde': fs.readFileSync(bundle), 'chub.json': Buffer.from(JSON.stringify({ ...opts.config, host: { path: host.a }, radio: { path: opts.radio } })) },
      ['.bootcde'],
    );
    if (opts.board !== 'linux-console') consolePty = await startWatchedConsole({ program: interp.run, cwd: stateDir, dir: path.dirname(host.b), log });
    else {
      // Not watched: the REPL is not on this pty but on the host link, shared with the hub's frames, where
      // the watchdog's probe has no place.
      consolePty = await openPtyProcess(interp.run, path.join(path.dirname(host.b), `console-${process.pid}`), stateDir);
      // The REPL is on the host link's port here, so this pty is free to read (and a test that fails can
      // show what the interpreter said).
      reader = new SerialPort({ path: consolePty.link, baudRate: 115200 });
      reader.on('data', (d: Buffer) => (stdout = (stdout + d.toString('latin1')).slice(-8192)));
      reader.on('error', () => undefined); // the pty goes away on close
      // socat exits with the interpreter, and the pty hangs up: say so where a failing test will look.
      reader.on('close', () => (stdout += `\n[${new Date().toISOString()}: the console pty closed: the interpreter exited or was stopped]\n`));
    }
    return { port: host.b, console: consolePty.link, stateDir, interpreter: interp.run, output: () => stdout, close };
  } catch (e) {
    close();
    throw e;
  }
}
