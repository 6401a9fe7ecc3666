// `chub emulate`: the hub firmware core run by Node on a pseudo-terminal, with the built-in HAN
// simulator as its radio (or a real ZNP stick / `chub sim` on --radio). With --espruino the hub is the
// compiled bundle on the Linux Espruino interpreter instead, with its console on a pty of its own.
import { Command } from 'commander';
import { NodeHub } from '../../firmware/node/node-hub';
import { EspruinoHub, startEspruinoHub } from '../espruino/espruino-hub';
import { interrupted } from '../interrupted';
import { printJson } from '../format';
import { repeatable } from '../repeatable';
import { UsageError } from '../link/port-option';
import { openPtyPair, PtyPair } from '../serial/pty-pair';
import { DEFAULT_DEVICES } from '../sim/defaults';
import { parseDeviceSpec } from '../sim/device-spec';
import { startSimulator, StartedSimulator } from '../sim/han-simulator';
import { DEFAULT_CONFIG, HubConfig } from '../../firmware/core/hub';
import { BoardFileError, loadBoard } from '../boards/board-file';
import { hubConfigFor } from '../boards/hub-config';
import { SilenceMs } from '../../firmware/espruino/board-config';

/** --silence-timeout's seconds as the hub's silenceTimeoutMs, in the range a board file may give. */
function silenceTimeoutMs(arg: string): number {
  const s = Number(arg);
  if (!(s * 1000 >= SilenceMs.Min && s * 1000 <= SilenceMs.Max)) throw new UsageError(`--silence-timeout: want seconds from ${SilenceMs.Min / 1000} to ${SilenceMs.Max / 1000}, not "${arg}"`);
  return Math.round(s * 1000);
}

export function register(program: Command): void {
  program
    .command('emulate')
    .description('run an emulated hub on a pseudo-terminal (with a simulated HAN unless --radio is given) until Ctrl-C')
    .option('-r, --radio <port>', "the hub's radio UART: a ZNP stick (/dev/ttyUSB0) or the pty of `chub sim` (default: built-in simulator)")
    .option('-s, --state <dir>', 'keep images and hub state (with --espruino: the board\'s Storage) here across runs (default: a temp dir, removed on exit)')
    .option('--espruino', 'run dist/firmware/linux.js (with --console-on-link: linux-console.js; built if missing) on the Linux Espruino interpreter ($ESPRUINO_BIN or ../shared/tools/espruino/espruino), booted from Storage')
    .option('--small', 'with --espruino: use espruino-2500 (2500 JsVars, about a Puck.js)')
    .option('-b, --board <name>', "the Node hub with a board's limits and image mode (boards/<name>.json: transfers held at once, devices, chunk size; streamed boards refuse uploads), e.g. puckjs")
    .option('--console-on-link', "with --espruino: the REPL shares the host link's port, as on Puck.js; the hub borrows it and gives it back to `chub flash`")
    .option('--sim-device <type:eui[:hw=N][:version=N]>', 'a simulated device, as for chub sim --device (repeatable; default PPMID:000D6F0000000001 and HCALCS:000D6F0000000002)', repeatable, [])
    .option('--time-scale <x>', 'simulated radio and device delays × x (0.05 runs 20 times faster)', '1')
    .option('--silence-timeout <seconds>', `fail a transfer whose device has asked for nothing this long: alert 0x8F89, response code 3 (default: the board's, else ${DEFAULT_CONFIG.silenceTimeoutMs / 1000})`)
    .option('--json', 'print {"port": host link, "radio": radio port} as one JSON line (with --espruino also "console")')
    .addHelpText(
      'after',
      `\nA device that stops asking mid-transfer fails after the silence timeout: ${DEFAULT_CONFIG.silenceTimeoutMs / 1000} s unless a board file\n` +
        '(hub.silenceTimeoutMs), the board\'s chub.json (hubConfig.silenceTimeoutMs) or --silence-timeout says\n' +
        'otherwise. Keep it above the pauses clients may take (30 s when the hub is busy; a block period read as\n' +
        'seconds); shorten it to see failures sooner on a bench.\n' +
        '\nExamples:\n  $ chub emulate --json\n  $ chub emulate --espruino --small --json        # then: chub flash --board linux --port <console> --host-port <port>\n  $ chub emulate --sim-device PPMID:000D6F00000000A1 --time-scale 0.1\n  $ chub emulate --radio /dev/ttyUSB0 --state ~/.chub-hub\n  $ chub emulate --silence-timeout 30 --json',
    )
    .action(async (opts) => {
      const timeScale = Number(opts.timeScale);
      if (!(timeScale > 0)) throw new UsageError(`--time-scale: want a positive number, not "${opts.timeScale}"`);
      if (opts.radio && opts.simDevice.length) throw new UsageError('--sim-device needs the built-in simulator: drop --radio');
      if (opts.small && !opts.espruino) throw new UsageError('--small picks the Espruino interpreter: add --espruino');
      if (opts.board && opts.espruino) throw new UsageError('--board sets the Node hub\'s limits; --espruino runs the linux board\'s bundle: give one');
      const silence = opts.silenceTimeout === undefined ? undefined : silenceTimeoutMs(opts.silenceTimeout);
      let board: HubConfig | undefined;
      try {
        board = opts.board ? hubConfigFor(loadBoard(opts.board), DEFAULT_CONFIG.fw) : undefined;
      } catch (e) {
        if (e instanceof BoardFileError) throw new UsageError(`--board: ${e.message}`);
        throw e;
      }
      const config: Partial<HubConfig> = silence === undefined ? { ...board } : { ...board, silenceTimeoutMs: silence };
      const args: string[] = opts.simDevice.length ? opts.simDevice : DEFAULT_DEVICES.map((d) => `${d.type}:${d.eui}`);
      const specs = args.map((a, i) => {
        try {
          return parseDeviceSpec(a, i);
        } catch (e) {
          throw new UsageError(`--sim-device: ${(e as Error).message}`);
        }
      });
      let host: PtyPair | undefined;
      let sim: StartedSimulator | undefined;
      let hub: NodeHub | undefined;
      let esp: EspruinoHub | undefined;
      const stop = interrupted();
      try {
        if (!opts.radio) sim = await startSimulator({ devices: specs, timeScale });
        const radio: string = opts.radio ?? sim!.radioPath;
        const simulated = sim ? ` (simulated: ${specs.map((s) => `${s.type} ${s.eui}`).join(', ')}; time scale ${timeScale})` : '';
        if (opts.espruino) {
          // The board reads its hub settings from chub.json at boot.
          const chubJson = silence === undefined ? undefined : { hubConfig: { silenceTimeoutMs: silence } };
          esp = await startEspruinoHub({ radio, stateDir: opts.state, small: opts.small, board: opts.consoleOnLink ? 'linux-console' : 'linux', config: chubJson, log: (l) => console.error(l) });
          // With --console-on-link the REPL is reached through the host link's port, once the hub lends it.
          const consolePort = opts.consoleOnLink ? esp.port : esp.console;
          if (opts.json) printJson({ port: esp.port, radio, console: consolePort });
          else {
            console.log(`host link: ${esp.port}`);
            console.log(`radio:     ${radio}${simulated}`);
            console.log(`console:   ${consolePort}   (${esp.interpreter}; Storage in ${esp.stateDir})`);
            console.log(`use it:    export CHUB_PORT=${esp.port}   (Ctrl-C stops the board)`);
          }
          await stop;
          return;
        }
        host = await openPtyPair('host');
        hub = await NodeHub.open({ hostPort: host.a, radioPort: radio, stateDir: opts.state, config });
        if (opts.json) printJson({ port: host.b, radio });
        else {
          console.log(`host link: ${host.b}`);
          console.log(`radio:     ${radio}${simulated}`);
          console.log(`state:     ${hub.stateDir}`);
          if (board) console.log(`board:     ${board.board} (${board.mode} images; at most ${board.maxJobs} transfers at once, ${board.maxSessions} served)`);
          console.log(`silence:   a transfer fails after ${(config.silenceTimeoutMs ?? DEFAULT_CONFIG.silenceTimeoutMs) / 1000} s without a request`);
          console.log(`use it:    export CHUB_PORT=${host.b}   (Ctrl-C stops the hub)`);
        }
        await stop;
      } finally {
        esp?.close();
        await hub?.close();
        await sim?.close();
        host?.close();
      }
    });
}
