// What the flash tests (test/hil) do with the emulated Espruino board: start one for a suite, make a bundle of
// another version, ask its REPL, read the version its hub reports, and wait for what `chub emulate` says.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runEspruinoCli } from '../../host-tools/espruino/espruino-cli';
import { boardBundle } from '../../host-tools/espruino/espruino-hub';
import { helloWithin } from '../../host-tools/espruino/hub-link-flash';
import { Emulation, startEmulate } from './chub-emulate';

export interface SuiteBoard {
  emu: Emulation;
  /** A temporary directory of the suite's own, removed after it. */
  tmp: string;
  /** The board's directory (its Storage) in `tmp`. */
  board: string;
}

/** An emulated Espruino board (`chub emulate --espruino`, its Storage in a temporary directory named from
 *  `prefix`) for the suite this is called in: started before its tests, stopped and removed after them. The
 *  fields are set once its beforeAll has run. */
export function emulatedBoardForSuite(prefix: string): SuiteBoard {
  const s = {} as SuiteBoard;
  beforeAll(async () => {
    s.tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    s.board = path.join(s.tmp, 'board');
    s.emu = await startEmulate(['--espruino', '--time-scale', '0.05', '--state', s.board]);
  }, 90000);
  afterAll(async () => {
    await s.emu?.stop();
    if (s.tmp) fs.rmSync(s.tmp, { recursive: true, force: true });
  });
  return s;
}

/** The board's bundle with another version (as long as "0.1.0": a pretokenised string carries its
 *  length), so only a board that booted it can report it. */
export async function versioned(dir: string, board: string, version: string): Promise<string> {
  if (version.length !== '0.1.0'.length) throw new Error(`versioned: ${version} is not 5 characters long`);
  const file = path.join(dir, `${board}-${version}.js`);
  fs.writeFileSync(file, fs.readFileSync(await boardBundle(board, () => undefined), 'latin1').split('0.1.0').join(version), 'latin1');
  return file;
}

/** What the REPL on `port` prints for `expr`. */
export async function repl(port: string, expr: string): Promise<string> {
  const r = await runEspruinoCli(port, ['-e', `print("ANSWER="+(${expr}))`], 30000);
  const m = /ANSWER=(.*?)\r?\n/.exec(r.output);
  if (!m) throw new Error(`no answer to ${expr} on ${port}: ${r.output}`);
  return m[1];
}

/** The version the hub on `port` reports, once it answers (it may be booting) or `ms` pass. */
export async function hubVersion(port: string, ms: number): Promise<string> {
  const hub = await helloWithin(port, ms);
  await hub.close();
  return hub.info.fw;
}

/** Resolves when `chub emulate` has said something matching `re` on stderr; rejects after `ms`. */
export function saidOnStderr(emu: Emulation, re: RegExp, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = re.exec(emu.stderr());
      if (!m) return;
      clearTimeout(timer);
      emu.proc.stderr!.off('data', check);
      resolve(m[0]);
    };
    const timer = setTimeout(() => {
      emu.proc.stderr!.off('data', check);
      reject(new Error(`chub emulate did not say ${re} within ${ms} ms; it said:\n${emu.stderr().slice(-2000)}`));
    }, ms);
    emu.proc.stderr!.on('data', check);
    check();
  });
}

/** Whether process `pid` exists and has not ended (a zombie waiting for its parent has). */
export function running(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !/^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return false;
  }
}
