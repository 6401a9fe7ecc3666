// (in make test; alone: make test-flash) `chub flash` over the running hub's own host link (fw.begin /
// fw.data / fw.end): the emulated Espruino board takes a new bundle beside the running one, checks it,
// switches and restarts. A link that drops mid-update leaves the old hub running and booting, and the next
// `chub flash` resumes where it stopped; a frame garbled on the line is sent again.
import * as fs from 'fs';
import * as path from 'path';
import * as zlib from 'zlib';
import { STAGED_NAME } from '../../host-tools/commands/flash';
import { interpreterUnder } from '../../host-tools/espruino/console-watchdog';
import { flashOverLink } from '../../host-tools/espruino/hub-link-flash';
import { HubClient } from '../../host-tools/link/hub-client';
import { chub, haveInterpreter } from '../helpers/chub-emulate';
import { emulatedBoardForSuite, hubVersion, repl, saidOnStderr, versioned } from '../helpers/emulated-board';
import { openNoisyRelay } from '../helpers/noisy-relay';

const crcOf = (file: string) => String(zlib.crc32(fs.readFileSync(file)) >>> 0);

const run = haveInterpreter('chub flash over the link') ? describe : describe.skip;

run('chub flash over the hub link on the emulated Espruino board', () => {
  const b = emulatedBoardForSuite('chub-flash-link-');

  /** `chub flash` on the emulated board, which must succeed: its --json result. */
  async function flash(bundle: string, hostPort = b.emu.port): Promise<Record<string, unknown>> {
    const r = await chub(['flash', '--board', 'linux', '--port', b.emu.console!, '--host-port', hostPort, '--bundle', bundle, '--json'], undefined, 120000);
    if (r.code !== 0 || r.stderr !== '') throw new Error(`chub flash failed: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}\nchub emulate (tail): ${b.emu.stderr().slice(-2000)}`);
    return JSON.parse(r.stdout);
  }

  /** Ends the interpreter, as a power cut would; the emulated board starts it again, booting .bootcde. */
  async function powerCycle(): Promise<void> {
    const pid = interpreterUnder(b.emu.proc.pid!, b.board);
    expect(pid).toBeDefined();
    process.kill(pid!, 'SIGKILL');
    await saidOnStderr(b.emu, new RegExp(`the interpreter \\(pid ${pid}\\) in \\S+ exited: restarting it`), 20000);
  }

  /** Starts an update of `bundle` over the link and closes the port once `fraction` of it is in. */
  async function dropMidway(bundle: string, fraction: number): Promise<string> {
    const bytes = fs.readFileSync(bundle);
    const hub = await HubClient.open(b.emu.port);
    let dropped = false;
    const err = await flashOverLink(hub, bytes, 30000, (done, total) => {
      if (!dropped && done >= total * fraction) {
        dropped = true;
        void hub.close();
      }
    }).then(
      () => 'finished',
      (e: Error) => e.message,
    );
    return err;
  }

  it('writes a new bundle beside the running hub, which checks, switches and restarts into it, and boots it', async () => {
    const bundle = await versioned(b.tmp, 'linux', '9.8.1');
    const r = await flash(bundle);
    expect(r).toMatchObject({ version: '9.8.1', via: 'link', staged: true, writes: 1, resumedFrom: 0, bytes: fs.statSync(bundle).size });
    expect(await hubVersion(b.emu.port, 10000)).toBe('9.8.1');
    expect(await repl(b.emu.console!, `require("Storage").list().indexOf(${JSON.stringify(STAGED_NAME)})`)).toBe('-1');
    expect(await repl(b.emu.console!, 'E.CRC32(require("Storage").read(".bootcde"))>>>0')).toBe(crcOf(bundle));
    await powerCycle();
    expect(await hubVersion(b.emu.port, 20000)).toBe('9.8.1');
  }, 90000);

  it('leaves the old hub running when the link drops mid-update, and the next chub flash resumes there', async () => {
    const before = await versioned(b.tmp, 'linux', '9.8.1');
    const bundle = await versioned(b.tmp, 'linux', '9.8.2');
    expect(await dropMidway(bundle, 0.5)).toMatch(/stopped at \d+ of \d+ bytes .*\.bootcde is untouched, the old firmware runs and boots; chub flash again resumes it/);
    expect(await hubVersion(b.emu.port, 10000)).toBe('9.8.1');
    expect(await repl(b.emu.console!, 'E.CRC32(require("Storage").read(".bootcde"))>>>0')).toBe(crcOf(before));
    const r = await flash(bundle);
    expect(r).toMatchObject({ version: '9.8.2', via: 'link' });
    expect(r.resumedFrom).toBeGreaterThan(0);
    expect(r.resumedFrom).toBeLessThan(fs.statSync(bundle).size);
    expect(await hubVersion(b.emu.port, 10000)).toBe('9.8.2');
  }, 90000);

  it('boots the old firmware after a drop and a power cut, and the next chub flash starts the update over', async () => {
    const bundle = await versioned(b.tmp, 'linux', '9.8.3');
    expect(await dropMidway(bundle, 0.6)).toMatch(/stopped at/);
    await powerCycle();
    expect(await hubVersion(b.emu.port, 20000)).toBe('9.8.2');
    const r = await flash(bundle);
    expect(r).toMatchObject({ version: '9.8.3', via: 'link', resumedFrom: 0 });
  }, 90000);

  it('sends again a frame garbled on the line (a CRC per frame)', async () => {
    const bundle = await versioned(b.tmp, 'linux', '9.8.4');
    // About one flipped bit per 5,000 bytes each way, the same ones each run (the seed).
    const line = await openNoisyRelay(b.emu.port, { flip: 2e-4, seed: 3 });
    try {
      const r = await flash(bundle, line.path);
      expect(r).toMatchObject({ version: '9.8.4', via: 'link', writes: 1 });
      expect(line.up.flips).toBeGreaterThan(0);
      expect(r.sent).toBeGreaterThan(fs.statSync(bundle).size);
    } finally {
      await line.close();
    }
    expect(await hubVersion(b.emu.port, 10000)).toBe('9.8.4');
  }, 90000);

  it('refuses --via link where no hub answers, and a --via it does not know', async () => {
    const noPort = path.join(b.tmp, 'no-such-port');
    const noHub = await chub(['flash', '--board', 'linux', '--host-port', noPort, '--bundle', await versioned(b.tmp, 'linux', '9.8.5'), '--via', 'link', '--timeout', '5'], undefined, 60000);
    expect(noHub.code).toBe(1);
    expect(noHub.stderr).toContain(`--via link: no hub answered hello on ${noPort}`);
    const bad = await chub(['flash', '--board', 'linux', '--port', b.emu.console!, '--host-port', b.emu.port, '--via', 'usb'], undefined, 30000);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--via: want auto, link or cli, not "usb"/);
  }, 60000);
});
