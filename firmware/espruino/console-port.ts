// A host link on the console's own port (USB or Bluetooth on most boards): the hub takes the port from
// the REPL for its frames, and gives it back so the board can always be reflashed without a button
// press (FACTS §5): on the host's `console` request, on a break (two lone Ctrl-C bytes, which is what the
// Espruino IDE and CLI send when no prompt answers them), and after `idleMs` without a good frame.
// `chubLink()` typed at the REPL (HubClient sends it before hello) takes the port back.

/** The Ctrl-C bytes that make a break, and the time they must fall within (the CLI sends two, 500 ms apart). */
const BREAK_KEYS = '\x03\x03';
const BREAK_WINDOW_MS = 3000;

export class ConsolePort {
  /** Whether the hub holds the port (else the REPL does, and input never reaches the hub). */
  owned = false;
  /** When the host was last heard: a good frame arrived (set by the caller). */
  lastFrame = 0;
  private breaks = 0;
  private firstBreak = 0;

  constructor(private port: EspruinoSerial, private idleMs: number) {}

  take(now: number): void {
    LoopbackA.setConsole(true);
    this.owned = true;
    this.lastFrame = now;
    this.breaks = 0;
  }

  give(): void {
    this.port.setConsole(true);
    this.owned = false;
  }

  /** A read from the port (`d`), or none (null: the hub's tick, after which a port idle for idleMs goes back).
   *  Returns whether the read is a break (it then gives the port back); `midFrame` reads never are. A busy
   *  board can read both Ctrl-C in one piece, so a read of Ctrl-C bytes only counts each of them. Any other
   *  read starts the count again: a Ctrl-C, then a line, then a Ctrl-C is no break (else the REPL gets the
   *  next Ctrl-C, which on the Linux interpreter, pressed twice, ends it). (One function for both: each costs
   *  JsVars on the board.) */
  input(d: string | null, midFrame: boolean, now: number): boolean {
    if (d === null) {
      if (this.owned && this.idleMs > 0 && now - this.lastFrame > this.idleMs) this.give();
      return false;
    }
    if (midFrame || d === '' || BREAK_KEYS.substr(0, d.length) !== d) {
      this.breaks = 0;
      return false;
    }
    if (this.breaks === 0 || now - this.firstBreak > BREAK_WINDOW_MS) {
      this.breaks = 0;
      this.firstBreak = now;
    }
    this.breaks += d.length;
    if (this.breaks < BREAK_KEYS.length) return false;
    this.give();
    return true;
  }
}
