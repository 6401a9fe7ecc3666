// `chub flash`: writes a hub bundle to a board's Storage with the `espruino` CLI, without starting it,
// reads its CRC-32 back on the board and writes again until it matches (bounded), only then makes it
// .bootcde and restarts the board (load()), and checks the hub then answers hello on its host link with
// the bundle's version.
import { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { BoardFile, BoardFileError, loadBoard } from '../boards/board-file';
import { buildFirmware, fitsStorage, STATE_RESERVE_BYTES } from '../build/build-firmware';
import { runEspruinoCli, writeStorageFile } from '../espruino/espruino-cli';
import { printJson } from '../format';
import { HubClient } from '../link/hub-client';
import { UsageError } from '../link/port-option';

/** The version a bundle carries (baked into its hub config as "fw"; the JSON is a string literal there). */
export function bundleVersion(source: string): string | undefined {
  const m = /\\?"fw\\?":\\?"([^"\\]+)\\?"/.exec(source);
  return m ? m[1] : undefined;
}

/** Where the hub's host link is: --host-port, else the console port when the board's host link is its console. */
function hostPortFor(board: BoardFile, consolePort: string, hostPort?: string): string {
  if (hostPort) return hostPort;
  if (board.console !== undefined && board.console === board.host.serial) return consolePort;
  throw new UsageError(`board ${board.name}'s host link is on ${board.host.serial}, not on its console (${board.console ?? 'stdin'}): pass --host-port <path>`);
}

/** Opens the host link until the hub answers hello (it is booting), or gives up after `ms`. */
async function helloWithin(port: string, ms: number): Promise<HubClient> {
  const until = Date.now() + ms;
  let last: Error = new Error('no attempt');
  while (Date.now() < until) {
    try {
      return await HubClient.open(port, Math.min(3000, Math.max(500, until - Date.now())));
    } catch (e) {
      last = e as Error;
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  throw new Error(`the hub did not answer hello on ${port} within ${ms} ms after flashing: ${last.message}`);
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
    const m = /CHUB_ANSWER=(\S*)/.exec(r.output);
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

export function register(program: Command): void {
  program
    .command('flash')
    .description("write the hub firmware to an Espruino board's Storage with the espruino CLI, check it reads back intact (writing again up to 3 times), make it .bootcde, restart the board, and check it answers with the new version")
    .requiredOption('-b, --board <name>', 'board file (boards/<name>.json): picks the bundle and the host link')
    .requiredOption('-p, --port <path>', "the board's console port (USB serial, or `chub emulate --espruino`'s console pty)")
    .option('--host-port <path>', "the hub's host-link port, to check hello (default: --port, for boards whose host link is the console)")
    .option('--bundle <file>', 'flash this bundle instead of building dist/firmware/<board>.js')
    .option('--timeout <s>', 'seconds for writing and for the hub to answer afterwards', '600')
    .option('--json', 'print {"board","bundle","bytes","version","hostPort","seconds","writes","staged"} as one JSON line (writes: uploads it took; staged: checked under ' + STAGED_NAME + ' before it became .bootcde, else written as .bootcde itself, for lack of room)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ chub flash --board esp32 --port /dev/ttyUSB0 --host-port /dev/ttyUSB1\n' +
        '  $ chub emulate --espruino --json &   # prints port and console\n' +
        '  $ chub flash --board linux --port /tmp/chub-…/console-… --host-port /tmp/chub-…/host-…-b --bundle dist/firmware/linux.js',
    )
    .action(async (opts) => {
      const timeoutS = Number(opts.timeout);
      if (!(timeoutS > 0)) throw new UsageError(`--timeout: want a positive number of seconds, not "${opts.timeout}"`);
      let board: BoardFile;
      try {
        board = loadBoard(opts.board);
      } catch (e) {
        if (e instanceof BoardFileError) throw new UsageError(`--board: ${e.message}`);
        throw e;
      }
      const hostPort = hostPortFor(board, opts.port, opts.hostPort);
      if (!fs.existsSync(opts.port)) throw new Error(`console port ${opts.port} does not exist (is the board plugged in / chub emulate --espruino running?)`);
      let bundle: string = opts.bundle;
      if (bundle === undefined) bundle = (await buildFirmware({ board: board.name, log: (l) => console.error(l) })).outFile;
      else if (!fs.existsSync(bundle)) throw new UsageError(`--bundle: ${bundle} does not exist`);
      const source = fs.readFileSync(bundle, 'latin1');
      const version = bundleVersion(source);
      if (!version) throw new Error(`${bundle} carries no hub version ("fw"): is it a chub bundle (make firmware BOARD=${board.name})?`);
      if (!fitsStorage(board, source.length))
        throw new Error(`${bundle} is ${source.length} bytes: with ${STATE_RESERVE_BYTES} bytes for the hub's state it does not fit ${board.name}'s ${board.storageBytes} bytes of Storage`);

      const started = Date.now();
      const want = zlib.crc32(Buffer.from(source, 'latin1')) >>> 0;
      const consoleMs = Math.min(timeoutS, 60) * 1000;
      // A hub on the console's own port is asked to lend it to the REPL; one that cannot be asked (none
      // running, or not answering) gets the CLI's two Ctrl-Cs, which it takes as a break.
      const shared = path.resolve(hostPort) === path.resolve(opts.port);
      if (shared) await askForConsole(hostPort);
      // Staged where Storage has room for both copies once compacted (erased files count: each flash
      // leaves two), with the hub's state reserve to spare. Small boards have room for one (a 23 KB bundle
      // twice is more than a Puck.js's 40 KB): .bootcde is written itself there, and the board is not
      // restarted until it reads back intact, but a flash cut short leaves it corrupt.
      const answer = await ask(opts.port, '(function(t){return t.freeBytes+t.trashBytes})(require("Storage").getStats())', consoleMs);
      const free = Number(answer);
      if (!(free >= 0)) throw new Error(`the board on ${opts.port} answered "${answer}" for the free bytes in its Storage: is it an Espruino board?`);
      const staged = free >= 2 * (source.length + FILE_HEADER) + STATE_RESERVE_BYTES;
      const target = staged ? STAGED_NAME : '.bootcde';
      const failed: string[] = [];
      // Whether .bootcde is as it was before: only while every failure was a staged copy that read back wrong.
      let bootUntouched = staged;
      for (;;) {
        const r = await writeStorageFile({ port: opts.port, bundle, name: target, then: checkThenBoot(target, want, source.length), timeoutMs: timeoutS * 1000 });
        const m = /CHUB_FLASH=(\d+),(-?\d+)/.exec(r.output);
        if (m && Number(m[2]) === want) break;
        if (m && Number(m[1]) !== want) failed.push(`${target} read back with CRC ${hex(Number(m[1]))}`);
        else {
          bootUntouched = false;
          failed.push(m ? `.bootcde read back with CRC ${hex(Number(m[2]))} after the copy` : `no check printed (espruino CLI exit ${r.code}: ${tail(r.output)})`);
        }
        if (failed.length === WRITE_ATTEMPTS) {
          const why = `${bundle} did not reach ${opts.port} intact in ${WRITE_ATTEMPTS} writes (want CRC ${hex(want)}): ${failed.join('; ')}`;
          if (!bootUntouched) throw new Error(`${why}. .bootcde may not be intact and the board was not restarted: flash it again before it resets`);
          // .bootcde was never touched: drop the bad copy and boot the firmware .bootcde holds again, so the
          // board is back in service. load() from a timer: the espruino CLI (0.1.67) never returns from a
          // command that ends in load().
          const back = await runEspruinoCli(opts.port, ['-e', `require("Storage").erase(${JSON.stringify(STAGED_NAME)});setTimeout(load,10)`], consoleMs);
          throw new Error(`${why}. .bootcde was not touched: the board boots the firmware it had${back.code === 0 ? ' (load() sent to restart it)' : `, once reset (load() failed: ${tail(back.output)})`}`);
        }
        // The write reset the board; a check that printed nothing may still have booted the hub.
        if (shared) await askForConsole(hostPort);
      }
      let hub: HubClient;
      try {
        hub = await helloWithin(hostPort, consoleMs);
      } catch (e) {
        throw new Error(`${bundle} was written to ${opts.port} and read back intact (CRC ${hex(want)}), and the board restarted, but ${(e as Error).message}`);
      }
      const info = hub.info;
      await hub.close();
      if (info.fw !== version) throw new Error(`flashed ${bundle} (version ${version}) but the hub on ${hostPort} reports ${info.fw} (board ${info.board})`);
      const seconds = (Date.now() - started) / 1000;
      const writes = failed.length + 1;
      if (opts.json) printJson({ board: board.name, bundle: path.resolve(bundle), bytes: source.length, version, hostPort, seconds, writes, staged });
      else {
        if (failed.length) console.log(`note: written again after: ${failed.join('; ')}`);
        if (!staged) console.log(`note: ${free} bytes free in Storage (with erased files) is room for one copy: .bootcde was written in place, checked before the restart`);
        console.log(`flashed ${board.name}: ${path.relative(process.cwd(), bundle) || bundle} (${source.length} B, version ${version}) in ${seconds.toFixed(1)} s; the hub answers on ${hostPort}`);
      }
    });
}
