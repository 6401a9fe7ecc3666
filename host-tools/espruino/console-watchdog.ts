// The emulated board's console, watched. Tools reach the interpreter's REPL through a relay that notices
// when the interpreter stops reading its console and restarts it (as one power-cycles a board), with a
// message, so a flash is not retried into an interpreter that will never read it. The IO-queue race fixed
// by the interpreters' patch 0005 (../shared/tools/espruino) stalled stdin for good; this catches any
// such stall. Silence alone proves nothing (the espruino CLI sends Storage writes with echo off, which
// answer nothing), so input left unanswered gets a probe, a space and a backspace, which the REPL echoes
// whenever it waits at a top-level line; no echo within a bound means it no longer reads.
import * as fs from 'fs';
import * as path from 'path';
import { SerialPort } from 'serialport';
import { openPtyPair, openPtyProcess, PtyPair, PtyProcess } from '../serial/pty-pair';

/** Input unanswered this long gets a probe. */
export const QUIET_MS = 2000;
/** A probe unanswered this long means the interpreter no longer reads its console. Generous: a REPL busy
 *  with a Storage write or a boot answers once done, and tests run beside busy loops. */
export const PROBE_MS = 10000;
/** An interpreter that stops reading or exits sooner than this after starting is not started again (it
 *  would only do so again). */
const MIN_RUN_MS = 5000;
/** A stopped interpreter gets this long to exit after SIGTERM before SIGKILL (which may lose Storage writes
 *  still buffered). */
const EXIT_MS = 5000;

const PROBE = ' \x7f';
const PROBE_ECHO = ' \b \b';

/**
 * What the REPL has been sent, as far as a probe cares: whether it now waits at an empty top-level line,
 * where a probe is echoed. Inside a statement begun with DLE (how the espruino CLI sends everything) echo
 * stays off until the statement closes, so a probe there would go unanswered. Brackets are counted outside
 * strings and comments, as the REPL does to decide a statement is complete; Ctrl-C clears the line.
 */
export class ReplInput {
  private depth = 0;
  private quote = '';
  private escaped = false;
  private comment: '' | 'line' | 'block' = '';
  private prev = '';
  private last = '\n';

  feed(d: Buffer): void {
    for (const c of d.toString('latin1')) this.char(c);
  }

  private char(c: string): void {
    const prev = this.prev;
    this.prev = c;
    this.last = c;
    if (c === '\x03') {
      this.depth = 0;
      this.quote = '';
      this.comment = '';
      return;
    }
    if (this.comment === 'line') {
      if (c === '\n' || c === '\r') this.comment = '';
    } else if (this.comment === 'block') {
      if (prev === '*' && c === '/') {
        this.comment = '';
        this.prev = '';
      }
    } else if (this.quote) {
      if (this.escaped) this.escaped = false;
      else if (c === '\\') this.escaped = true;
      else if (c === this.quote) this.quote = '';
    } else if (c === '"' || c === "'" || c === '`') this.quote = c;
    else if (prev === '/' && (c === '/' || c === '*')) this.comment = c === '/' ? 'line' : 'block';
    else if (c === '(' || c === '[' || c === '{') this.depth++;
    else if (c === ')' || c === ']' || c === '}') this.depth = Math.max(0, this.depth - 1);
  }

  atPrompt(): boolean {
    return this.depth === 0 && !this.quote && this.comment !== 'block' && (this.last === '\n' || this.last === '\r' || this.last === '\x03');
  }
}

export interface WatchedConsoleOptions {
  /** The interpreter binary, run with no arguments (REPL on stdin/stdout). */
  program: string;
  /** Its working directory: the board's Storage (./espruino.flash) is there. */
  cwd: string;
  /** Where the ptys' links go. */
  dir: string;
  log: (line: string) => void;
}

export interface WatchedConsole {
  /** The console for tools (`espruino`, `chub flash`): a pty that stays while the interpreter behind it is restarted. */
  link: string;
  close(): void;
}

/** The pid of `parent`'s child with working directory `cwd`, if any (Linux /proc). */
function childIn(parent: number, cwd: string): number | undefined {
  for (const p of childrenOf(parent)) {
    try {
      if (fs.readlinkSync(`/proc/${p}/cwd`) === cwd) return p;
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function childrenOf(parent: number): number[] {
  const out: number[] = [];
  for (const e of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'latin1');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * The interpreter in `cwd` that `ancestor` runs through openPtyProcess (ancestor → sh → socat → interpreter),
 * or undefined. Tests use it to stop the interpreter behind a `chub emulate` they started.
 */
export function interpreterUnder(ancestor: number, cwd: string): number | undefined {
  const dir = fs.realpathSync(cwd);
  for (const sh of childrenOf(ancestor)) for (const socat of childrenOf(sh)) {
    const p = childIn(socat, dir);
    if (p !== undefined) return p;
  }
  return undefined;
}

class ConsoleRelay implements WatchedConsole {
  readonly link: string;
  private outer: SerialPort;
  private proc?: PtyProcess;
  private inner?: SerialPort;
  private interpreterPid?: number;
  private pidSought = false;
  private started = 0;
  private generation = 0;
  private repl = new ReplInput();
  /** When input went to the interpreter with no output since. */
  private unanswered?: number;
  /** A probe that is out: when it went, and the interpreter's output held meanwhile (to take its echo out). */
  private probe?: { at: number; out: string };
  /** Input held while a probe is out (so it does not run into the probe). */
  private held: Buffer[] = [];
  /** No interpreter to send to: restarting, given up, or closed. */
  private down = true;
  private closed = false;
  private timer: NodeJS.Timeout;

  constructor(
    private opts: WatchedConsoleOptions,
    private pair: PtyPair,
  ) {
    this.link = pair.b;
    this.outer = new SerialPort({ path: pair.a, baudRate: 115200 });
    this.outer.on('data', (d: Buffer) => this.fromTool(d));
    this.outer.on('error', () => undefined); // the pty goes away on close
    this.timer = setInterval(() => this.tick(), 250);
    this.timer.unref();
  }

  async start(): Promise<void> {
    const link = path.join(this.opts.dir, `interpreter-${process.pid}-${this.generation++}`);
    this.proc = await openPtyProcess(this.opts.program, link, this.opts.cwd);
    const inner = new SerialPort({ path: link, baudRate: 115200 });
    this.inner = inner;
    inner.on('data', (d: Buffer) => this.fromInterpreter(d));
    inner.on('error', () => undefined); // reported by 'close'
    inner.once('close', () => {
      if (this.inner === inner) void this.restart('exited');
    });
    this.started = Date.now();
    this.interpreterPid = undefined;
    this.pidSought = false;
    this.repl = new ReplInput();
    this.unanswered = undefined;
    this.probe = undefined;
    this.held = [];
    this.down = false;
  }

  private fromTool(d: Buffer): void {
    if (this.down) return;
    if (this.probe) {
      this.held.push(d);
      return;
    }
    this.inner!.write(d);
    this.repl.feed(d);
    this.unanswered ??= Date.now();
  }

  private fromInterpreter(d: Buffer): void {
    // It has printed (its banner at least), so it runs under socat now: look once.
    if (!this.pidSought) {
      this.pidSought = true;
      this.interpreterPid = interpreterUnderSocat(this.opts.cwd);
    }
    if (!this.probe) {
      this.unanswered = undefined;
      this.outer.write(d);
      return;
    }
    this.probe.out += d.toString('latin1');
    const i = this.probe.out.indexOf(PROBE_ECHO);
    if (i < 0) return;
    const rest = this.probe.out.slice(0, i) + this.probe.out.slice(i + PROBE_ECHO.length);
    this.probe = undefined;
    this.unanswered = undefined;
    if (rest) this.outer.write(Buffer.from(rest, 'latin1'));
    const held = this.held;
    this.held = [];
    for (const h of held) this.fromTool(h);
  }

  private tick(): void {
    if (this.down) return;
    const now = Date.now();
    if (this.probe) {
      if (now - this.probe.at >= PROBE_MS)
        void this.restart(`did not echo a probe within ${PROBE_MS / 1000} s, after input went unanswered for ${QUIET_MS / 1000} s: it no longer reads its console`);
    } else if (this.unanswered !== undefined && now - this.unanswered >= QUIET_MS && this.repl.atPrompt()) {
      this.probe = { at: now, out: '' };
      this.inner!.write(PROBE);
    }
  }

  private async restart(why: string): Promise<void> {
    if (this.down) return;
    this.down = true;
    const pid = this.interpreterPid ?? interpreterUnderSocat(this.opts.cwd);
    const ran = Date.now() - this.started;
    const dropped = this.held.reduce((n, b) => n + b.length, 0);
    const out = this.probe?.out ?? '';
    if (out) this.outer.write(Buffer.from(out, 'latin1'));
    await this.stopInterpreter(pid);
    if (this.closed) return;
    const who = `espruino console: the interpreter${pid ? ` (pid ${pid})` : ''} in ${this.opts.cwd} ${why}`;
    if (ran < MIN_RUN_MS) {
      this.opts.log(`${who}, ${(ran / 1000).toFixed(1)} s after it started: not starting it again (the console answers nothing now)`);
      return;
    }
    this.opts.log(`${who}: restarting it (its Storage is kept)${dropped ? `; ${dropped} bytes sent to it meanwhile are dropped` : ''}`);
    try {
      await this.start();
    } catch (e) {
      this.opts.log(`espruino console: could not restart the interpreter: ${(e as Error).message}`);
    }
  }

  /** Ends the interpreter (SIGTERM lets it finish its Storage writes; SIGCONT wakes one that was stopped). */
  private async stopInterpreter(pid: number | undefined): Promise<void> {
    const inner = this.inner;
    this.inner = undefined;
    if (inner?.isOpen) {
      const closed = new Promise<void>((r) => inner.once('close', () => r()));
      signal(pid, 'SIGTERM');
      signal(pid, 'SIGCONT');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise<void>((r) => (timer = setTimeout(r, EXIT_MS)))]);
      clearTimeout(timer);
      if (inner.isOpen) {
        signal(pid, 'SIGKILL');
        inner.close();
      }
    }
    // Its pty closed: it has exited (or socat's hang-up ends it). Its pid is not signalled again, as by now
    // it may be another process's.
    this.interpreterPid = undefined;
    this.proc?.close();
    this.proc = undefined;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const pid = this.interpreterPid;
    this.down = true;
    this.inner?.removeAllListeners('close');
    if (this.inner?.isOpen) this.inner.close();
    this.inner = undefined;
    // socat's hang-up ends a running interpreter; a stopped one needs waking to take it.
    signal(pid, 'SIGTERM');
    signal(pid, 'SIGCONT');
    this.proc?.close();
    if (this.outer.isOpen) this.outer.close();
    this.pair.close();
  }
}

/** The interpreter this process runs in `cwd` (through sh and socat). */
function interpreterUnderSocat(cwd: string): number | undefined {
  return interpreterUnder(process.pid, cwd);
}

function signal(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Starts the interpreter on a watched console (see the top of this file). */
export async function startWatchedConsole(opts: WatchedConsoleOptions): Promise<WatchedConsole> {
  const pair = await openPtyPair('console', opts.dir);
  const relay = new ConsoleRelay(opts, pair);
  try {
    await relay.start();
  } catch (e) {
    relay.close();
    throw e;
  }
  return relay;
}
