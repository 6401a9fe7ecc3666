// `make demo`: the product end to end, through the real `chub` commands. A simulated HAN (`chub sim`:
// one PPMID, one HCALCS) and an emulated hub (`chub emulate --radio`) run as child processes on ptys;
// then a ~200 KB image is made, uploaded, distributed with progress, the alerts and versions read, the
// HCALCS activated, and the alerts acknowledged. Every child is stopped on exit, failure or Ctrl-C.
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { SimDeviceState } from './sim/ota-client';

const CHUB = path.join(__dirname, 'bin', 'chub');
const PPMID = '000D6F0000000001';
const HCALCS = '000D6F0000000002';
const NEW_VERSION = '0x00000002';
/** Simulated radio and device delays × this: the transfer takes seconds, not minutes. */
const TIME_SCALE = '0.02';
const START_TIMEOUT_MS = 15000;
const REBOOT_TIMEOUT_MS = 30000;

const children: ChildProcess[] = [];
const t0 = Date.now();
let step = 0;

function heading(title: string): void {
  step++;
  console.log(`\n\x1b[1m== ${step}. ${title} ==\x1b[0m`);
}

function say(text: string): void {
  console.log(`\x1b[2m${text}\x1b[0m`);
}

/** Runs one `chub` command in the foreground, its output on ours; fails the demo on a non-zero exit. */
function chub(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  console.log(`\x1b[36m$ chub ${args.join(' ')}\x1b[0m`);
  return new Promise((resolve, reject) => {
    const p = spawn(CHUB, args, { stdio: ['ignore', 'inherit', 'inherit'], env });
    children.push(p);
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      children.splice(children.indexOf(p), 1);
      if (code === 0) resolve();
      else reject(new Error(`chub ${args[0]} ${signal ? `was killed by ${signal}` : `exited with ${code}`}`));
    });
  });
}

/** Starts a long-running `chub` command with --json and hands each JSON line it prints to `onLine`. */
function background(args: string[], onLine: (v: Record<string, unknown>) => void): ChildProcess {
  console.log(`\x1b[36m$ chub ${args.join(' ')} &\x1b[0m`);
  const p = spawn(CHUB, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(p);
  readline.createInterface({ input: p.stdout! }).on('line', (line) => {
    try {
      onLine(JSON.parse(line));
    } catch {
      console.log(line);
    }
  });
  p.on('exit', () => children.splice(children.indexOf(p), 1));
  return p;
}

/** Resolves with the first value `pick` finds among a background command's lines, or fails after ms. */
function firstLine<T>(args: string[], pick: (v: Record<string, unknown>) => T | undefined, also: (v: Record<string, unknown>) => void = () => undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    let found = false;
    const timer = setTimeout(() => reject(new Error(`chub ${args[0]} did not start within ${START_TIMEOUT_MS / 1000} s`)), START_TIMEOUT_MS);
    const p = background(args, (v) => {
      const x = found ? undefined : pick(v);
      if (x !== undefined) {
        found = true;
        clearTimeout(timer);
        resolve(x);
      } else also(v);
    });
    p.on('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`chub ${args[0]} exited with ${code} before it was ready`));
    });
  });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-demo-'));
let stopping: Promise<void> | undefined;

/** Stops every child and removes the temp dir, once, however many paths (end, failure, Ctrl-C) ask. */
function shutdown(): Promise<void> {
  stopping ??= (async () => {
    // Newest first: the hub before the simulator it talks to.
    for (const p of [...children].reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      const killer = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  })();
  return stopping;
}

async function demo(): Promise<void> {
  const devices = new Map<string, SimDeviceState>();
  const deviceWaiters: (() => void)[] = [];
  const onDevice = (v: Record<string, unknown>) => {
    const s = v.device as SimDeviceState | undefined;
    if (!s) return;
    devices.set(s.eui, s);
    deviceWaiters.forEach((w) => w());
  };
  const deviceReaches = (eui: string, pred: (s: SimDeviceState) => boolean, what: string) =>
    new Promise<SimDeviceState>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), REBOOT_TIMEOUT_MS);
      const check = () => {
        const s = devices.get(eui);
        if (s && pred(s)) {
          clearTimeout(timer);
          deviceWaiters.splice(deviceWaiters.indexOf(check), 1);
          resolve(s);
        }
      };
      deviceWaiters.push(check);
      check();
    });

  heading('A simulated HAN: a Z-Stack ZNP co-processor with one PPMID and one HCALCS');
  say(`Both run firmware 0x00000001 on hardware 0x0002. Radio and device delays run ${1 / Number(TIME_SCALE)}× faster than real time.`);
  const simArgs = ['sim', '--json', '--time-scale', TIME_SCALE, '--device', `PPMID:${PPMID}`, '--device', `HCALCS:${HCALCS}`];
  const radio = await firstLine(simArgs, (v) => v.radio as string | undefined, onDevice);
  console.log(`radio UART of the simulated stick: ${radio}`);

  heading('An emulated Comms Hub: the hub firmware core on Node, its radio UART on the simulator');
  const port = await firstLine(['emulate', '--json', '--radio', radio], (v) => v.port as string | undefined);
  console.log(`host link: ${port}`);
  const env = { ...process.env, CHUB_PORT: port };
  await chub(['status'], env);

  heading('A ~200 KB OTA image, version 0x00000002, for hardware 0x0001-0x0010');
  const image = path.join(dir, 'fw-v2.ota');
  await chub(['image', 'make', '-o', image, '--version', NEW_VERSION, '--size', '200k'], env);
  await chub(['image', 'inspect', image], env);

  heading('The device log: only whitelisted devices are given firmware');
  await chub(['devices', 'add', PPMID, '--type', 'PPMID'], env);
  await chub(['devices', 'add', HCALCS, '--type', 'HCALCS'], env);
  await chub(['devices', 'list'], env);

  heading('Upload the image to the hub (pipelined, CRC-checked, resumable)');
  await chub(['upload', image, '--name', 'fw-v2'], env);

  heading('Distribute it over the HAN (ZigBee OTA cluster) to both devices');
  await chub(['distribute', '--image', 'fw-v2', '--device', PPMID, '--device', HCALCS, '--wait'], env);

  heading('The GBCS alerts the hub raised: one 0x8F8A per device');
  await chub(['alerts'], env);

  heading('Read the firmware versions (CS08 → alert 0x8F8B)');
  say('The PPMID activated the image as soon as it had it:');
  await deviceReaches(PPMID, (s) => s.state === 'idle' && s.fileVersion === 2, 'the PPMID to reboot into 0x00000002');
  await chub(['version', '--device', PPMID], env);
  say('The HCALCS still runs the old version and holds the new one until it is told to activate:');
  await chub(['version', '--device', HCALCS], env);

  heading('Activate the firmware on the HCALCS, then read its version again');
  await chub(['activate', '--device', HCALCS], env);
  await deviceReaches(HCALCS, (s) => s.state === 'idle' && s.fileVersion === 2, 'the HCALCS to reboot into 0x00000002');
  await chub(['version', '--device', HCALCS], env);

  heading('Acknowledge the alerts (the hub keeps them until then)');
  await chub(['alerts', '--ack'], env);
  await chub(['status'], env);

heading(`Done in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

let interruptedBy: NodeJS.Signals | undefined;
const interrupt = (sig: NodeJS.Signals) => {
  if (interruptedBy) return;
  interruptedBy = sig;
  console.error(`\n${sig}: stopping the demo's processes`);
  shutdown().then(() => process.exit(130));
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);

demo().then(
  () => shutdown().then(() => process.exit(0)),
  (e) => {
    // A child that stopped because of Ctrl-C is not a failure to report.
    if (interruptedBy) return;
    console.error(`\ndemo failed: ${(e as Error).message}`);
    shutdown().then(() => process.exit(1));
  },
);
