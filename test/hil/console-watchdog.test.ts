// The emulated board's console watchdog probes only where the REPL echoes: at an empty top-level line, not
// inside a statement the espruino CLI began with DLE (echo off until it closes). (Its restarts are in
// flash.test.ts, against `chub emulate --espruino`.)
import { ReplInput } from '../../host-tools/espruino/console-watchdog';

function after(...sent: string[]): boolean {
  const r = new ReplInput();
  for (const s of sent) r.feed(Buffer.from(s, 'latin1'));
  return r.atPrompt();
}

describe('where the console watchdog may probe', () => {
  it('at a fresh console, after whole statements, and after Ctrl-C', () => {
    expect(after()).toBe(true);
    expect(after('\x10require("Storage").write("a",atob("QUJD"),0,3)\n')).toBe(true);
    expect(after('\x03')).toBe(true);
    expect(after('\x10if (x) {\n', '\x03')).toBe(true);
  });

  it('not inside a line or a statement that spans lines', () => {
    expect(after('\x10print(1')).toBe(false);
    expect(after('\x10if (x) {\n')).toBe(false);
    expect(after('\x10var a = [1,\n', '2];\n')).toBe(true);
  });

  it('counts brackets outside strings and comments only', () => {
    expect(after('print("(")\n')).toBe(true);
    expect(after("print('[\\'')\n")).toBe(true);
    expect(after('print(1) // (\n')).toBe(true);
    expect(after('/* { */ print(1)\n')).toBe(true);
    expect(after('/* {\n')).toBe(false);
    expect(after('print("a\n')).toBe(false);
  });
});
