// The hub bundle (dist/firmware/linux.js) running on the Linux Espruino interpreter, booted from Storage
// like a flashed board: host link on a pty pair (Serial1, path from the Storage file chub.json), radio on
// the given port (Serial2), console on its own pty for `espruino` / `chub flash`.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { SerialPort } from 'serialport';
import { buildFirmware, REPO_ROOT } from '../build/build-firmware';
import { openPtyPair, openPtyProcess, PtyPair, PtyProcess } from '../serial/pty-pair';
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
  /** The interpreter's console (REPL): where `espruino` and `chub flash` connect. */
  console: string;
  stateDir: string;
  interpreter: string;
  /** linux-console: the last 8 KB the interpreter wrote to its stdout (the `console` pty, which no tool
   *  uses on that board): its start-up banner, and anything printed while the REPL was there. Both boards:
   *  a note when the interpreter exited by itself (also sent to `log`). */
  output(): string;
  /** How the interpreter ended, if it ended by itself (not by close()): its exit status (128+N: signal N). */
  exited(): { status: number; at: string } | undefined;
  close(): void;
}

/** dist/firmware/<board>.js (a Linux-interpreter board), built first if it is not there. */
export async function boardBundle(board: string, log: (line: string) => void): Promise<string> {
  const file = path.join(REPO_ROOT, 'dist/firmware', `${board}.js`);
  if (!fs.existsSync(file)) await buildFirmware({ board, log });
  return file;
}

export function linuxBundle(log: (line: string) => void): Promise<string> {
  return boardBundle('linux', log);
}

/**
 * A script that runs `interp` and writes its exit status to `dir`/status: under socat the interpreter's end
 * is otherwise seen only as a console pty that went away, on the `linux` board not at all (the CLI holds
 * that pty), and it looks like a hub gone silent.
 */
function statusRecorder(interp: string, dir: string): { program: string; statusFile: string } {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const program = path.join(dir, 'run-interpreter');
  const statusFile = path.join(dir, 'status');
  fs.writeFileSync(program, `#!/bin/sh\n${q(interp)}\necho "$?" > ${q(statusFile)}\n`, { mode: 0o755 });
  return { program, statusFile };
}

/** What an exit status of the Linux interpreter on its own means, for the note when it ends. */
function exitReason(status: number): string {
  if (status === 0)
    return 'status 0: a Ctrl-C at an empty REPL line less than 5 s after another (the Linux build exits there, a board clears the line), a Ctrl-D (0x04) on its stdin, quit(), or a SIGTERM/SIGHUP from outside';
  if (status > 128) return `killed by signal ${status - 128}`;
  return `status ${status}`;
}

export async function startEspruinoHub(opts: EspruinoHubOptions): Promise<EspruinoHub> {
  const log = opts.log ?? (() => undefined);
  const interp = findInterpreter(opts.small === true);
  const ownState = opts.stateDir === undefined;
  const stateDir = opts.stateDir ? path.resolve(opts.stateDir) : fs.mkdtempSync(path.join(os.tmpdir(), 'chub-espruino-'));
  let host: PtyPair | undefined;
  let consolePty: PtyProcess | undefined;
  let reader: SerialPort | undefined;
  let stdout = '';
  let exited: { status: number; at: string } | undefined;
  let watch: NodeJS.Timeout | undefined;
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-espruino-run-'));
  const close = () => {
    if (watch) clearInterval(watch);
    if (reader?.isOpen) reader.close();
    consolePty?.close(); // socat exits, the pty hangs up, the interpreter exits
    host?.close();
    fs.rmSync(runDir, { recursive: true, force: true });
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
    const recorder = statusRecorder(interp.run, runDir);
    consolePty = await openPtyProcess(recorder.program, path.join(path.dirname(host.b), `console-${process.pid}`), stateDir);
    // A board does not end by itself; this one can (see exitReason). Say so where a failure will be read:
    // chub emulate's stderr, and output().
    watch = setInterval(() => {
      let text: string;
      try {
        text = fs.readFileSync(recorder.statusFile, 'utf8');
      } catch {
        return;
      }
      if (!text.endsWith('\n')) return; // still being written
      clearInterval(watch);
      exited = { status: Number(text.trim()), at: new Date().toISOString() };
      const note = `[${exited.at}: the Espruino interpreter (the emulated board) exited by itself, ${exitReason(exited.status)}]`;
      stdout += `\n${note}\n`;
      log(note);
    }, 200);
    watch.unref();
    if (opts.board === 'linux-console') {
      // The REPL is on the host link's port here, so this pty is free to read (and a test that fails can
      // show what the interpreter said).
      reader = new SerialPort({ path: consolePty.link, baudRate: 115200 });
      reader.on('data', (d: Buffer) => (stdout = (stdout + d.toString('latin1')).slice(-8192)));
      reader.on('error', () => undefined); // the pty goes away on close
      // socat exits with the interpreter, and the pty hangs up: say so where a failing test will look.
      reader.on('close', () => (stdout += `\n[${new Date().toISOString()}: the console pty closed: the interpreter exited or was stopped]\n`));
    }
    return { port: host.b, console: consolePty.link, stateDir, interpreter: interp.run, output: () => stdout, exited: () => exited, close };
  } catch (e) {
    close();
    throw e;
  }
}
