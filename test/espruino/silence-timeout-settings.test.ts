// The silence timeout (how long a transferring device may ask for nothing before its job fails with 0x8F89)
// as a board setting: a board file's hub.silenceTimeoutMs, checked on the host, and chub.json's
// hubConfig.silenceTimeoutMs, checked by the firmware when it boots.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_CONFIG } from '../../firmware/core/hub';
import { BoardConfig, overlayConfig } from '../../firmware/espruino/board-config';
import { BOARDS_DIR, BoardFileError, loadBoard, validateBoard } from '../../host-tools/boards/board-file';
import { hubConfigFor } from '../../host-tools/boards/hub-config';

const linuxJson = () => JSON.parse(fs.readFileSync(path.join(BOARDS_DIR, 'linux.json'), 'utf8'));

describe('board file hub.silenceTimeoutMs', () => {
  test("is the hub core's silence timeout for that board; without it, the core's default", () => {
    const b = linuxJson();
    b.hub.silenceTimeoutMs = 120000;
    expect(hubConfigFor(validateBoard(b, 'linux.json', 'linux'), '1').silenceTimeoutMs).toBe(120000);
    expect(hubConfigFor(loadBoard('linux'), '1').silenceTimeoutMs).toBe(DEFAULT_CONFIG.silenceTimeoutMs);
  });

  test.each<[unknown, RegExp]>([
    [0, /must be between 1000 and 86400000, not 0/],
    [999, /must be between 1000 and 86400000, not 999/],
    [86400001, /must be between 1000 and 86400000, not 86400001/],
    [1500.5, /must be an integer/],
    ['60000', /must be an integer, not string "60000"/],
  ])('%j is refused, naming the file and the field', (v, want) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-silence-'));
    try {
      const b = linuxJson();
      b.hub.silenceTimeoutMs = v;
      const file = path.join(dir, 'linux.json');
      fs.writeFileSync(file, JSON.stringify(b));
      const err = (() => {
        try {
          loadBoard(file);
        } catch (e) {
          return e as Error;
        }
      })();
      expect(err).toBeInstanceOf(BoardFileError);
      expect(err!.message.startsWith(`${file}: "hub.silenceTimeoutMs" `)).toBe(true);
      expect(err!.message).toMatch(want);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("chub.json hubConfig.silenceTimeoutMs (on the board, over the board file's)", () => {
  const baked = (): BoardConfig => ({ name: 'linux', host: { serial: 'Serial1', baud: 115200 }, radio: { serial: 'Serial2', baud: 115200 }, hubConfig: { ...DEFAULT_CONFIG, silenceTimeoutMs: 300000 } });

  test('a value in range is taken, and nothing is said', () => {
    const said: string[] = [];
    const c = overlayConfig(baked(), { hubConfig: { silenceTimeoutMs: 30000 } }, (m) => said.push(m));
    expect(c.hubConfig.silenceTimeoutMs).toBe(30000);
    expect(said).toEqual([]);
    expect(overlayConfig(baked(), { debug: true }, (m) => said.push(m)).hubConfig.silenceTimeoutMs).toBe(300000);
    expect(said).toEqual([]);
  });

  test.each<[unknown]>([[0], [-1], [86400001], ['abc'], [null]])("%j is said, naming chub.json and the field, and the board's own stays", (v) => {
    const said: string[] = [];
    const base = baked();
    const c = overlayConfig(base, { hubConfig: { silenceTimeoutMs: v, maxBlock: 50 } }, (m) => said.push(m));
    expect(c.hubConfig.silenceTimeoutMs).toBe(300000);
    expect(c.hubConfig.maxBlock).toBe(50); // the rest of chub.json still applies
    expect(said).toEqual([`chub.json: "hubConfig.silenceTimeoutMs" must be between 1000 and 86400000 ms, not ${JSON.stringify(v)}; the board's 300000 stays`]);
  });
});
