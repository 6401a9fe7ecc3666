// `chub flash`: writes a hub bundle to a board's Storage without starting it, has the board check its
// CRC-32, only then makes it .bootcde and restarts the board, and checks the hub then answers hello on its
// host link with the bundle's version. Over the running hub's own link where it can take it
// (hub-link-flash.ts: seconds); else with the `espruino` CLI on the console, which reads the CRC back and
// writes again until it matches (bounded), then copies and load()s.
import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { BoardFile, BoardFileError, loadBoard } from '../boards/board-file';
import { buildFirmware, fitsStorage, STATE_RESERVE_BYTES, takesFirmwareOverLink } from '../build/build-firmware';
import { stateRoomBytes } from '../boards/state-room';
import { runEspruinoCli, writeStorageFile } from '../espruino/espruino-cli';
import { flashOverLink, helloWithin, helloWithVersion, LinkFlash, NotOverLink } from '../espruino/hub-link-flash';
import { printJson } from '../format';
import { HubClient } from '../link/hub-client';
import { UsageError } from '../link/port-option';

/** The version a bundle carries (baked into its hub config as "fw"; the JSON is a string literal there). */
export function bundleVersion(source: string): string | undefined {
  const m = /\\?"fw\\?":\\?"([^"\\]+)\\?"/.exec(source);
  return m ? m[1] : undefined;
}

/** Where the hub's host link is: --host-port, else the console port when the board's host link is its console. */
function hostPortFor(board: BoardFile, consolePort: string | undefined, hostPort?: string): string {
  if (hostPort) return hostPort;
  if (board.console !== undefined && board.console === board.host.serial) {
    if (consolePort === undefined) throw new UsageError(`board ${board.name}'s host link is its console: pass --port <path>`);
    return consolePort;
  }
  throw new UsageError(`board ${board.name}'s host link is on ${board.host.serial}, not on its console (${board.console ?? 'stdin'}): pass --host-port <path>`);
}

/**
 * Where the bundle is written first. A failed or interrupted write must not leave a corrupt .bootcde (the
 * board would boot it at its next reset), so the bundle goes to this file, which nothing boots, and only
 * once it reads back intact is it copied to .bootcde, on the board, in one Storage write. That copy takes
 * milliseconds, not the upload's seconds, and it too is checked before the board restarts.
 */
export const STAGED_NAME = 'chub.bootnew';
/** Writes before giving up: a write that reads back wrong is written again. */
const WRITE_ATTEMPTS = 3;
/** Espruino Storage's per-file header (jsflash.h JsfFileHeader, 2v29), as build-firmware counts it. */
const FILE_HEADER = 32;

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

function tail(output: string): string {
  return output.trim().split('\n').slice(-3).join(' | ');
}

/**
 * Prints `expr` at the board's REPL (`-e`), again until it answers or `ms` pass: the emulated board's
 * watchdog restarts an interpreter that stopped reading its console, and the next try reaches the new one.
 */
async function ask(port: string, expr: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  let last = '';
  do {
    const r = await runEspruinoCli(port, ['-e', `print("CHUB_ANSWER="+(${expr}))`], Math.max(5000, until - Date.now()));
    // The answer printed on a line of its own: not the echo of the command (a quote follows its `=`), and not
    // an answer run together with other output (a console just restarted may do that): then ask again.
    const m = /CHUB_ANSWER=([^\s"]*)\r?\n/.exec(r.output);
    if (m) return m[1];
    last = `espruino CLI exit ${r.code}: ${tail(r.output)}`;
    await new Promise((r) => setTimeout(r, 500));
  } while (Date.now() < until);
  throw new Error(`the board on ${port} did not answer on its console within ${ms / 1000} s (${last})`);
}

/**
 * Run on the board right after the write: the CRC-32 of what `name` holds and, only when it is `want`,
 * the switch (a staged copy is copied to .bootcde and checked again, then erased) and load(), which boots
 * it. Prints CHUB_FLASH=<written>,<.bootcde> (-1: .bootcde not switched). One line, so the REPL runs it
 * whole. Storage is compacted before the copy when the free space at its end cannot take it: a compaction
 * during the copy would move the staged file while it is read. (The board runs nothing from Storage then:
 * the CLI reset() it before writing.)
 */
function checkThenBoot(name: string, want: number, bytes: number): string {
  const n = JSON.stringify(name);
  const copy = `if(S.getStats().freeBytes<${bytes + 2 * FILE_HEADER})S.compact();S.write(".bootcde",S.read(${n}));`;
  const swap = name === '.bootcde' ? 'if(s==w)b=s;' : `if(s==w){${copy}b=E.CRC32(S.read(".bootcde"))>>>0;if(b==w)S.erase(${n});}`;
  return `(function(){var S=require("Storage"),w=${want},s=E.CRC32(S.read(${n})||"")>>>0,b=-1;${swap}print("CHUB_FLASH="+s+","+b);if(b==w)load();})()`;
}

/** Asks the hub on `port` to hand its port to the REPL; false when no hub answered. */
async function askForConsole(port: string): Promise<boolean> {
  let hub: HubClient;
  try {
    hub = await HubClient.open(port, 2000);
  } catch {
    return false;
  }
  try {
    await hub.request('console', {}, 2000);
    return true;
  } catch {
    return false;
  } finally {
    await hub.close();
  }
}

/** --via: `auto` goes over the hub's link when a hub there can take it, else the espruino CLI writes it. */
const VIA = ['auto', 'link', 'cli'];
/** How long `auto` waits for a hello before it takes the console path (a board running no hub, or none yet). */
const LINK_HELLO_MS = 2000;

/** The espruino CLI path: how many writes it took and whether the bundle was staged beside .bootcde. */
interface CliFlash {
  writes: number;
  staged: boolean;
  /** Bytes free in Storage, erased files included, before the write. */
  free: number;
  /** Writes that read back wrong, and why. */
  failed: string[];
}

/**
 * Writes the bundle with the espruino CLI on `consolePort` (a hub on a shared port lends it first), checked
 * on the board and copied to .bootcde there; the board restarts with load(). Throws, saying which step
 * failed, after WRITE_ATTEMPTS writes that did not read back intact.
 */
async function writeWithCli(o: { consolePort: string; hostPort: string; bundle: string; bytes: number; want: number; timeoutS: number }): Promise<CliFlash> {
  const consoleMs = Math.min(o.timeoutS, 60) * 1000;
  // A hub on the console's own port is asked to lend it to the REPL; one that cannot be asked (none
  // running, or not answering) gets the CLI's two Ctrl-Cs, which it takes as a break.
  const shared = path.resolve(o.hostPort) === path.resolve(o.consolePort);
  if (shared) await askForConsole(o.hostPort);
  // Staged where Storage has room for both copies once compacted (erased files count: each flash
  // leaves two), with the hub's state reserve to spare. Small boards have room for one (a 23 KB bundle
  // twice is more than a Puck.js's 40 KB): .bootcde is written itself there, and the board is not
  // restarted until it reads back intact, but a flash cut short leaves it corrupt.
  const answer = await ask(o.consolePort, '(function(t){return t.freeBytes+t.trashBytes})(require("Storage").getStats())', consoleMs);
  const free = Number(answer);
  if (!(free >= 0)) throw new Error(`the board on ${o.consolePort} answered "${answer}" for the free bytes in its Storage: is it an Espruino board?`);
  const staged = free >= 2 * (o.bytes + FILE_HEADER) + STATE_RESERVE_BYTES;
  const target = staged ? STAGED_NAME : '.bootcde';
  const failed: string[] = [];
  // Whether .bootcde is as it was before: only while every failure was a staged copy that read back wrong.
  let bootUntouched = staged;
  for (;;) {
    const r = await writeStorageFile({ port: o.consolePort, bundle: o.bundle, name: target, then: checkThenBoot(target, o.want, o.bytes), timeoutMs: o.timeoutS * 1000 });
    const m = /CHUB_FLASH=(\d+),(-?\d+)/.exec(r.output);
    if (m && Number(m[2]) === o.want) return { writes: failed.length + 1, staged, free, failed };
    if (m && Number(m[1]) !== o.want) failed.push(`${target} read back with CRC ${hex(Number(m[1]))}`);
    else {
      bootUntouched = false;
      failed.push(m ? `.bootcde read back with CRC ${hex(Number(m[2]))} after the copy` : `no check printed (espruino CLI exit ${r.code}: ${tail(r.output)})`);
    }
    if (failed.length === WRITE_ATTEMPTS) {
      const why = `${o.bundle} did not reach ${o.consolePort} intact in ${WRITE_ATTEMPTS} writes (want CRC ${hex(o.want)}): ${failed.join('; ')}`;
      if (!bootUntouched) throw new Error(`${why}. .bootcde may not be intact and the board was not restarted: flash it again before it resets`);
      // .bootcde was never touched: drop the bad copy and boot the firmware .bootcde holds again, so the
      // board is back in service. load() from a timer: the espruino CLI (0.1.67) never returns from a
      // command that ends in load().
      const back = await runEspruinoCli(o.consolePort, ['-e', `require("Storage").erase(${JSON.stringify(STAGED_NAME)});setTimeout(load,10)`], consoleMs);
      throw new Error(`${why}. .bootcde was not touched: the board boots the firmware it had${back.code === 0 ? ' (load() sent to restart it)' : `, once reset (load() failed: ${tail(back.output)})`}`);
    }
    // The write reset the board; a check that printed nothing may still have booted the hub.
    if (shared) await askForConsole(o.hostPort);
  }
}

/**
 * Over the hub's own link, when a hub answers hello on `hostPort` and can take it: the result, or why the
 * espruino CLI must write it instead (`via` auto; with `link` that is an error). A progress bar on stderr
 * unless `quiet`.
 */
async function overLink(o: { hostPort: string; source: string; via: string; timeoutS: number; quiet: boolean }): Promise<LinkFlash | string> {
  let hub: HubClient;
  try {
    hub = await HubClient.open(o.hostPort, LINK_HELLO_MS);
  } catch (e) {
    if (o.via === 'link') throw new Error(`--via link: no hub answered hello on ${o.hostPort}: ${(e as Error).message}`);
    return `no hub answered hello on ${o.hostPort}`;
  }
  const bar = o.quiet ? undefined : new SingleBar({ format: `over the hub's link [{bar}] {percentage}% {value}/{total} B`, stream: process.stderr });
  try {
    return await flashOverLink(hub, Buffer.from(o.source, 'latin1'), o.timeoutS * 1000, (done, total) => {
      if (bar && !bar.isActive) bar.start(total, done);
      bar?.update(done);
    });
  } catch (e) {
    if (e instanceof NotOverLink && o.via === 'auto') return e.message;
    throw e;
  } finally {
    bar?.stop();
  }
}

export function register(program: Command): void {
  program
    .command('flash')
    .description(
      "write the hub firmware to an Espruino board and restart it on it, checked before the switch: over the running hub's own link where it can take it " +
        "(beside the running firmware, CRC per frame and whole), else with the espruino CLI on the console (read back, written again up to 3 times); then check the hub answers with the new version",
    )
    .requiredOption('-b, --board <name>', 'board file (boards/<name>.json): picks the bundle and the host link')
    .option('-p, --port <path>', "the board's console port (USB serial, or `chub emulate --espruino`'s console pty); not needed with --via link")
    .option('--host-port <path>', "the hub's host-link port: the update goes over it, and the new hub answers hello there (default: --port, for boards whose host link is the console)")
    .option('--via <path>', 'auto: over the hub\'s link when a hub there can take it, else the espruino CLI; link: only over the link; cli: only the espruino CLI', 'auto')
    .option('--bundle <file>', 'flash this bundle instead of building dist/firmware/<board>.js')
    .option('--timeout <s>', 'seconds for writing and for the hub to answer afterwards', '600')
    .option(
      '--json',
      'print {"board","bundle","bytes","version","hostPort","seconds","via","writes","staged"} as one JSON line (via: link or cli; writes: whole writes it took; staged: checked under ' +
        STAGED_NAME +
        ' before it became .bootcde, else written as .bootcde itself, for lack of room; over the link also resumedFrom, sent and compacted; cliBecause: why auto took the CLI)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ chub flash --board esp32 --port /dev/ttyUSB0 --host-port /dev/ttyUSB1\n' +
        '  $ chub flash --board esp32 --host-port /dev/ttyUSB1 --via link\n' +
        '  $ chub emulate --espruino --json &   # prints port and console\n' +
        '  $ chub flash --board linux --port /tmp/chub-…/console-… --host-port /tmp/chub-…/host-…-b --bundle dist/firmware/linux.js',
    )
    .action(async (opts) => {
      const timeoutS = Number(opts.timeout);
      if (!(timeoutS > 0)) throw new UsageError(`--timeout: want a positive number of seconds, not "${opts.timeout}"`);
      const via: string = opts.via;
      if (!VIA.includes(via)) throw new UsageError(`--via: want auto, link or cli, not "${via}"`);
      if (opts.port === undefined && via !== 'link') throw new UsageError("--port <path>: the board's console is needed unless --via link");
      let board: BoardFile;
      try {
        board = loadBoard(opts.board);
      } catch (e) {
        if (e instanceof BoardFileError) throw new UsageError(`--board: ${e.message}`);
        throw e;
      }
      const hostPort = hostPortFor(board, opts.port, opts.hostPort);
      if (via !== 'link' && !fs.existsSync(opts.port)) throw new Error(`console port ${opts.port} does not exist (is the board plugged in / chub emulate --espruino running?)`);
      let bundle: string = opts.bundle;
      if (bundle === undefined) bundle = (await buildFirmware({ board: board.name, log: (l) => console.error(l) })).outFile;
      else if (!fs.existsSync(bundle)) throw new UsageError(`--bundle: ${bundle} does not exist`);
      const source = fs.readFileSync(bundle, 'latin1');
      const version = bundleVersion(source);
      if (!version) throw new Error(`${bundle} carries no hub version ("fw"): is it a chub bundle (make firmware BOARD=${board.name})?`);
      if (!fitsStorage(board, source.length))
        throw new Error(`${bundle} is ${source.length} bytes: with ${stateRoomBytes(board)} bytes for the hub's state files (its limits' tables) it does not fit ${board.name}'s ${board.storageBytes} bytes of Storage`);

      const started = Date.now();
      const want = zlib.crc32(Buffer.from(source, 'latin1')) >>> 0;
      const waitMs = Math.min(timeoutS, 60) * 1000;
      // A board built without the update (no room for two copies) is not asked: its hub would refuse.
      const link =
        via === 'cli' ? 'chose --via cli' : via === 'auto' && !takesFirmwareOverLink(board) ? `board ${board.name}'s Storage has no room for two copies` : await overLink({ hostPort, source, via, timeoutS, quiet: opts.json === true });
      let result: { via: string; writes: number; staged: boolean } & Partial<LinkFlash> & { cliBecause?: string };
      let notes: string[] = [];
      if (typeof link !== 'string') {
        try {
          await helloWithVersion(hostPort, version, waitMs);
        } catch (e) {
          throw new Error(`${bundle} was written over the hub's link to ${hostPort} and passed its CRC check (${hex(want)}), but ${(e as Error).message}`);
        }
        result = { via: 'link', staged: true, ...link };
        if (link.resumedFrom > 0) notes.push(`resumed at byte ${link.resumedFrom} of ${source.length}`);
        if (link.compacted) notes.push('the hub compacted its Storage and restarted first, to make room');
        if (link.writes > 1) notes.push(`written ${link.writes} times: a copy failed the hub's whole-file CRC check`);
      } else {
        const cli = await writeWithCli({ consolePort: opts.port, hostPort, bundle, bytes: source.length, want, timeoutS });
        let hub: HubClient;
        try {
          hub = await helloWithin(hostPort, waitMs);
        } catch (e) {
          throw new Error(`${bundle} was written to ${opts.port} and read back intact (CRC ${hex(want)}), and the board restarted, but ${(e as Error).message}`);
        }
        const info = hub.info;
        await hub.close();
        if (info.fw !== version) throw new Error(`flashed ${bundle} (version ${version}) but the hub on ${hostPort} reports ${info.fw} (board ${info.board})`);
        result = { via: 'cli', writes: cli.writes, staged: cli.staged, ...(via === 'auto' ? { cliBecause: link } : {}) };
        if (cli.failed.length) notes.push(`written again after: ${cli.failed.join('; ')}`);
        if (!cli.staged) notes.push(`${cli.free} bytes free in Storage (with erased files) is room for one copy: .bootcde was written in place, checked before the restart`);
        if (via === 'auto') notes = [`with the espruino CLI: ${link}`, ...notes];
      }
      const seconds = (Date.now() - started) / 1000;
      if (opts.json) printJson({ board: board.name, bundle: path.resolve(bundle), bytes: source.length, version, hostPort, seconds, ...result });
      else {
        for (const n of notes) console.log(`note: ${n}`);
        const how = result.via === 'link' ? "over the hub's link" : `with the espruino CLI on ${opts.port}`;
        console.log(`flashed ${board.name}: ${path.relative(process.cwd(), bundle) || bundle} (${source.length} B, version ${version}) ${how} in ${seconds.toFixed(1)} s; the hub answers on ${hostPort}`);
      }
    });
}
