// zigbee-herdsman, a real ZNP host, against `chub sim` on a pty: its zstack adapter forms a network on the
// simulated stick, interviews a simulated PPMID that joins it, and updates it with an image made by our own
// tools; the PPMID ends running the new version. A command the stick cannot answer is named, never a hang.
// Herdsman runs in a process of its own (bench/peer-herdsman.ts session): jest's module VM cannot load it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchDevices, ChubSim, runHerdsmanSession, SessionEvent, startChubSim } from '../../bench/peer-herdsman';
import { run } from '../../host-tools/cli';
import { buildZnpFrame } from '../../firmware/radio/znp-frame';
import { HanSimulator } from '../../host-tools/sim/han-simulator';
import { parseDeviceSpec } from '../../host-tools/sim/device-spec';
import { captureConsole } from '../helpers/console-capture';

/** Fast enough for a test: every simulated delay × 0.05; herdsman's block delay likewise (250 ms → 12.5 ms). */
const TIME_SCALE = 0.05;

describe('zigbee-herdsman as the OTA server, through chub sim', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-herdsman-'));
  const image = path.join(dir, 'fw.ota');
  const [ppmid] = benchDevices(1);
  const { out } = captureConsole();
  let sim: ChubSim;
  let events: SessionEvent[];

  beforeAll(async () => {
    sim = await startChubSim([ppmid], { timeScale: TIME_SCALE, loss: 0, seed: 1 });
  });
  afterAll(async () => {
    if (sim) await sim.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('`chub image make` makes the image', async () => {
    expect(await run(['image', 'make', '-o', image, '--version', '0x00000002', '--size', '2k'])).toBe(0);
    expect(out.join('\n')).toContain(image);
  });

  test('herdsman starts a network, interviews the PPMID, is refused an install code by name, and updates it', async () => {
    const settled = () => sim.until(ppmid.eui, (s) => s.state === 'idle');
    events = await runHerdsmanSession({ radioPath: sim.radioPath, euis: [ppmid.eui], image, blockDelayMs: 250 * TIME_SCALE, tryUnsupported: true }, settled);
    expect(events[0]).toEqual({ network: { panID: 0x1a62, channel: 11 } });
    expect(events[1]).toEqual({
      interviewed: [{ ieee: '0x' + ppmid.eui.toLowerCase(), model: 'PPMID', manufacturer: 'chub-sim', type: 'EndDevice', manufacturerID: 0x1234, endpoints: [{ id: 1, profile: 0x0109, in: [0x0000], out: [0x0019] }] }],
    });
    // APP_CNF_BDB_ADD_INSTALLCODE is not simulated: the stick answers with an RPC error, and herdsman gives up
    // on the SRSP it wanted after its 6 s, naming the command.
    expect(events[2]).toEqual({ refused: expect.stringMatching(/SRSP - APP_CNF - bdbAddInstallCode after \d+ms/) });
    expect(events[3]).toEqual({ updated: [expect.any(Number)] });
  });

  test('the PPMID runs the new version', async () => {
    const s = await sim.until(ppmid.eui, (x) => x.fileVersion === 2);
    expect(s).toMatchObject({ fileVersion: 2, blocks: 41, bytes: 2048 });
  });
});

describe('the simulated stick names an SREQ it cannot answer', () => {
  test('an RPC error to the host, and an `unsupported` event naming the command', async () => {
    const sim = new HanSimulator({ devices: [parseDeviceSpec('PPMID:000D6F0000000001', 0)] });
    const frames: number[][] = [];
    const said: string[] = [];
    sim.attach({ write: (b) => frames.push(Array.from(b)) });
    sim.on('unsupported', (m) => said.push(m));
    sim.onBytes(buildZnpFrame(0x210f, new Uint8Array([0, 5]))); // SYS_STACK_TUNE
    // RPC error SRSP (CMD0 0x60, CMD1 0x00): error 2 (bad command id), then the request's CMD0 and CMD1.
    expect(frames).toEqual([[0xfe, 3, 0x60, 0x00, 0x02, 0x21, 0x0f, 3 ^ 0x60 ^ 0x02 ^ 0x21 ^ 0x0f]]);
    expect(said).toEqual(['unsupported ZNP SREQ SYS command 0x0f (CMD0 0x21 CMD1 0x0f): the simulated stick does not implement it and answered with an RPC error']);
    await sim.close();
  });
});
