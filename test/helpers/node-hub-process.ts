// The Node-emulated hub as a process of its own, on ports and a state directory the test owns, so the
// test can SIGKILL it (a power cut with no chance to clean up) and start it again on the same files.
import { ChildProcess, spawn } from 'child_process';
import * as path from 'path';
import { NodeHub } from '../../firmware/node/node-hub';

const ROOT = path.resolve(__dirname, '..', '..');

/** What the child process runs. */
export function runHub([hostPort, radioPort, stateDir]: string[]): void {
  NodeHub.open({ hostPort, radioPort, stateDir, config: { uploadCheckpointBytes: 4096, silenceTimeoutMs: 120000 } }).then(
    () => process.stdout.write('ready\n'),
    (e) => {
      process.stderr.write(String(e) + '\n');
      process.exit(1);
    },
  );
}

/** Starts the hub process and resolves once its ports are open. */
export function startHubProcess(hostPort: string, radioPort: string, stateDir: string): Promise<ChildProcess> {
  const register = `require(${JSON.stringify(path.join(ROOT, 'node_modules', 'ts-node'))}).register({ project: ${JSON.stringify(path.join(ROOT, 'tsconfig.json'))}, transpileOnly: true, swc: true });`;
  const code = `${register} require(${JSON.stringify(__filename)}).runHub(process.argv.slice(1));`;
  const proc = spawn(process.execPath, ['-e', code, hostPort, radioPort, stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    proc.stdout!.on('data', (d) => {
      if (String(d).includes('ready')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`hub process exited (${code}) before it was ready: ${err}`)));
  });
}

/** SIGKILL: the process gets no chance to finish a write or close a file. */
export function killHard(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}
