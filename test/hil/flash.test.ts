// (in make test; alone: make test-flash) `chub flash` against `chub emulate --espruino`'s console pty, as against a real board's USB serial:
// the espruino CLI writes the bundle beside .bootcde, the board checks its CRC, copies it to .bootcde and
// restarts (load()), and the hub answers with the new version. Writes garbled on the way are written again;
// an interpreter that stops reading its console is restarted by the emulated board.
import * as fs from 'fs';
import * as path from 'path';
import { STAGED_NAME } from '../../host-tools/commands/flash';
import { interpreterUnder } from '../../host-tools/espruino/console-watchdog';
import { runEspruinoCli } from '../../host-tools/espruino/espruino-cli';
import { chub, ChubResult, Emulation, haveInterpreter, startEmulate } from '../helpers/chub-emulate';
import { emulatedBoardForSuite, hubVersion, repl, running, saidOnStderr, versioned } from '../helpers/emulated-board';
import { openCorruptingRelay } from './corrupting-relay';

/** `chub flash`'s result as one string for a failing expectation: its exit code and output, and what the
 *  emulated board's `chub emulate` said (e.g. that its interpreter was restarted). */
function outcome(r: ChubResult, emu: Emulation): string {
  return `exit ${r.code}\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}\nchub emulate's stderr (tail):\n${emu.stderr().slice(-2000)}`;
}

const run = haveInterpreter('chub flash') ? describe : describe.skip;

run('chub flash on the emulated Espruino board', () => {
  const b = emulatedBoardForSuite('chub-flash-');

  it('writes a bundle with a new version beside the old, writes it again when it reads back wrong, then boots it', async () => {
    const bundle = await versioned(b.tmp, 'linux', '9.9.9');
    // The sixth Storage.write line of the first upload arrives with one character changed.
    const line = await openCorruptingRelay(b.emu.console!, (n) => n === 5);
    try {
      const r = await chub(['flash', '--via', 'cli', '--board', 'linux', '--port', line.port, '--host-port', b.emu.port, '--bundle', bundle, '--json'], undefined, 300000);
      if (r.code !== 0 || r.stderr !== '') throw new Error(`chub flash failed: ${outcome(r, b.emu)}`);
      expect(line.corrupted()).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ board: 'linux', version: '9.9.9', hostPort: b.emu.port, staged: true, writes: 2 });
    } finally {
      line.close();
    }
    expect(await hubVersion(b.emu.port, 10000)).toBe('9.9.9');
    expect(await repl(b.emu.console!, `require("Storage").list().indexOf(${JSON.stringify(STAGED_NAME)})`)).toBe('-1');
  }, 320000);

  it('gives up after 3 writes that read back wrong, saying where, what and which CRCs, and the old firmware boots', async () => {
    const before = await hubVersion(b.emu.port, 10000);
    // Any file that carries a version does here: it never gets as far as booting.
    const bundle = path.join(b.tmp, 'tiny-9.9.7.js');
    fs.writeFileSync(bundle, 'print("not a hub");/*"fw":"9.9.7"*/\n');
    const line = await openCorruptingRelay(b.emu.console!, () => true);
    try {
      const r = await chub(['flash', '--via', 'cli', '--board', 'linux', '--port', line.port, '--host-port', b.emu.port, '--bundle', bundle], undefined, 120000);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 1, stdout: '' });
      const crc = '0x[0-9a-f]{8}';
      expect(r.stderr).toMatch(
        new RegExp(
          `${bundle.replace(/\./g, '\\.')} did not reach ${line.port} intact in 3 writes \\(want CRC ${crc}\\): ` +
            `${STAGED_NAME} read back with CRC ${crc}; ${STAGED_NAME} read back with CRC ${crc}; ${STAGED_NAME} read back with CRC ${crc}\\. ` +
            `\\.bootcde was not touched: the board boots the firmware it had \\(load\\(\\) sent to restart it\\)`,
        ),
      );
      expect(line.corrupted()).toBe(3);
    } finally {
      line.close();
    }
    expect(await hubVersion(b.emu.port, 10000)).toBe(before);
    expect(await repl(b.emu.console!, `require("Storage").list().indexOf(${JSON.stringify(STAGED_NAME)})`)).toBe('-1');
  }, 180000);

  it('writes .bootcde in place, checked before the restart, where Storage has no room for a second copy', async () => {
    const bundle = await versioned(b.tmp, 'linux', '9.9.6');
    const bytes = fs.statSync(bundle).size;
    const free = Number(await repl(b.emu.console!, '(function(t){return t.freeBytes+t.trashBytes})(require("Storage").getStats())'));
    // Leaves room for one copy and the hub's state, not for two. After reset(), as chub flash writes: the
    // compaction would move the running hub's code.
    const filler = path.join(b.tmp, 'filler.js');
    fs.writeFileSync(filler, `require("Storage").compact();require("Storage").write("filler", ".", 0, ${free - Math.round(1.5 * bytes) - 4096});print("FILLED")\n`);
    expect((await runEspruinoCli(b.emu.console!, [filler], 30000)).output).toMatch(/FILLED/);
    try {
      const r = await chub(['flash', '--via', 'cli', '--board', 'linux', '--port', b.emu.console!, '--host-port', b.emu.port, '--bundle', bundle, '--json'], undefined, 300000);
      if (r.code !== 0 || r.stderr !== '') throw new Error(`chub flash failed: ${outcome(r, b.emu)}`);
      expect(JSON.parse(r.stdout)).toMatchObject({ version: '9.9.6', staged: false, writes: 1 });
    } finally {
      await repl(b.emu.console!, 'require("Storage").erase("filler")');
    }
    expect(await hubVersion(b.emu.port, 10000)).toBe('9.9.6');
  }, 320000);

  it('restarts an emulated board whose interpreter stopped reading its console, with a message, and flashes it', async () => {
    const bundle = await versioned(b.tmp, 'linux', '9.9.5');
    const stopped = interpreterUnder(b.emu.proc.pid!, b.board);
    expect(stopped).toBeDefined();
    process.kill(stopped!, 'SIGSTOP');
    const r = await chub(['flash', '--via', 'cli', '--board', 'linux', '--port', b.emu.console!, '--host-port', b.emu.port, '--bundle', bundle, '--json'], undefined, 300000);
    if (r.code !== 0 || r.stderr !== '') throw new Error(`chub flash failed: ${outcome(r, b.emu)}`);
    expect(b.emu.stderr()).toMatch(new RegExp(`the interpreter \\(pid ${stopped}\\) in \\S+ did not echo a probe within 10 s.*no longer reads its console: restarting it`));
    expect(running(stopped!)).toBe(false);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: '9.9.5', writes: 1 });
    expect(await hubVersion(b.emu.port, 10000)).toBe('9.9.5');
  }, 320000);

  it('starts the interpreter again when it exits', async () => {
    const gone = interpreterUnder(b.emu.proc.pid!, b.board)!;
    process.kill(gone, 'SIGKILL');
    await saidOnStderr(b.emu, new RegExp(`the interpreter \\(pid ${gone}\\) in \\S+ exited: restarting it`), 20000);
    expect(await repl(b.emu.console!, '6*7')).toBe('42');
  }, 60000);

  it('flashes a board whose console is its host link port, which the hub lends for the write', async () => {
    const shared = await startEmulate(['--espruino', '--console-on-link', '--time-scale', '0.05']);
    try {
      expect(shared.console).toBe(shared.port);
      const bundle = await versioned(b.tmp, 'linux-console', '9.9.8');
      const r = await chub(['flash', '--via', 'cli', '--board', 'linux-console', '--port', shared.port, '--bundle', bundle, '--json'], undefined, 300000);
      if (r.code !== 0 || r.stderr !== '') throw new Error(`chub flash failed: ${outcome(r, shared)}`);
      expect(JSON.parse(r.stdout)).toMatchObject({ version: '9.9.8', staged: true });
      expect(await hubVersion(shared.port, 10000)).toBe('9.9.8');
    } finally {
      await shared.stop();
    }
  }, 360000);

  it('says what is wrong on the command line (exit 2)', async () => {
    const noHost = await chub(['flash', '--board', 'linux', '--port', b.emu.console!], undefined, 30000);
    expect(noHost.code).toBe(2);
    expect(noHost.stderr).toMatch(/host link is on Serial1.*--host-port/);
    const badBoard = await chub(['flash', '--board', 'nosuch', '--port', b.emu.console!], undefined, 30000);
    expect(badBoard.code).toBe(2);
    expect(badBoard.stderr).toMatch(/nosuch\.json: cannot be read.*known boards: .*esp32/);
  }, 60000);
});
