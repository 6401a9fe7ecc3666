// A hub whose host link shares the console's port (Puck.js, MDBT42Q: both on Bluetooth) must give the
// REPL the port back so the board can be reflashed without a button press: on the host's `console`
// request, on a break (two lone Ctrl-C, as the espruino CLI sends), and after an idle timeout; and a
// HubClient takes it back by typing chubLink() there. Run on the Linux interpreter with the REPL on
// Serial1, the host link's pty (boards/linux-console.json).
import { SerialPort } from 'serialport';
import { runEspruinoCli } from '../../host-tools/espruino/espruino-cli';
import { EspruinoHub, startEspruinoHub } from '../../host-tools/espruino/espruino-hub';
import { HubClient } from '../../host-tools/link/hub-client';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { haveInterpreter } from '../helpers/chub-emulate';

const IDLE_S = 4;

/** Writes each piece to the port (apart, as typed), then returns what came back. */
async function typeAt(port: string, pieces: string[], settleMs = 800): Promise<string> {
  const p = new SerialPort({ path: port, baudRate: 115200 });
  await new Promise((r) => p.once('open', r));
  let out = '';
  p.on('data', (d: Buffer) => (out += d.toString('latin1')));
  for (const s of pieces) {
    p.write(s);
    await new Promise((r) => setTimeout(r, 300));
  }
  await new Promise((r) => setTimeout(r, settleMs));
  await new Promise((r) => p.close(r));
  return out;
}

/** Whether the REPL has the port: it evaluates what is typed there. */
async function replAnswers(port: string, before: string[] = []): Promise<boolean> {
  return (await typeAt(port, [...before, '\x10print("repl"+6*7)\n'])).includes('repl42');
}

async function hubAnswers(port: string): Promise<string> {
  const hub = await HubClient.open(port, 5000);
  await hub.close();
  return hub.info.fw;
}

const run = haveInterpreter('console hand-over') ? describe : describe.skip;

run('a hub on the console port lends it to the REPL', () => {
  let radio: PtyPair;
  let esp: EspruinoHub;
  beforeAll(async () => {
    radio = await openPtyPair('radio');
    esp = await startEspruinoHub({ radio: radio.a, board: 'linux-console', config: { consoleIdleS: IDLE_S } });
  }, 60000);
  afterAll(() => {
    esp?.close();
    radio?.close();
  });

  it('on request, and a HubClient takes it back', async () => {
    const hub = await HubClient.open(esp.port, 5000);
    expect(await hub.request('console')).toMatchObject({ ok: true });
    await hub.close();
    expect(await replAnswers(esp.port)).toBe(true);
    expect(await hubAnswers(esp.port)).toBe(hub.info.fw);
    // Held again: what is typed now is bytes between frames, not code.
    expect(await replAnswers(esp.port)).toBe(false);
  }, 30000);

  it('on a break: two lone Ctrl-C', async () => {
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
    expect(await replAnswers(esp.port, ['\x03'])).toBe(false); // one is not a break
    expect(await replAnswers(esp.port, ['\x03', '\x03'])).toBe(true);
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
    // Both in one read, as a busy board may take them.
    expect(await replAnswers(esp.port, ['\x03\x03'])).toBe(true);
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
  }, 30000);

  it('to the espruino CLI, which breaks in by itself', async () => {
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
    const r = await runEspruinoCli(esp.port, ['-e', 'print("cli"+6*7)'], 30000);
    expect(r.output).toContain('cli42');
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
  }, 40000);

  it(`after ${IDLE_S} s without a frame`, async () => {
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000 + 1000));
    expect(await replAnswers(esp.port)).toBe(true);
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
  }, 30000);
});
