// The real `chub` binary, run as a user would, against `chub emulate` (a child process too).
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { HubClient } from '../../host-tools/link/hub-client';
import { CHUB, chub } from '../helpers/chub-emulate';

const PPMID = '000D6F0000000001';

let emulate: ChildProcess;
let port: string;
let dir: string;

/** `chub emulate --json` with `args`: the process and its host-link port. */
async function startEmulate(args: string[]): Promise<{ proc: ChildProcess; port: string }> {
  const proc = spawn(CHUB, ['emulate', '--json', '--time-scale', '0.05', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('chub emulate printed no port within 15 s')), 15000);
    readline.createInterface({ input: proc.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line).port);
    });
    proc.once('exit', (code) => reject(new Error(`chub emulate exited with ${code}`)));
  });
  return { proc, port };
}

/** SIGTERM, and the exit code. */
async function stopEmulate(proc: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill('SIGTERM');
  return exited;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-cli-test-'));
  ({ proc: emulate, port } = await startEmulate([]));
});

afterAll(async () => {
  if (emulate && emulate.exitCode === null) {
    expect(await stopEmulate(emulate)).toBe(0);
    // socat removed its pty links: nothing is left running behind the hub.
    expect(fs.existsSync(port)).toBe(false);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

// Each --help is a fresh process (~0.5 s of start-up): run them side by side.
test.concurrent.each([
  [['emulate'], ['--radio', '--state', '--board', '--sim-device', '--time-scale', '--json']],
  [['devices', 'add'], ['--type', '--port']],
  [['devices', 'list'], ['--json', '--port']],
  [['devices', 'remove'], ['--port']],
  [['upload'], ['--name', '--json', '--port']],
  [['distribute'], ['--image', '--stream', '--name', '--device', '--force', '--wait', '--ack', '--json']],
  [['status'], ['--json', '--port']],
  [['images'], ['--json', '--port']],
  [['images', 'rm'], ['--json', '--port']],
  [['jobs'], ['--json', '--port']],
  [['jobs', 'cancel'], ['--json', '--port']],
  [['alerts'], ['--ack', '--json', '--port']],
  [['alerts', 'ack'], ['--json', '--port']],
  [['activate'], ['--device', '--at']],
  [['version'], ['--device', '--timeout', '--json']],
  [['monitor'], ['--until-done']],
  [['image', 'make'], ['--output', '--version', '--size']],
  [['image', 'inspect'], ['--json']],
  [['sim'], ['--port', '--device', '--time-scale']],
])('chub %j --help exits 0, shows its options and an example', async (cmd, options) => {
  const r = await chub([...cmd, '--help']);
  expect(r.code).toBe(0);
  for (const o of options) expect(r.stdout).toContain(o);
  expect(r.stdout).toMatch(/Examples?:\n\s+\$ chub /);
});

test('image make writes a file that image inspect calls servable', async () => {
  const file = path.join(dir, 'fw-v2.ota');
  expect((await chub(['image', 'make', '-o', file, '--version', '0x00000002', '--size', '10k'])).code).toBe(0);
  const r = await chub(['image', 'inspect', file]);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('servable');
  expect(r.stdout).toContain('0x00000002');
});

test('devices add, then devices list --json is JSON that holds the device', async () => {
  expect((await chub(['devices', 'add', PPMID, '--type', 'PPMID'], port)).code).toBe(0);
  const r = await chub(['devices', 'list', '--json', '--port', port]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ eui: PPMID, type: 'PPMID' })]);
});

test('upload and distribute --wait through the CLI end with the device done and a 0x8F8A alert', async () => {
  const file = path.join(dir, 'fw-v3.ota');
  expect((await chub(['image', 'make', '-o', file, '--version', '0x00000003', '--size', '16k'])).code).toBe(0);
  const up = await chub(['upload', file, '--name', 'fw-v3', '--json'], port);
  expect(up.code).toBe(0);
  expect(JSON.parse(up.stdout)).toMatchObject({ name: 'fw-v3', size: 16384, image: { complete: true, fileVersion: 3 } });
  const dist = await chub(['distribute', '--image', 'fw-v3', '--device', PPMID, '--wait', '--json'], port);
  expect(dist).toEqual(expect.objectContaining({ code: 0 })); // on failure, shows all chub said
  expect(JSON.parse(dist.stdout)).toEqual([expect.objectContaining({ eui: PPMID, state: 'done', off: 16384 })]);
  const alerts = await chub(['alerts', '--json'], port);
  expect(JSON.parse(alerts.stdout)).toEqual([expect.objectContaining({ code: 0x8f8a, eui: PPMID, fileVersion: 3, responseCode: 0 })]);
});

test('distribute --stream serves the image from the file while the device downloads it; the hub stores none of it', async () => {
  const file = path.join(dir, 'fw-v4.ota');
  expect((await chub(['image', 'make', '-o', file, '--version', '0x00000004', '--size', '12k'])).code).toBe(0);
  const dist = await chub(['distribute', '--stream', file, '--name', 'fw-v4', '--device', PPMID, '--json'], port);
  expect(dist).toEqual(expect.objectContaining({ code: 0 })); // on failure, shows all chub said
  expect(JSON.parse(dist.stdout)).toEqual([expect.objectContaining({ eui: PPMID, state: 'done', off: 12288, fileVersion: 4 })]);
  const status = await chub(['status', '--json'], port);
  expect(JSON.parse(status.stdout).images).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'fw-v4', streamed: true })]));
  const both = await chub(['distribute', '--stream', file, '--image', 'fw-v4', '--device', PPMID], port);
  expect(both.code).toBe(2);
  expect(both.stderr).toMatch(/one of --image .* and --stream/);
});

test('jobs cancel ends an HCALCS job that holds its image; images rm removes the image; both refuse clearly what is not there', async () => {
  const HCALCS = '000D6F0000000002';
  const file = path.join(dir, 'fw-v7.ota');
  expect((await chub(['image', 'make', '-o', file, '--version', '7', '--size', '4k'])).code).toBe(0);
  expect((await chub(['devices', 'add', HCALCS, '--type', 'HCALCS'], port)).code).toBe(0);
  expect((await chub(['upload', file, '--name', 'fw-v7'], port)).code).toBe(0);
  // Distributing an image makes it IN_USE until its jobs end.
  const dist = await chub(['distribute', '--image', 'fw-v7', '--device', HCALCS, '--wait', '--json'], port, 60000);
  expect(dist.code).toBe(0);
  const [job] = JSON.parse(dist.stdout);
  expect(job).toMatchObject({ eui: HCALCS, state: 'transferred' });
  const busy = await chub(['images', 'rm', 'fw-v7'], port);
  expect(busy.code).toBe(1);
  expect(busy.stderr).toMatch(/fw-v7.*is being distributed/);

  const cancel = await chub(['jobs', 'cancel', String(job.id), '--json'], port);
  expect(cancel.code).toBe(0);
  expect(JSON.parse(cancel.stdout)).toEqual([expect.objectContaining({ id: job.id, eui: HCALCS, state: 'done' })]);
  const again = await chub(['jobs', 'cancel', String(job.id)], port);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain(`job #${job.id} is already done; nothing to cancel`);
  expect((await chub(['jobs', 'cancel', 'seven'], port)).code).toBe(2);
  expect(JSON.parse((await chub(['jobs', '--json'], port)).stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id: job.id, state: 'done' })]));

  const rm = await chub(['images', 'rm', 'fw-v7'], port);
  expect(rm).toMatchObject({ code: 0, stdout: 'removed fw-v7\n' });
  expect(JSON.parse((await chub(['images', '--json'], port)).stdout).map((i: { name: string }) => i.name)).not.toContain('fw-v7');
  const gone = await chub(['images', 'rm', 'fw-v7'], port);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toContain('no image named fw-v7');
}, 90000);

test('a port that is not a serial port, or that another program holds, is refused saying so', async () => {
  const devNull = await chub(['status', '--port', '/dev/null']);
  expect(devNull.code).toBe(1);
  expect(devNull.stderr).toContain('/dev/null is not a serial port');
  const holder = await HubClient.open(port);
  try {
    const held = await chub(['status'], port);
    expect(held.code).toBe(1);
    expect(held.stderr).toContain(`hub port ${port} is in use by another program (another chub`);
  } finally {
    await holder.close();
  }
  expect((await chub(['status'], port)).code).toBe(0);
});

test('a bad EUI is a usage error that names it', async () => {
  const r = await chub(['devices', 'add', '12345XYZ', '--type', 'PPMID'], port);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('12345XYZ');
});

test('without --port or CHUB_PORT a hub command says how to name the port', async () => {
  const r = await chub(['devices', 'list']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--port/);
  expect(r.stderr).toMatch(/CHUB_PORT/);
});

test('a port where no hub answers fails with exit 1 naming the port', async () => {
  const r = await chub(['status', '--port', path.join(dir, 'no-such-tty')]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain('no-such-tty');
});

/** `chub emulate --board <board>` with three simulated PPMIDs (prefix + 1..3) in its device log, and an
 *  image file of version `version`; `f` gets the hub's port, the EUIs and the file. */
async function withBoardHub(board: string, prefix: string, version: number, f: (port: string, euis: string[], file: string) => Promise<void>, devices = 3): Promise<void> {
  const euis = Array.from({ length: devices }, (_, n) => `${prefix}${n + 1}`);
  const hub = await startEmulate(['--board', board, ...euis.flatMap((e) => ['--sim-device', `PPMID:${e}`])]);
  try {
    for (const e of euis) expect((await chub(['devices', 'add', e, '--type', 'PPMID'], hub.port)).code).toBe(0);
    const file = path.join(dir, `fw-v${version}.ota`);
    expect((await chub(['image', 'make', '-o', file, '--version', String(version), '--size', '4k'])).code).toBe(0);
    await f(hub.port, euis, file);
  } finally {
    expect(await stopEmulate(hub.proc)).toBe(0);
  }
}

test('a Puck.js-class hub (chub emulate --board puckjs: 5 transfers, 32 alerts) refuses uploads, and distribute --stream --wait sends 7 devices in waves as transfers end', async () => {
  await withBoardHub(
    'puckjs',
    '000D6F00000000A',
    5,
    async (hub, euis, file) => {
      // A streamed board stores no image: an upload is refused, and says what to do instead.
      const up = await chub(['upload', file, '--name', 'fw-v5'], hub);
      expect(up.code).not.toBe(0);
      expect(up.stderr).toMatch(/NOT_STORED|--stream/);
      // It holds 5 transfers: the first 5 devices run, the other 2 start as those end.
      const dist = await chub(['distribute', '--stream', file, '--wait', ...euis.flatMap((e) => ['--device', e])], hub, 90000);
      expect(dist.stdout).toMatch(/5 at once \(the hub's limit\); 2 start as these end/);
      expect(dist.code).toBe(0);
      const jobs = JSON.parse((await chub(['status', '--json'], hub)).stdout);
      expect(jobs.hub).toMatchObject({ board: 'puckjs', mode: 'streamed', maxJobs: 5, maxAlerts: 32 });
      expect((JSON.parse((await chub(['alerts', '--json'], hub)).stdout) as { eui: string; code: number }[]).map((a) => [a.eui, a.code]).sort()).toEqual(euis.map((e) => [e, 0x8f8a]).sort());
    },
    7,
  );
}, 120000);

test('distribute without --wait to more devices than the hub holds (chub emulate --board linux: 5) starts none and says to add --wait', async () => {
  await withBoardHub('linux', '000D6F00000000B', 6, async (hub, euis, file) => {
    expect((await chub(['upload', file, '--name', 'fw-v6'], hub)).code).toBe(0);
    const dist = await chub(['distribute', '--image', 'fw-v6', ...euis.flatMap((e) => ['--device', e])], hub);
    expect(dist.code).toBe(2);
    expect(dist.stderr).toMatch(/hub linux has room for 5 more transfer\(s\) now: 0 of at most 5 unfinished, and 0 of at most \d+ alerts held .*: give --wait/);
    expect(JSON.parse((await chub(['status', '--json'], hub)).stdout).jobs).toEqual([]);
  }, 6);
}, 60000);
