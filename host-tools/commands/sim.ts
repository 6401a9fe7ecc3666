// `chub sim`: the HAN simulator on its own — a ZNP stick with PPMID/HCALCS OTA clients behind it — serving a
// serial port (a real hub board's radio UART through a USB-UART) or a fresh pseudo-terminal, in real time.
// `chub sim run scenario.yaml`: a whole scenario against the hub core on a virtual clock (docs/simulator.md).
import * as fs from 'fs';
import { Command } from 'commander';
import { interrupted } from '../interrupted';
import { hex, printJson } from '../format';
import { UsageError } from '../link/port-option';
import { DEFAULT_DEVICES } from '../sim/defaults';
import { parseDeviceSpec, parseNumber } from '../sim/device-spec';
import { SimDeviceConfig, startSimulator } from '../sim/han-simulator';
import { LinkSpec } from '../sim/radio-link';
import { SimDeviceState } from '../sim/ota-client';
import { HanCapture } from '../sim/pcap-writer';
import { formatReport } from '../sim/report-table';
import { loadScenario, ScenarioError } from '../sim/scenario';
import { runScenario } from '../sim/scenario-run';
import { timelineSvg } from '../sim/timeline-svg';

function collect(v: string, all: string[] | undefined): string[] {
  return [...(all ?? []), v];
}

function numberOption(name: string, v: string | undefined, max: number): number | undefined {
  if (v === undefined) return undefined;
  const n = parseNumber(v);
  if (n === null || n > max) throw new UsageError(`--${name}: want a number up to ${hex(max, 4)}, not "${v}"`);
  return n;
}

function fraction(name: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!(n >= min && n <= max)) throw new UsageError(`--${name}: want a number from ${min} to ${max}, not "${v}"`);
  return n;
}

/** One line per device state change. */
function deviceLine(s: SimDeviceState): string {
  const parts = [new Date().toISOString().slice(11, 23), s.type.padEnd(6), s.eui, s.state.padEnd(11), `v${hex(s.fileVersion, 8)}`];
  if (s.heldVersion !== undefined) parts.push(`held ${hex(s.heldVersion, 8)}`);
  if (s.size) parts.push(`${s.offset}/${s.size} B`);
  if (s.retries || s.waits) parts.push(`retries ${s.retries} waits ${s.waits}`);
  if (s.lastError && s.state === 'idle') parts.push(`(${s.lastError})`);
  return parts.join('  ');
}

/** Runs a scenario file; resolves when every expectation holds, throws (exit 1) when one fails. */
function runCommand(sim: Command): void {
  sim
    .command('run')
    .description('run a scenario file on a virtual clock against the hub core; exit 0 if every expectation holds, 1 if one fails, 2 for a bad file')
    .argument('<scenario>', 'scenario file (YAML; see docs/simulator.md and host-tools/sim/scenarios/)')
    .option('--pcap <file>', 'write every HAN frame to a pcap file (IEEE 802.15.4, for Wireshark/tshark)')
    .option('--timeline <file>', 'draw each device\'s download over time, with retries and waits, as SVG')
    .option('--seed <n>', "replace the scenario's random seed")
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  $ chub sim run host-tools/sim/scenarios/fifty-devices.yaml\n  $ chub sim run lossy.yaml --seed 7 --pcap han.pcap --timeline han.svg')
    .action((file: string, opts) => {
      const seed = numberOption('seed', opts.seed, 0xffffffff);
      let out;
      try {
        out = runScenario(loadScenario(file), { seed, capture: Boolean(opts.pcap) });
      } catch (e) {
        if (e instanceof ScenarioError) throw new UsageError(e.message);
        throw e;
      }
      if (opts.pcap) fs.writeFileSync(opts.pcap, out.pcap as Buffer);
      if (opts.timeline) fs.writeFileSync(opts.timeline, timelineSvg(out.timeline));
      if (opts.json) printJson({ report: out.report, speed: out.speed });
      else console.log(formatReport(out.report, out.speed));
      if (!out.report.ok) throw new Error(`${file}: ${out.report.expectations.filter((e) => !e.ok).length} expectation(s) failed`);
    });
}

export function register(program: Command): void {
  const sim = program
    .command('sim')
    .description('simulate a ZNP stick and its HAN devices (PPMID, HCALCS OTA clients) on a serial port or a new pty, until Ctrl-C')
    .option('-p, --port <path>', 'serve this serial port or pty (default: create a pty pair and print the end the hub should open)')
    .option('-d, --device <type:eui[:hw=N][:version=N]>', 'a simulated device (repeatable; default PPMID:000D6F0000000001 and HCALCS:000D6F0000000002)', collect)
    .option('--manufacturer <code>', 'manufacturer code of every device (default 0x1234)')
    .option('--image-type <type>', 'OTA image type of every device (default 0x0001)')
    .option('--time-scale <x>', 'every simulated delay × x (0.05 runs 20 times faster)', '1')
    .option('--loss <rate>', 'chance that one radio transmission attempt is lost (MAC retries follow)', '0')
    .option('--seed <n>', 'random seed: the same seed replays the same losses and jitter', '1')
    .option('--scenario <file>', "the devices, profiles, links and seed of a scenario file, in real time (its faults and expectations need `sim run`)")
    .option('--pcap <file>', 'capture every HAN frame to this pcap file (written when the simulator stops)')
    .option('--json', 'print {"radio": path} and then one JSON line per device state change')
    .addHelpText(
      'after',
      '\nExamples:\n  $ chub sim --json\n  $ chub sim --device PPMID:000D6F00000000A1:hw=3 --device HCALCS:000D6F00000000A2:version=0x10 --loss 0.05\n  $ chub sim --port /dev/ttyUSB1 --time-scale 1\n  $ chub sim --port /dev/ttyUSB1 --scenario host-tools/sim/scenarios/fifty-devices.yaml',
    )
    .action(async (opts, cmd: Command) => {
      const timeScale = Number(opts.timeScale);
      if (!(timeScale > 0)) throw new UsageError(`--time-scale: want a positive number, not "${opts.timeScale}"`);
      const given = (name: string) => cmd.getOptionValueSource(name) === 'cli';
      const lossRate = fraction('loss', opts.loss, 0, 1);
      let seed = numberOption('seed', opts.seed, 0xffffffff) as number;
      let devices: SimDeviceConfig[];
      let link: Partial<LinkSpec> | undefined;
      if (opts.scenario) {
        if (opts.device || opts.manufacturer || opts.imageType) throw new UsageError('--scenario names the devices: drop --device, --manufacturer and --image-type');
        let s;
        try {
          s = loadScenario(opts.scenario);
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        ({ devices, link } = s);
        if (!given('seed')) seed = s.seed;
        if (s.faults.length || Object.keys(s.expect).length) console.error(`chub sim: ${opts.scenario}: faults and expectations are for \`chub sim run\`; serving its devices only`);
      } else {
        const defaults = { manufacturerCode: numberOption('manufacturer', opts.manufacturer, 0xffff), imageType: numberOption('image-type', opts.imageType, 0xffff) };
        const args: string[] = opts.device ?? DEFAULT_DEVICES.map((d) => `${d.type}:${d.eui}`);
        try {
          devices = args.map((a, i) => parseDeviceSpec(a, i, defaults));
        } catch (e) {
          throw new UsageError(`--device: ${(e as Error).message}`);
        }
      }
      const stop = interrupted();
      // With a scenario, its links carry the loss unless --loss says otherwise.
      const started = await startSimulator({ devices, timeScale, lossRate: opts.scenario && !given('loss') ? undefined : lossRate, link, seed, port: opts.port });
      const capture = opts.pcap ? new HanCapture() : undefined; // the real scheduler's clock is already unix ms
      if (capture) started.sim.radio.observe((a) => capture.add(a));
      try {
        started.sim.on('device', (s) => (opts.json ? printJson({ device: s }) : console.log(deviceLine(s))));
        // A command the simulated stick does not answer (a coordinator program's, say): named, not a silent hang.
        started.sim.on('unsupported', (m: string) => console.error(`chub sim: ${m}`));
        if (opts.json) printJson({ radio: started.radioPath });
        else {
          console.log(`radio UART: ${started.radioPath}   (point the hub's radio port here; Ctrl-C stops)`);
          for (const d of devices) console.log(`  ${d.type.padEnd(6)} ${d.eui}  nwk ${hex(d.nwk, 4)}  v${hex(d.fileVersion, 8)}  hw ${hex(d.hardwareVersion, 4)}`);
        }
        await stop;
      } finally {
        await started.close();
        if (capture) fs.writeFileSync(opts.pcap, capture.file());
      }
    });
  runCommand(sim);
}
