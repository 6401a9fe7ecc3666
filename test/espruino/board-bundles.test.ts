// Every board file in boards/ validates and builds a bundle that passes the Espruino gate; each bundle's
// size is printed next to the board's Storage. Boards whose Storage cannot hold the bundle are listed
// here on purpose: the list must change when the bundle shrinks (or grows) across a board's limit.
import * as acorn from 'acorn';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BOARDS_DIR, loadBoard } from '../../host-tools/boards/board-file';
import { buildFirmware, BuildResult } from '../../host-tools/build/build-firmware';
import { stateRoomBytes } from '../../host-tools/boards/state-room';
import { checkEspruinoSource } from '../../host-tools/build/espruino-gate';

const BOARDS = fs.readdirSync(BOARDS_DIR).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
/** Boards whose Storage cannot hold the pretokenised bundle and 4 KB for the hub's state. None today: the
 *  40 KB boards (puckjs, mdbt42q, nrf52840dk) have 45-430 bytes to spare (2026-11-27), so growth shows here first. */
const TOO_BIG_FOR_STORAGE: string[] = [];

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-boards-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const built: { [board: string]: BuildResult } = {};

test('the board set includes the issue-6 boards and linux', () => {
  expect(BOARDS).toEqual(expect.arrayContaining(['esp32', 'linux', 'mdbt42q', 'nrf52840dk', 'pico', 'puckjs', 'rpi-pico']));
});

describe.each(BOARDS)('board %s', (name) => {
  it('validates, cites its source and has a console unless it is the Linux interpreter', () => {
    const b = loadBoard(name);
    const linux = name.startsWith('linux'); // the interpreter in ../shared/tools/espruino, not a board from the Espruino repo
    if (!linux) expect(b.source).toMatch(/espruino\/Espruino.*boards\/[A-Z0-9_]+\.py/);
    if (!linux) expect(b.console).toBeDefined();
    // A 300 KB image needs Storage beyond the bundle: smaller boards must stream it. (The linux boards
    // store: their tests use small images.)
    if (!linux && b.storageBytes < 300 * 1024 + 64 * 1024) expect(b.imageMode).toBe('streamed');
  });

  it('builds a bundle that passes the Espruino gate', async () => {
    const r = await buildFirmware({ board: name, outFile: path.join(tmp, `${name}.js`), es5Dir: path.join(tmp, `es5-${name}`), log: () => undefined });
    built[name] = r;
    expect(() => acorn.parse(r.source, { ecmaVersion: 5 })).not.toThrow();
    expect(checkEspruinoSource(r.source)).toEqual([]);
    expect(r.source.includes(`"name":"${name}"`)).toBe(true);
    expect(r.source.includes(`"mode":"${r.board.imageMode}"`)).toBe(true); // what hello reports
    // The console hand-over is only in bundles for boards whose REPL shares the host link's port.
    expect(r.source.includes('LoopbackA')).toBe(r.board.console === r.board.host.serial);
    // Boards that stream every image carry no OTA header check (nor image store): the check is where the
    // bundle holds the OTA file magic, 0x0BEEF11E, however the minifier writes it.
    expect(/\b(?:200208670|0xbeef11e)\b/i.test(r.source)).toBe(r.board.imageMode === 'stored');
    console.log(
      `${name}: bundle ${r.bytes} bytes pretokenised (${r.sourceBytes} of ES5), Storage ${r.board.storageBytes} bytes, ${r.board.jsvars} JsVars, ${r.board.imageMode}` +
        (r.fitsStorage ? '' : ` — DOES NOT FIT Storage with ${stateRoomBytes(r.board)} bytes for the hub's state files`),
    );
  }, 60000);
});

test('the boards whose Storage cannot hold the bundle are the known ones', () => {
  const tooBig = BOARDS.filter((b) => built[b] && !built[b].fitsStorage);
  expect(Object.keys(built).sort()).toEqual(BOARDS);
  expect(tooBig).toEqual(TOO_BIG_FOR_STORAGE);
});
