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
  let proc: ChildProcess;
  try {
    // Its own process group, so close() ends the wrapper and socat together.
    proc = spawn('sh', ['-c', WATCHDOG, 'sh', `PTY,rawer,link=${a}`, `PTY,rawer,link=${b}`, String(process.pid)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
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
      if (fs.existsSync(a) && fs.existsSync(b)) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`socat did not create ${a} and ${b} within 2 s`);
  })();
  try {
    await Promise.race([ready, spawnError, exited]);
  } catch (e) {
    killGroup(proc);
    if (ownDir) fs.rmSync(base, { recursive: true, force: true });
    throw e;
  }
  proc.removeAllListeners('exit');
  proc.on('exit', () => undefined);
  return {
    a,
    b,
    close() {
      killGroup(proc);
      // socat removes its links when it exits; the directory is ours to remove.
      if (ownDir) fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

function killGroup(proc: ChildProcess): void {
  if (proc.exitCode !== null || proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, 'SIGTERM');
  } catch {
    // already gone
  }
}
