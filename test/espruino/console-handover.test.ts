// A hub whose host link shares the console's port (Puck.js, MDBT42Q: both on Bluetooth) must give the
// REPL the port back so the board can be reflashed without a button press: on the host's `console`
// request, on a break (two lone Ctrl-C, as the espruino CLI sends), and after an idle timeout; and a
// HubClient takes it back by typing chubLink() there. Run on the Linux interpreter with the REPL on
// Serial1, the host link's pty (boards/linux-console.json).
import { EventEmitter } from 'events';
import { SerialPort } from 'serialport';
import { runEspruinoCli } from '../../host-tools/espruino/espruino-cli';
import { EspruinoHub, startEspruinoHub } from '../../host-tools/espruino/espruino-hub';
import { HubClient } from '../../host-tools/link/hub-client';
import { openPtyPair, PtyPair } from '../../host-tools/serial/pty-pair';
import { haveInterpreter } from '../helpers/chub-emulate';

const IDLE_S = 4;

/** A timeline of the suite, printed when a case fails: each step, what the REPL answered, and the hub's log
 *  events (among them what the interpreter printed while the hub held the port: main.ts forwards it). */
const timeline: string[] = [];
function note(what: string): void {
  timeline.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
}

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
  note(`typed ${JSON.stringify(pieces)}, got ${JSON.stringify(out)}`);
  return out;
}

/** Whether the REPL has the port: it evaluates what is typed there. */
async function replAnswers(port: string, before: string[] = []): Promise<boolean> {
  return (await typeAt(port, [...before, '\x10print("repl"+6*7)\n'])).includes('repl42');
}

/** The Linux interpreter, unlike a board, exits on a second Ctrl-C at an empty REPL line within 5 s
 *  (Espruino's jsiLoop, #ifndef EMBEDDED). The wake line HubClient types at the REPL starts with one, and
 *  the line is empty when the hello before it held a newline byte: so wakes here are kept 5 s apart. */
const CTRL_C_EXIT_MS = 5000;
/** The first hello's wait in HubClient.open: an open that took longer typed the wake line. */
const FIRST_HELLO_MS = 1500;
let lastWake = 0;

async function hubAnswers(port: string): Promise<string> {
  const wait = lastWake + CTRL_C_EXIT_MS - FIRST_HELLO_MS - Date.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait + 200));
  note('HubClient.open');
  const t0 = Date.now();
  const hub = await HubClient.open(port, 5000);
  if (Date.now() - t0 >= FIRST_HELLO_MS) lastWake = Date.now();
  note('hub answered');
  await hub.close();
  return hub.info.fw;
}

const run = haveInterpreter('console hand-over') ? describe : describe.skip;

run('a hub on the console port lends it to the REPL', () => {
  let radio: PtyPair;
  let esp: EspruinoHub;
  /** `fn`, whose failure also shows the timeline so far and the interpreter's stdout. */
  const explained =
    (fn: () => Promise<void>) =>
    async (): Promise<void> => {
      note(`case: ${expect.getState().currentTestName}`);
      try {
        await fn();
      } catch (e) {
        const out = esp?.output() ?? '';
        (e as Error).message += `\n\nTimeline (hub log events: what the interpreter printed while the hub held the port):\n${timeline.slice(-80).join('\n')}\n\nInterpreter stdout (tail):\n${out.slice(-3000)}`;
        throw e;
      }
    };
  beforeAll(async () => {
    // Every client's log events, the ones of a client whose open() fails among them.
    jest.spyOn(HubClient.prototype, 'emit').mockImplementation(function (this: HubClient, ev: string | symbol, ...args: unknown[]) {
      if (ev === 'log') note(`hub log: ${JSON.stringify((args[0] as { msg: string }).msg)}`);
      return EventEmitter.prototype.emit.call(this, ev, ...args);
    });
    radio = await openPtyPair('radio');
    esp = await startEspruinoHub({ radio: radio.a, board: 'linux-console', config: { consoleIdleS: IDLE_S } });
  }, 60000);
  afterAll(() => {
    jest.restoreAllMocks();
    esp?.close();
    radio?.close();
  });

  it('on request, and a HubClient takes it back', explained(async () => {
    const hub = await HubClient.open(esp.port, 5000);
    expect(await hub.request('console')).toMatchObject({ ok: true });
    await hub.close();
    expect(await replAnswers(esp.port)).toBe(true);
    expect(await hubAnswers(esp.port)).toBe(hub.info.fw);
    // Held again: what is typed now is bytes between frames, not code.
    expect(await replAnswers(esp.port)).toBe(false);
  }), 30000);

  it('on a break: two lone Ctrl-C', explained(async () => {
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
    expect(await replAnswers(esp.port, ['\x03'])).toBe(false); // one is not a break
    expect(await replAnswers(esp.port, ['\x03', '\x03'])).toBe(true);
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
    // Both in one read, as a busy board may take them.
    expect(await replAnswers(esp.port, ['\x03\x03'])).toBe(true);
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
  }), 30000);

  it('to the espruino CLI, which breaks in by itself', explained(async () => {
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
    const r = await runEspruinoCli(esp.port, ['-e', 'print("cli"+6*7)'], 30000);
    expect(r.output).toContain('cli42');
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
  }), 40000);

  it(`after ${IDLE_S} s without a frame`, explained(async () => {
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
    await new Promise((r) => setTimeout(r, IDLE_S * 1000 + 1000));
    expect(await replAnswers(esp.port)).toBe(true);
    expect(await hubAnswers(esp.port)).toMatch(/^\d/);
  }), 30000);
});
