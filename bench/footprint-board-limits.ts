// make bench's footprint, per board: what the board's own limits cost in JsVars, against the board's JsVars.
// Each board file's bundle is booted with its limits and serves maxSessions streamed transfers of 2 KB at once (a
// stored board's hub streams too: ranges held in RAM are the dearer way). The firmware's high-water mark
// (CHUB_MEM peak) is read on espruino-2500-i386, whose 13-byte JsVars hold what a board's hold; a board whose
// tables do not fit the interpreter's 2,500 JsVars runs there with them shrunk, and what its own tables add
// is measured on the growing 64-bit `espruino` (idle, the same bundle booted with both configs) and
// converted from bytes into the board's JsVars. Reported, never asserted.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { hubConfigFor } from '../host-tools/boards/hub-config';
import { BoardFile } from '../host-tools/boards/board-file';
import { cleanOutput, EspruinoTools } from '../test/helpers/espruino';
import { ranOut, RanOut } from './footprint-harness';
import { Ctx, limitsOf, peakRun, PeakRun, SMALL_IMAGE_BYTES, tablesHeld } from './footprint-memory';

/** The issue's budget: a board's peak at most this share of its JsVars (as for Puck.js: 1,500 of 2,500). */
export const PEAK_SHARE = 0.6;

/**
 * Bytes in one of a board's JsVars, from its JsVar count: Espruino sizes its references to the count
 * (src/jsutils.h at c5ff787b1991: ≤ 2,047 → 12 bytes, ≤ 8,191 → 13, ≤ 16,383 → 14, ≤ 65,535 → 16; no board
 * file here sets JSVAR_FORCE_16_BYTE, and boards/ESP32.py's table gives 14 bytes for its 16,383).
 */
export function jsVarBytes(jsvars: number): number {
  return jsvars <= 2047 ? 12 : jsvars <= 8191 ? 13 : jsvars <= 16383 ? 14 : 16;
}

/** Streamed ranges held when a board's tables are shrunk to fit espruino-2500-i386. */
const SHRUNK_RANGES = 5;

/** The limits behind a board's tables (firmware/core/hub.ts sizes its rows by them). */
function tableLimits(board: BoardFile) {
  const c = hubConfigFor(board, '0');
  return { maxDevices: c.maxDevices, maxJobs: c.maxJobs, keepFinishedJobs: c.keepFinishedJobs, maxAlerts: c.maxAlerts, maxSessions: c.maxSessions, streamRanges: c.streamRanges, streamRangeBytes: c.streamRangeBytes, maxImages: c.maxImages };
}

export interface BoardLimitsFigure {
  jsvars: number;
  jsVarBytes: number;
  limits: ReturnType<typeof tableLimits>;
  /** Streamed transfers served at once: the board's maxSessions. */
  transfers: number;
  /** The board's JsVars at the peak: the interpreter's peak, plus its own tables' extra when they were shrunk. */
  peak: number | null;
  percentOfJsVars: number | null;
  /** peak ≤ PEAK_SHARE of jsvars, all `transfers` completed. */
  fits: boolean;
  run: PeakRun;
  /** When the interpreter ran the board with smaller tables: what the board's own add. */
  tables?: {
    shrunkTo: Record<string, number>;
    /** footprint-memory.ts tablesHeld on the growing build, with each config (JsVars of `blocksize` bytes). */
    growingTablesHeld: { boardLimits: number; shrunk: number; blocksize: number };
    /** (boardLimits − shrunk) × blocksize: the tables are typed arrays, bytes packed into JsVars. */
    bytes: number;
    /** bytes ÷ jsVarBytes, rounded up. */
    boardJsVars: number;
  };
  seconds: number;
}

/** process.memory().blocksize of the growing build (27 bytes for 2v29's Linux build). */
function blocksizeOf(binary: string): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-blocksize-'));
  try {
    const r = spawnSync(binary, ['-e', 'print("BS"+process.memory().blocksize)'], { cwd: dir, encoding: 'latin1', timeout: 30000 });
    const m = /BS(\d+)/.exec(cleanOutput(`${r.stdout}`));
    if (!m) throw new Error(`${binary}: no process.memory().blocksize: ${cleanOutput(`${r.stdout}${r.stderr}`).slice(-200)}`);
    return Number(m[1]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * One board: `i386` is espruino-2500-i386 (or the stand-in footprint.ts chose). Boards of up to 4,095 JsVars
 * have the interpreter's layout and small tables, so they run with their own limits; larger ones run with
 * their job, alert and device tables shrunk to the transfers measured and fewer streamed ranges (sessions and
 * range size as the board's),
 * and their own tables' extra is added from the growing build.
 */
export async function boardLimitsFigure(tools: EspruinoTools, i386: string, board: BoardFile, bundle: Uint8Array, log: (l: string) => void): Promise<BoardLimitsFigure | RanOut | { error: string }> {
  const t0 = Date.now();
  const limits = tableLimits(board);
  const n = limits.maxSessions;
  const bytesPerVar = jsVarBytes(board.jsvars);
  const own = board.jsvars <= 4095;
  // Ranges to fit the interpreter: fewer than the sessions only make clients wait for theirs.
  const shrunkTo = own ? undefined : { maxDevices: n, maxJobs: n, keepFinishedJobs: 0, maxAlerts: n, streamRanges: Math.min(limits.streamRanges, SHRUNK_RANGES) };
  try {
    const run = await peakRun({ tools, binary: i386, board, bundle, log }, limitsOf(board), 'at once', { n, hubConfig: shrunkTo, imageBytes: SMALL_IMAGE_BYTES });
    let tables: BoardLimitsFigure['tables'];
    if (shrunkTo) {
      const big: Ctx = { tools, binary: tools.big, board, bundle, log };
      const boardHeld = await tablesHeld(big);
      const shrunkHeld = await tablesHeld(big, shrunkTo);
      const blocksize = blocksizeOf(tools.big);
      const bytes = (boardHeld - shrunkHeld) * blocksize;
      tables = { shrunkTo, growingTablesHeld: { boardLimits: boardHeld, shrunk: shrunkHeld, blocksize }, bytes, boardJsVars: Math.ceil(bytes / bytesPerVar) };
    }
    const peak = run.peak === null ? null : run.peak + (tables ? tables.boardJsVars : 0);
    return {
      jsvars: board.jsvars,
      jsVarBytes: bytesPerVar,
      limits,
      transfers: n,
      peak,
      percentOfJsVars: peak === null ? null : Math.round((peak / board.jsvars) * 1000) / 10,
      fits: peak !== null && peak <= PEAK_SHARE * board.jsvars && run.completed === n && !run.failure,
      run,
      ...(tables ? { tables } : {}),
      seconds: Math.round((Date.now() - t0) / 1000),
    };
  } catch (e) {
    return ranOut(e) ?? { error: `${board.name}: limits' cost: ${(e as Error).message}` };
  }
}
