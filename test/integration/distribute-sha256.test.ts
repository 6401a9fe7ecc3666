// `chub distribute --sha256` through the real CLI on every hub target: a stored image that is not the one
// named fails each job at once (0x8F89, response code 1 Image Discarded) and its devices are sent nothing; the
// right hash transfers; a streamed file is checked by the host. A signed GBCS image is uploaded, so the hub
// holds (and hashes) only its OTA file. Then the board setting hub.requireSha256, on the Node hub (board file)
// and on the bundle on the Espruino interpreter (the board's chub.json).
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BOARDS_DIR, BoardFileError, validateBoard } from '../../host-tools/boards/board-file';
import { hubConfigFor } from '../../host-tools/boards/hub-config';
import { EspruinoHub, startEspruinoHub } from '../../host-tools/espruino/espruino-hub';
import { Alert, Job } from '../../host-tools/link/hub-protocol';
import { ClientEvent } from '../../host-tools/sim/ota-client';
import { startSimulator, StartedSimulator } from '../../host-tools/sim/han-simulator';
import { chub as runChub, CHUB, Emulation, haveInterpreter, startEmulate } from '../helpers/chub-emulate';
import { deviceReaches } from '../helpers/hub-bench';
import { describeEachTarget, RunningHub } from '../helpers/hub-target';

/** The Espruino hub answers slower: a minute per command. */
const chub = (args: string[], port?: string, timeout = 60000) => runChub(args, port, timeout);

async function ok(args: string[], port?: string, timeout?: number): Promise<string> {
  const r = await chub(args, port, timeout);
  if (r.code !== 0) throw new Error(`chub ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-sha256-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A signed GBCS image of `size` bytes of OTA file, made and signed with chub; the SHA-256 inspect gives. */
async function signedImage(name: string, size: number): Promise<{ file: string; otaBytes: number; sha256: string }> {
  const key = path.join(dir, 'signer.pem');
  if (!fs.existsSync(key)) fs.writeFileSync(key, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'sec1', format: 'pem' }));
  const ota = path.join(dir, `${name}.ota`);
  const file = path.join(dir, `${name}.signed`);
  await ok(['image', 'make', '-o', ota, '--size', String(size)]);
  await ok(['image', 'sign', ota, '--key', key, '-o', file]);
  const report = JSON.parse(await ok(['image', 'inspect', file, '--json']));
  expect(report).toMatchObject({ servable: true, signature: 'unverified' });
  return { file, otaBytes: size, sha256: report.sha256 };
}

const other = (sha: string) => (sha[0] === '0' ? '1' : '0') + sha.slice(1);

test.concurrent.each([['xyz'], ['ab'.repeat(31)], ['ab'.repeat(33)], ['g'.repeat(64)]])('--sha256 %s: a usage error (exit 2) before any hub is looked for', async (bad) => {
  const r = await chub(['distribute', '--image', 'fw', '--sha256', bad, '--device', '000D6F0000000001', '--port', path.join(dir, 'no-such-port')]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`--sha256: want the image's SHA-256 as 64 hex digits, not "${bad}"`);
});

describeEachTarget('chub distribute --sha256', (target) => {
  const A = '000D6F00000000A1';
  const B = '000D6F00000000B1';
  let hub: RunningHub;
  let port: string;
  let image: { file: string; otaBytes: number; sha256: string };
  /** Blocks device A received, and the states it went through: when its image was discarded, no block and
   *  no download (it may still ask on its own, and be told there is no image). */
  const seenByA: string[] = [];

  beforeAll(async () => {
    hub = await target.start([`PPMID:${A}`, `PPMID:${B}`]);
    hub.sim.on('client', (eui: string, e: ClientEvent) => {
      if (eui === A && (e.kind === 'block' || (e.kind === 'state' && e.state !== 'idle' && e.state !== 'querying'))) seenByA.push(e.kind === 'block' ? `block at ${e.offset}` : e.state);
    });
    // chub takes the port as a user's would: this process lets go of it.
    port = hub.client.path;
    await hub.client.close();
    for (const eui of [A, B]) await ok(['devices', 'add', eui, '--type', 'PPMID'], port);
    image = await signedImage(`fw-${target.name}`, target.imageBytes);
    const up = JSON.parse(await ok(['upload', image.file, '--name', 'fw', '--json'], port));
    expect(up).toMatchObject({ size: image.otaBytes, image: { complete: true } }); // the OTA file, not the signature
  }, 180000);
  afterAll(async () => {
    await hub?.stop();
  });

  test('a stored image that differs: every job fails at once (0x8F89, response code 1), exit 1, and the devices are sent nothing', async () => {
    const r = await chub(['distribute', '--image', 'fw', '--sha256', other(image.sha256), '-d', A, '-d', B, '--json'], port);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the image fw on the hub is not the one --sha256 names: 2 job(s) failed at once (0x8F89, response code 1 Image Discarded)');
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ eui: A, state: 'failed', code: 1 }), expect.objectContaining({ eui: B, state: 'failed', code: 1 })]);
    const alerts = JSON.parse(await ok(['alerts', '--json'], port)) as Alert[];
    expect(alerts.map((a) => [a.eui, a.code, a.responseCode])).toEqual([
      [A, 0x8f89, 1],
      [B, 0x8f89, 1],
    ]);
    await ok(['alerts', 'ack', ...alerts.map((a) => String(a.id))], port);
  }, 60000);

  test('a streamed file that differs is refused here, naming both hashes; the hub never hears of it', async () => {
    const r = await chub(['distribute', '--stream', image.file, '--name', 'fws', '--sha256', other(image.sha256), '-d', B], port);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the SHA-256 of its OTA file is ${image.sha256}, not ${other(image.sha256)} (--sha256); nothing was streamed or started`);
    expect((JSON.parse(await ok(['images', '--json'], port)) as { name: string }[]).map((i) => i.name)).toEqual(['fw']);
  }, 60000);

  test('the right hash: the stored image reaches its device; the device whose job was discarded got nothing meanwhile', async () => {
    const out = await ok(['distribute', '--image', 'fw', '--sha256', image.sha256, '-d', B, '--wait', '--json'], port, 240000);
    expect(JSON.parse(out)).toEqual([expect.objectContaining({ eui: B, state: 'done', off: image.otaBytes })]);
    await deviceReaches(hub.sim, B, (s) => s.state === 'idle' && s.fileVersion === 2, 30000, `${B} to run the new image`);
    // A, whose job was discarded while B's transfer ran its course, was offered nothing and pulled no block.
    expect(seenByA).toEqual([]);
    // (It may be asking on its own just now: a query is no transfer.)
    expect(hub.sim.devices().find((d) => d.eui === A)).toMatchObject({ state: expect.stringMatching(/^(idle|querying)$/), blocks: 0, bytes: 0 });
  }, 300000);

  test('a streamed file with the right hash is checked here and streamed; the hub takes the hash as checked', async () => {
    const out = await ok(['distribute', '--stream', image.file, '--name', 'fws', '--sha256', image.sha256, '-d', A, '--json'], port, 240000);
    expect(JSON.parse(out)).toEqual([expect.objectContaining({ eui: A, state: 'done', off: image.otaBytes })]);
  }, 300000);
});

describe('board setting hub.requireSha256', () => {
  const linux = () => JSON.parse(fs.readFileSync(path.join(BOARDS_DIR, 'linux.json'), 'utf8'));

  test('a board file may set it (true or false; the core default is off); anything else is refused naming the field', () => {
    expect(hubConfigFor(validateBoard({ ...linux(), hub: { requireSha256: true } }, 'linux.json', 'linux'), '1').requireSha256).toBe(true);
    expect(hubConfigFor(validateBoard(linux(), 'linux.json', 'linux'), '1').requireSha256).toBe(false);
    expect(() => validateBoard({ ...linux(), hub: { requireSha256: 'yes' } }, 'linux.json', 'linux')).toThrow(BoardFileError);
    expect(() => validateBoard({ ...linux(), hub: { requireSha256: 1 } }, 'linux.json', 'linux')).toThrow('linux.json: "hub.requireSha256" must be true or false, not number 1');
  });

  /** On a hub that requires the hash: without --sha256 refused (exit 1, NO_SHA256) and nothing started; with it, started. */
  async function requires(port: string): Promise<void> {
    const PPMID = '000D6F0000000001';
    await ok(['devices', 'add', PPMID, '--type', 'PPMID'], port);
    const image = await signedImage('fw-required', 4096);
    await ok(['upload', image.file, '--name', 'fw'], port);
    const without = await chub(['distribute', '--image', 'fw', '-d', PPMID], port);
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/requires every distribution to name the image's SHA-256 \(requireSha256\): give chub distribute --sha256 .*\[NO_SHA256\]/);
    expect(JSON.parse(await ok(['jobs', '--json'], port))).toEqual([]);
    const jobs = JSON.parse(await ok(['distribute', '--image', 'fw', '--sha256', image.sha256, '-d', PPMID, '--json'], port)) as Job[];
    expect(jobs).toEqual([expect.objectContaining({ eui: PPMID, state: expect.stringMatching(/queued|transferring/) })]);
  }

  test('the Node hub with such a board file (chub emulate --board)', async () => {
    const boardDir = fs.mkdtempSync(path.join(dir, 'board-'));
    const file = path.join(boardDir, 'linux.json');
    fs.writeFileSync(file, JSON.stringify({ ...linux(), hub: { ...linux().hub, requireSha256: true } }));
    let emu: Emulation | undefined;
    try {
      emu = await startEmulate(['--board', file, '--time-scale', '0.05']);
      await requires(emu.port);
    } finally {
      await emu?.stop();
    }
  }, 120000);

  (haveInterpreter('hub.requireSha256 on the Espruino hub') ? test : test.skip)("the bundle on the Espruino interpreter, set by the board's chub.json", async () => {
    let sim: StartedSimulator | undefined;
    let esp: EspruinoHub | undefined;
    try {
      sim = await startSimulator({ devices: [], timeScale: 0.25 });
      esp = await startEspruinoHub({ radio: sim.radioPath, config: { hubConfig: { requireSha256: true } } });
      await requires(esp.port);
    } finally {
      esp?.close();
      await sim?.close();
    }
  }, 180000);
});
