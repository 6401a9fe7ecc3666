// `chub emulate` run as a child process, as a user runs it: its JSON line gives the ports.
import { ChildProcess, execFile, spawn } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { findInterpreter } from '../../host-tools/espruino/linux-interpreter';

export const CHUB = path.resolve(__dirname, '../../host-tools/bin/chub');

export interface ChubResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real binary to the end, as a user would: from a neutral cwd, CHUB_PORT only if given; the exit
 *  code is -1 when it was killed after `timeout` ms. */
export function chub(args: string[], port?: string, timeout = 30000): Promise<ChubResult> {
  const env = { ...process.env };
  delete env.CHUB_PORT;
  if (port) env.CHUB_PORT = port;
  return new Promise((resolve) => {
    execFile(CHUB, args, { env, cwd: os.tmpdir(), timeout }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

export interface Emulation {
  port: string;
  radio: string;
  console?: string;
  proc: ChildProcess;
  /** The last 8 KB of its stderr (also passed through): progress, and with --espruino a note if the
   *  interpreter exited by itself. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `chub emulate --json ...args`; resolves once it has printed its ports. */
export function startEmulate(args: string[], ms = 60000): Promise<Emulation> {
  const proc = spawn(CHUB, ['emulate', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    process.stderr.write(d);
    stderr = (stderr + d.toString()).slice(-8192);
  });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`chub emulate ${args.join(' ')} printed no ports within ${ms} ms`));
    }, ms);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`chub emulate ${args.join(' ')} exited with ${code}: ${stderr.trim().split('\n').slice(-5).join('\n')}`));
    });
    readline.createInterface({ input: proc.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve({ ...(JSON.parse(line) as { port: string; radio: string; console?: string }), proc, stderr: () => stderr, stop });
    });
  });
}

/**
 * Whether the Espruino interpreter is there for `suite`. Missing: an error under CI (the suite must run
 * there), else a loud warning and false, so the suite skips itself.
 */
export function haveInterpreter(suite: string): boolean {
  try {
    findInterpreter(true);
    findInterpreter(false);
    return true;
  } catch (e) {
    if (process.env.CI) throw new Error(`${suite}: ${(e as Error).message}`);
    console.warn(`\n*** SKIPPING ${suite}: ${(e as Error).message}\n`);
    return false;
  }
}
