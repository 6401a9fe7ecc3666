// How long `chub flash` takes on the emulated Espruino board (`chub emulate --espruino`, the linux bundle),
// each line through a 115200-baud relay, as a board's USB-UART: over the running hub's own link (fw.begin /
// fw.data / fw.end) and with the espruino CLI on the console (one Storage.write line at a time, each
// followed by the CLI's fixed pause). `seconds` is what `chub flash --json` reports: from after the build
// to the new hub's hello. The link run is also timed in parts, in-process: the transfer (fw.begin to fw.end's
// reply) and the restart (to a hello with the new version); `compactCore16k` is that run less the time its
// bytes past 16 KB took at the measured rate: issue 14's target is a bundle of the compact core's size
// (<= 16 KB) in <= 5 s.
// `make bench` (bench/run.ts) includes it; run alone, it rebuilds the linux bundle first (log on stderr).
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { buildFirmware } from '../host-tools/build/build-firmware';
import { boardBundle } from '../host-tools/espruino/espruino-hub';
import { flashOverLink, helloWithVersion } from '../host-tools/espruino/hub-link-flash';
import { findInterpreter } from '../host-tools/espruino/linux-interpreter';
import { HubClient } from '../host-tools/link/hub-client';
import { openRateLimitedRelay } from '../host-tools/serial/rate-limited-relay';
import { CHUB, startEmulate } from '../test/helpers/chub-emulate';

const BAUD = 115200;
const COMPACT_CORE_BYTES = 16 * 1024;
const TARGET_SECONDS = 5;
const FLASH_TIMEOUT_MS = 10 * 60 * 1000;

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;

/** The linux bundle with another version (as long as "0.1.0": a pretokenised string carries its length). */
function versioned(dir: string, bundle: string, version: string): string {
  const file = path.join(dir, `linux-${version}.js`);
  fs.writeFileSync(file, fs.readFileSync(bundle, 'latin1').split('0.1.0').join(version), 'latin1');
  return file;
}

/** `chub flash --json` as a user runs it; its result. */
function chubFlash(args: string[]): Promise<{ seconds: number; via: string; writes: number }> {
  return new Promise((resolve, reject) => {
    execFile(CHUB, ['flash', '--board', 'linux', '--json', ...args], { timeout: FLASH_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`chub flash ${args.join(' ')} failed: ${stderr.trim() || err.message}`));
      resolve(JSON.parse(stdout));
    });
  });
}

/** The link path in parts, through a relay in front of the host link. */
async function linkParts(hostPort: string, bundle: string, version: string) {
  const relay = await openRateLimitedRelay(hostPort, BAUD);
  try {
    const bytes = fs.readFileSync(bundle);
    const t0 = performance.now();
    const hub = await HubClient.open(relay.path);
    const r = await flashOverLink(hub, bytes, FLASH_TIMEOUT_MS);
    const t1 = performance.now();
    await helloWithVersion(relay.path, version, 60000);
    const t2 = performance.now();
    const transfer = (t1 - t0) / 1000;
    const payloadBps = bytes.length / transfer;
    const seconds = (t2 - t0) / 1000;
    return {
      bytes: bytes.length,
      seconds: round(seconds),
      transferSeconds: round(transfer),
      restartSeconds: round((t2 - t1) / 1000),
      payloadBps: Math.round(payloadBps),
      sent: r.sent,
      compactCore16k: { bytes: COMPACT_CORE_BYTES, seconds: round(seconds - (bytes.length - COMPACT_CORE_BYTES) / payloadBps), targetSeconds: TARGET_SECONDS },
    };
  } finally {
    await relay.close();
  }
}

export async function flashSpeed() {
  try {
    findInterpreter(false);
  } catch (e) {
    return { skipped: (e as Error).message };
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-bench-flash-'));
  const emu = await startEmulate(['--espruino', '--time-scale', '0.05', '--state', path.join(tmp, 'board')], 120000);
  try {
    const base = await boardBundle('linux', (l) => console.error(l));
    const parts = await linkParts(emu.port, versioned(tmp, base, '9.7.1'), '9.7.1');
    const host = await openRateLimitedRelay(emu.port, BAUD);
    let link;
    try {
      link = await chubFlash(['--port', emu.console!, '--host-port', host.path, '--via', 'link', '--bundle', versioned(tmp, base, '9.7.2')]);
    } finally {
      await host.close();
    }
    const line = await openRateLimitedRelay(emu.console!, BAUD);
    let cli;
    try {
      cli = await chubFlash(['--port', line.path, '--host-port', emu.port, '--via', 'cli', '--bundle', versioned(tmp, base, '9.7.3')]);
    } finally {
      await line.close();
    }
    return {
      what: `chub flash of the linux bundle on the emulated board through a ${BAUD}-baud relay: seconds = chub flash --json's (after the build, to the new hub's hello); linkParts: the link path timed in-process, compactCore16k = its seconds less its bytes past 16 KB at its payloadBps`,
      bytes: parts.bytes,
      link: { seconds: link.seconds, writes: link.writes },
      cli: { seconds: cli.seconds, writes: cli.writes },
      linkVsCli: round(cli.seconds / link.seconds, 1),
      linkParts: parts,
    };
  } finally {
    await emu.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  buildFirmware({ board: 'linux', log: (l) => console.error(l) }).then(flashSpeed).then(
    (r) => console.log(JSON.stringify({ flash: r }, null, 2)),
    (e) => {
      console.error(`flash-speed bench: ${(e as Error).message}`);
      process.exitCode = 1;
    },
  );
}
