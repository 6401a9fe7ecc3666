// (make soak; skipped unless CHUB_FLASH_SOAK is set) `chub flash` many times in a row on the emulated
// Espruino board, alternating its console on a port of its own (board linux) and shared with the host link
// (linux-console), each flash a new version, staged (see chub flash), and each followed by `chub status`,
// which must report it. No failure is allowed. The figures (flashes, seconds per flash per mode, writes
// made again, interpreters the emulated board restarted) go to dist/test-results/flash-soak.json and the
// test's output.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { REPO_ROOT } from '../../host-tools/build/build-firmware';
import { boardBundle } from '../../host-tools/espruino/espruino-hub';
import { CHUB, Emulation, haveInterpreter, startEmulate } from '../helpers/chub-emulate';

const FLASHES = Number(process.env.CHUB_FLASH_SOAK || 0);
/** Per flash on average, for the test's timeout: one takes about 25 s. */
const FLASH_BUDGET_MS = 120000;
/** One flash at most: 3 writes of up to --timeout 300 s each, and the hub's answer. */
const FLASH_MAX_MS = 1000000;

/** Flash `i`'s version, as long as the bundle's own "0.1.0": the bundle is pretokenised, and its strings
 *  carry their lengths, so a longer one would break it. */
function soakVersion(i: number): string {
  if (i >= 100) throw new Error(`CHUB_FLASH_SOAK=${FLASHES}: at most 100 flashes have versions of their own (7.0.0 to 7.9.9)`);
  return `7.${Math.floor(i / 10)}.${i % 10}`;
}

type Run = { code: number; stdout: string; stderr: string };

function chub(args: string[], timeout: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(CHUB, args, { timeout }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

interface Mode {
  name: 'own console port' | 'console shared with the host link';
  board: 'linux' | 'linux-console';
  emu: Emulation;
  /** The flash command's port arguments. */
  ports: string[];
  source: string;
  seconds: number[];
}

function summary(m: Mode): { flashes: number; meanS: number; minS: number; maxS: number } {
  const s = m.seconds;
  const round = (x: number) => Math.round(x * 10) / 10;
  return { flashes: s.length, meanS: round(s.reduce((a, b) => a + b, 0) / Math.max(1, s.length)), minS: round(Math.min(...s)), maxS: round(Math.max(...s)) };
}

const run = FLASHES > 0 && haveInterpreter('chub flash soak') ? describe : describe.skip;

run(`chub flash ${FLASHES} times in a row on the emulated Espruino board`, () => {
  let tmp: string;
  const modes: Mode[] = [];
  let restarts = 0;
  const counted = (emu: Emulation) => {
    readline.createInterface({ input: emu.proc.stderr! }).on('line', (l) => {
      if (/espruino console: the interpreter .* restarting it/.test(l)) restarts++;
    });
    return emu;
  };
  beforeAll(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-flash-soak-'));
    const own = counted(await startEmulate(['--espruino', '--time-scale', '0.05']));
    modes.push({ name: 'own console port', board: 'linux', emu: own, ports: ['--port', own.console!, '--host-port', own.port], source: '', seconds: [] });
    const shared = counted(await startEmulate(['--espruino', '--console-on-link', '--time-scale', '0.05']));
    modes.push({ name: 'console shared with the host link', board: 'linux-console', emu: shared, ports: ['--port', shared.port], source: '', seconds: [] });
    for (const m of modes) m.source = fs.readFileSync(await boardBundle(m.board, () => undefined), 'latin1');
  }, 180000);
  afterAll(async () => {
    for (const m of modes) await m.emu.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it(`flashes ${FLASHES} times, each followed by chub status, with no failure`, async () => {
    const failures: string[] = [];
    let rewrites = 0;
    for (let i = 0; i < FLASHES; i++) {
      const m = modes[i % 2];
      const version = soakVersion(i);
      const bundle = path.join(tmp, `${m.board}-${version}.js`);
      fs.writeFileSync(bundle, m.source.split('0.1.0').join(version), 'latin1');
      const flash = await chub(['flash', '--via', 'cli', '--board', m.board, ...m.ports, '--bundle', bundle, '--timeout', '300', '--json'], FLASH_MAX_MS);
      if (flash.code !== 0) {
        failures.push(`flash ${i + 1} (${m.name}): exit ${flash.code}: ${flash.stderr.trim()}\nchub emulate said: ${m.emu.stderr().slice(-1500)}`);
        continue;
      }
      const out = JSON.parse(flash.stdout) as { seconds: number; writes: number; staged: boolean };
      m.seconds.push(out.seconds);
      rewrites += out.writes - 1;
      // 256 KB of Storage holds two copies at every flash, once compacted: the erased ones count.
      if (!out.staged) failures.push(`flash ${i + 1} (${m.name}): written in place, not staged`);
      const status = await chub(['status', '--port', m.emu.port, '--json'], 60000);
      const fw = status.code === 0 ? (JSON.parse(status.stdout) as { hub: { fw: string } }).hub.fw : undefined;
      if (fw !== version) failures.push(`flash ${i + 1} (${m.name}): chub status after it: exit ${status.code}, firmware ${fw}, want ${version}: ${status.stderr.trim()}`);
      fs.rmSync(bundle);
    }
    const report = { flashes: FLASHES, failures: failures.length, rewrites, interpreterRestarts: restarts, modes: Object.fromEntries(modes.map((m) => [m.name, summary(m)])) };
    const file = path.join(REPO_ROOT, 'dist/test-results/flash-soak.json');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(`flash soak: ${JSON.stringify(report)}`);
    expect(failures).toEqual([]);
  }, FLASHES * FLASH_BUDGET_MS);
});
