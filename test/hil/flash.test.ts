// (in make test; alone: make test-flash) `chub flash` against `chub emulate --espruino`'s console pty, as against a real board's USB serial:
// the espruino CLI writes .bootcde, load() restarts the board, and the hub answers with the new version.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { boardBundle, linuxBundle } from '../../host-tools/espruino/espruino-hub';
import { HubClient } from '../../host-tools/link/hub-client';
import { CHUB, Emulation, haveInterpreter, startEmulate } from '../helpers/chub-emulate';

function chub(args: string[], timeout: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(CHUB, args, { timeout }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

/** `chub flash`'s result as one string for a failing expectation: its exit code and output, and what the
 *  emulated board's `chub emulate` said (e.g. that the interpreter exited by itself). */
function outcome(r: { code: number; stdout: string; stderr: string }, emu: Emulation): string {
  return `exit ${r.code}\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}\nchub emulate's stderr (tail):\n${emu.stderr().slice(-2000)}`;
}

const run = haveInterpreter('chub flash') ? describe : describe.skip;

run('chub flash on the emulated Espruino board', () => {
  let emu: Emulation;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-flash-'));
  beforeAll(async () => {
    emu = await startEmulate(['--espruino', '--time-scale', '0.05']);
  }, 90000);
  afterAll(async () => {
    await emu?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('writes a bundle with a new version, restarts the board, and the hub answers with it', async () => {
    // The same bundle with another version, so only a restarted board can report it.
    const bundle = path.join(tmp, 'linux-9.9.9.js');
    fs.writeFileSync(bundle, fs.readFileSync(await linuxBundle(() => undefined), 'latin1').split('0.1.0').join('9.9.9'), 'latin1');
    const r = await chub(['flash', '--board', 'linux', '--port', emu.console!, '--host-port', emu.port, '--bundle', bundle, '--json'], 300000);
    if (r.code !== 0 || r.stderr !== '') throw new Error(`chub flash failed: ${outcome(r, emu)}`);
    expect(JSON.parse(r.stdout)).toMatchObject({ board: 'linux', version: '9.9.9', hostPort: emu.port });
    const hub = await HubClient.open(emu.port);
    expect(hub.info.fw).toBe('9.9.9');
    await hub.close();
  }, 320000);

  it('flashes a board whose console is its host link port, which the hub lends for the write', async () => {
    const shared = await startEmulate(['--espruino', '--console-on-link', '--time-scale', '0.05']);
    try {
      expect(shared.console).toBe(shared.port);
      const bundle = path.join(tmp, 'linux-console-9.9.8.js');
      fs.writeFileSync(bundle, fs.readFileSync(await boardBundle('linux-console', () => undefined), 'latin1').split('0.1.0').join('9.9.8'), 'latin1');
      const r = await chub(['flash', '--board', 'linux-console', '--port', shared.port, '--bundle', bundle, '--json'], 300000);
      if (r.code !== 0 || r.stderr !== '') throw new Error(`chub flash failed: ${outcome(r, shared)}`);
      const hub = await HubClient.open(shared.port);
      expect(hub.info.fw).toBe('9.9.8');
      await hub.close();
    } finally {
      await shared.stop();
    }
  }, 360000);

  it('says what is wrong on the command line (exit 2)', async () => {
    const noHost = await chub(['flash', '--board', 'linux', '--port', emu.console!], 30000);
    expect(noHost.code).toBe(2);
    expect(noHost.stderr).toMatch(/host link is on Serial1.*--host-port/);
    const badBoard = await chub(['flash', '--board', 'nosuch', '--port', emu.console!], 30000);
    expect(badBoard.code).toBe(2);
    expect(badBoard.stderr).toMatch(/nosuch\.json: cannot be read.*known boards: .*esp32/);
  }, 60000);
});
