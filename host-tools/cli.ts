// `chub`: the bench engineer's command line. Each command lives in ./commands and registers itself.
// Exit codes: 0 ok, 1 the operation failed, 2 the command line was wrong.
import { Command, CommanderError } from 'commander';
import { UsageError } from './link/port-option';
import { HubError } from './link/hub-client';
import * as activate from './commands/activate';
import * as alerts from './commands/alerts';
import * as campaign from './commands/campaign';
import * as devices from './commands/devices';
import * as distribute from './commands/distribute';
import * as emulate from './commands/emulate';
import * as flash from './commands/flash';
import * as fleet from './commands/fleet';
import * as image from './commands/image';
import * as images from './commands/images';
import * as jobs from './commands/jobs';
import * as monitor from './commands/monitor';
import * as sim from './commands/sim';
import * as status from './commands/status';
import * as upload from './commands/upload';
import * as version from './commands/version';

export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 };

export function buildProgram(): Command {
  const program = new Command('chub')
    .description('Comms Hub bench tools: OTA images, emulated hub, HAN simulator, firmware distribution to PPMID/HCALCS')
    .showHelpAfterError('(add --help for usage)')
    // Subcommands inherit these when created, so they must come before the modules register.
    .exitOverride()
    // Options after a subcommand are the subcommand's: `sim run x.yaml --json` is run's --json, not sim's.
    .enablePositionalOptions();
  for (const m of [image, emulate, flash, sim, devices, upload, images, distribute, jobs, monitor, status, alerts, activate, version, fleet, campaign]) m.register(program);
  program.addHelpText(
    'after',
    '\nExample session:\n  $ chub emulate &            # prints the host link port\n  $ export CHUB_PORT=/tmp/chub-…/host-…\n  $ chub devices add 000D6F0000000001 --type PPMID\n  $ chub upload fw.ota && chub distribute --image fw.ota --device 000D6F0000000001 --wait',
  );
  return program;
}

/** Runs `chub` with these arguments (without node and script); resolves with the exit code. */
export async function run(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE; // commander printed why
    if (e instanceof UsageError) {
      console.error(`chub: ${e.message}`);
      return EXIT.USAGE;
    }
    const code = e instanceof HubError ? ` [${e.code}]` : '';
    console.error(`chub: ${(e as Error).message}${code}`);
    return EXIT.FAILED;
  }
}

/** The process entry (bin/chub). */
export function main(argv: string[]): void {
  run(argv).then((code) => {
    // Leave the loop to drain (ports closing) rather than exiting at once.
    process.exitCode = code;
  });
}

if (require.main === module) main(process.argv.slice(2));
