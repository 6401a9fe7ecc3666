// `chub flash`: writes a hub bundle to a board's Storage as .bootcde with the `espruino` CLI, restarts
// the board (load()), and checks the hub then answers hello on its host link with the bundle's version.
import { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { BoardFile, BoardFileError, loadBoard } from '../boards/board-file';
import { buildFirmware, fitsStorage, STATE_RESERVE_BYTES } from '../build/build-firmware';
import { runEspruinoCli, writeBootCode } from '../espruino/espruino-cli';
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

/** CRC-32 of the board's .bootcde as the board computes it, or undefined when it cannot be read. */
async function storedBootCrc(port: string, timeoutMs: number): Promise<number | undefined> {
  const r = await runEspruinoCli(port, ['-e', 'print("CHUB_CRC="+E.CRC32(require("Storage").read(".bootcde")))'], timeoutMs);
  const m = /CHUB_CRC=(-?\d+)/.exec(r.output);
  return m ? Number(m[1]) >>> 0 : undefined;
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
    .description("write the hub firmware to an Espruino board's Storage (.bootcde) with the espruino CLI, restart it, and check it answers with the new version")
    .requiredOption('-b, --board <name>', 'board file (boards/<name>.json): picks the bundle and the host link')
    .requiredOption('-p, --port <path>', "the board's console port (USB serial, or `chub emulate --espruino`'s console pty)")
    .option('--host-port <path>', "the hub's host-link port, to check hello (default: --port, for boards whose host link is the console)")
    .option('--bundle <file>', 'flash this bundle instead of building dist/firmware/<board>.js')
    .option('--timeout <s>', 'seconds for writing and for the hub to answer afterwards', '600')
    .option('--json', 'print {"board","bundle","bytes","version","hostPort","seconds"} as one JSON line')
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
      // A hub on the console's own port is asked to lend it to the REPL; one that cannot be asked (none
      // running, or not answering) gets the CLI's two Ctrl-Cs, which it takes as a break.
      if (path.resolve(hostPort) === path.resolve(opts.port)) await askForConsole(hostPort);
      const write = async () => {
        const written = await writeBootCode({ port: opts.port, bundle, then: 'load()', timeoutMs: timeoutS * 1000 });
        if (written.code !== 0 || !/Upload Complete/.test(written.output)) {
          const tail = written.output.trim().split('\n').slice(-5).join('\n');
          throw new Error(`the espruino CLI could not write .bootcde to ${opts.port} (exit ${written.code}):\n${tail}`);
        }
      };
      await write();
      const helloMs = Math.min(timeoutS, 60) * 1000;
      let hub: HubClient;
      let retried: string | undefined;
      try {
        hub = await helloWithin(hostPort, helloMs);
      } catch (e) {
        // Silent after the write: read back what Storage holds. A bad copy is written again; a good one is
        // started again (the board may have missed load()). Either way the user is told which.
        const crc = await storedBootCrc(opts.port, timeoutS * 1000);
        const want = zlib.crc32(Buffer.from(source, 'latin1')) >>> 0;
        retried = crc === want ? 'restarted (the hub was silent; .bootcde read back intact)' : `rewritten (.bootcde read back ${crc === undefined ? 'unreadable' : 'with CRC ' + crc.toString(16)}, want ${want.toString(16)})`;
        if (crc === want) await runEspruinoCli(opts.port, ['-e', 'load()'], timeoutS * 1000);
        else await write();
        try {
          hub = await helloWithin(hostPort, helloMs);
        } catch (again) {
          throw new Error(`${(e as Error).message}; flashing again: ${retried}, and still: ${(again as Error).message}`);
        }
      }
      const info = hub.info;
      await hub.close();
      if (info.fw !== version) throw new Error(`flashed ${bundle} (version ${version}) but the hub on ${hostPort} reports ${info.fw} (board ${info.board})`);
      const seconds = (Date.now() - started) / 1000;
      if (opts.json) printJson({ board: board.name, bundle: path.resolve(bundle), bytes: source.length, version, hostPort, seconds, ...(retried ? { retried } : {}) });
      else {
        if (retried) console.log(`note: the hub did not answer at first; .bootcde was ${retried}`);
        console.log(`flashed ${board.name}: ${path.relative(process.cwd(), bundle) || bundle} (${source.length} B, version ${version}) in ${seconds.toFixed(1)} s; the hub answers on ${hostPort}`);
      }
    });
}
