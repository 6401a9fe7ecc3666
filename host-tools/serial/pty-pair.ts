// A pair of linked pseudo-terminals made by socat: what one side writes the other reads, byte for byte.
// Used wherever a real serial cable would be: hub host link, hub radio UART, simulator.
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface PtyPair {
  /** Two paths (symlinks to /dev/pts/N) that behave as the two ends of a null-modem cable. */
  a: string;
  b: string;
  close(): void;
}

let counter = 0;

// socat has no "exit with my parent" option; this wrapper ends it once the Node process is gone, even
// after a SIGKILL that gave Node no chance to clean up. $1/$2 are the two addresses, $3 the parent pid.
const WATCHDOG = 'socat "$1" "$2" & s=$!; while kill -0 "$3" 2>/dev/null && kill -0 $s 2>/dev/null; do sleep 1; done; kill $s 2>/dev/null; wait $s';

/** Creates a linked pty pair under `dir` (default: a fresh temp dir). Needs `socat` on the PATH. */
export async function openPtyPair(name = 'pty', dir?: string): Promise<PtyPair> {
  const ownDir = dir === undefined;
  const base = dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'chub-'));
  const n = `${process.pid}-${counter++}`;
  const a = path.join(base, `${name}-${n}-a`);
  const b = path.join(base, `${name}-${n}-b`);
  try {
    const stop = await startSocat(`PTY,rawer,link=${a}`, `PTY,rawer,link=${b}`, [a, b]);
    return {
      a,
      b,
      close() {
        stop();
        // socat removes its links when it exits; the directory is ours to remove.
        if (ownDir) fs.rmSync(base, { recursive: true, force: true });
      },
    };
  } catch (e) {
    if (ownDir) fs.rmSync(base, { recursive: true, force: true });
    throw e;
  }
}

/** A program whose stdin/stdout is a pty (socat EXEC), reachable at `link`: a console as on a board. */
export interface PtyProcess {
  link: string;
  close(): void;
}

/** Runs `program` (no arguments) in `cwd` on a pty that socat also makes available at `link`. */
export async function openPtyProcess(program: string, link: string, cwd: string): Promise<PtyProcess> {
  if (/[",!]/.test(program)) throw new Error(`cannot run ${program} under socat: its path has a quote, comma or "!"`);
  // setsid+ctty: the program gets the pty as its terminal, so closing socat hangs it up and it exits.
  const stop = await startSocat(`PTY,rawer,link=${link}`, `EXEC:"${program}",pty,rawer,setsid,ctty`, [link], cwd);
  return { link, close: stop };
}

/** Starts socat between two addresses and waits for `links` to appear; resolves with a stop function. */
async function startSocat(addrA: string, addrB: string, links: string[], cwd?: string): Promise<() => void> {
  let proc: ChildProcess;
  try {
    // Its own process group, so stopping ends the wrapper and socat (and what socat runs) together.
    proc = spawn('sh', ['-c', WATCHDOG, 'sh', addrA, addrB, String(process.pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      cwd,
    });
  } catch (e) {
    throw new Error(`cannot start socat (install it: apt-get install socat): ${(e as Error).message}`);
  }
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d.toString()));
  const spawnError = new Promise<never>((_, reject) =>
    proc.once('error', (e) => reject(new Error(`cannot start socat (install it: apt-get install socat): ${e.message}`))),
  );
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) =>
      reject(new Error(code === 127 ? 'socat is not installed (apt-get install socat)' : `socat exited (${code}) before creating ptys: ${stderr.trim()}`)),
    ),
  );
  const ready = (async () => {
    for (let i = 0; i < 200; i++) {
      if (links.every((l) => fs.existsSync(l))) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`socat did not create ${links.join(' and ')} within 2 s`);
  })();
  try {
    await Promise.race([ready, spawnError, exited]);
  } catch (e) {
    killGroup(proc);
    throw e;
  }
  proc.removeAllListeners('exit');
  proc.on('exit', () => undefined);
  return () => killGroup(proc);
}

function killGroup(proc: ChildProcess): void {
  if (proc.exitCode !== null || proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
