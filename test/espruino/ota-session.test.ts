// One full OTA session on the real firmware bundle, on espruino-2500 (2500 JsVars, 13-byte JsVars, about
// a Puck.js), booted from Storage like a flashed board: .bootcde = dist/firmware/linux.js, chub.json =
// the pty paths. The test is the host (HubClient on the host-link pty) and the ZNP co-processor on the
// radio pty (scripted frames): it answers AF_REGISTER, announces a PPMID, then plays the PPMID's OTA
// client: Query Next Image → every Image Block → Upgrade End SUCCESS, and expects alert 0x8F8A.
// With "debug" in chub.json the firmware prints its JsVar use (CHUB_MEM lines); the peak is reported.
//
// Knobs for measuring (not needed in CI):
//   CHUB_ESPRUINO_BIN=/path/to/espruino-N   run on another build of the interpreter (e.g. one with more JsVars)
//   CHUB_ESPRUINO_BALLAST=N                 hold N JsVars from .boot0 before the hub boots: the largest N
//                                           the session survives is the free memory at its true peak
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Alert, Job } from '../../host-tools/link/hub-protocol';
import { OtaCommand, STATUS } from '../../firmware/core/zcl-ota';
import { buildFirmware, BuildResult } from '../../host-tools/build/build-firmware';
import { buildImage } from '../../host-tools/image/image-builder';
import { HubClient } from '../../host-tools/link/hub-client';
import { openPtyPair } from '../../host-tools/serial/pty-pair';
import { ballastBoot0, BootedBoard, bootBoard, espruinoForSuite, FAILURE_PATTERN, haveSocat, makeBoardDir } from '../helpers/espruino';
import { openPort, ScriptedStick } from '../helpers/scripted-stick';

const tools = espruinoForSuite('OTA session on Espruino');
if (tools && !haveSocat()) {
  if (process.env.CI) throw new Error('OTA session on Espruino: socat is missing (apt-get install socat)');
  console.warn('\n*** SKIPPING OTA session on Espruino: socat is missing (apt-get install socat)\n');
}
const describeOnEspruino = tools && haveSocat() ? describe : describe.skip;

const EUI = '000D6F00000A1B2C';
const NWK = 0x4f21;
const IMAGE = { manufacturerCode: 0x1234, imageType: 0x0005, fileVersion: 0x00020001 };
const IMAGE_SIZE = 6 * 1024;
const BIN = process.env.CHUB_ESPRUINO_BIN || 'small';
const BALLAST = Number(process.env.CHUB_ESPRUINO_BALLAST || 0);
const MAX_DATA = 64;
/** Streamed to several devices at once. Memory does not grow with the image (the hub holds a few ranges),
 *  so make test streams a small one; `make soak` streams 300 KB (CHUB_STREAM_KB=300, about half an hour). */
const STREAM_KB = Number(process.env.CHUB_STREAM_KB || 8);
const STREAM_SIZE = STREAM_KB * 1024;
const STREAM_DEVICES = 5;

interface MemSample {
  usage: number;
  free: number;
  total: number;
  peak: number;
}

describeOnEspruino('full OTA session on Espruino, booted from Storage', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-ota-esp-'));
  let built: BuildResult;
  /** The same interpreter as a board that streams every image (boards/linux-streamed.json). */
  let streamedBuild: BuildResult;
  beforeAll(async () => {
    built = await buildFirmware({ board: 'linux', outFile: path.join(tmp, 'linux.js'), es5Dir: path.join(tmp, 'es5'), log: () => undefined });
    streamedBuild = await buildFirmware({ board: 'linux-streamed', outFile: path.join(tmp, 'linux-streamed.js'), es5Dir: path.join(tmp, 'es5'), log: () => undefined });
  }, 90000);
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  /** Everything one run opened, closed in order (board first, then its ports and files). */
  interface Run {
    board?: BootedBoard;
    close: (() => Promise<void>)[];
  }

  async function withRun(label: string, ballast: number, f: (run: Run) => Promise<unknown>): Promise<void> {
    const run: Run = { close: [] };
    try {
      await f(run);
    } catch (e) {
      // What the board printed is the first thing to look at.
      const err = e as Error;
      if (run.board) {
        const all = run.board.output();
        const lines = all.split('\n');
        const out = lines.filter((l) => !l.startsWith('CHUB_MEM') && l.trim() !== '');
        const usage = lines.filter((l) => l.startsWith('CHUB_MEM ')).map((l) => JSON.parse(l.slice(9)).usage);
        if (/OUT OF MEMORY/.test(all))
          err.message =
            `the hub ran out of JsVars on ${label}${ballast ? ` with ${ballast} JsVars of ballast` : ''}: its peak is above the ` +
            `board's total (the streamed bundle's code alone holds ~1,400 JsVars; see the stack below)\n` +
            err.message;
        err.message += `\n--- JsVars in use, every 500 ms: ${usage.join(' ')}`;
        err.message += `\n--- interpreter output (without CHUB_MEM lines) ---\n${out.slice(-60).join('\n')}`;
      }
      throw err;
    } finally {
      for (const c of run.close) await c().catch(() => undefined);
    }
  }

  it('works on the interpreter (64-bit build, JsVars grow as needed)', async () => {
    await withRun('espruino (64-bit)', 0, (run) => session(run, 'big', 'espruino (64-bit)', 0));
  }, 90000);

  it(`fits the linux board's JsVars: espruino-2500${BIN !== 'small' ? ' (or CHUB_ESPRUINO_BIN)' : ''}`, async () => {
    const label = BIN === 'small' ? 'espruino-2500' : BIN;
    await withRun(label, BALLAST, async (run) => {
      const r = await session(run, BIN, label, BALLAST);
      if (BIN === 'small') expect(r.total).toBe(built.board.jsvars);
    });
  }, 90000);

  interface Booted {
    client: HubClient;
    stick: ScriptedStick;
    mem: MemSample[];
    alerts: Alert[];
    failIfCrashed: () => void;
  }

  /** Powers on a board (hub from Storage, ptys for host link and radio, the stick listening first) and says hello. */
  async function boot(run: Run, binary: string, ballast: number, bundle: BuildResult = built, hubConfig: object = {}): Promise<Booted> {
    const hostPty = await openPtyPair('host');
    run.close.push(async () => hostPty.close());
    const radioPty = await openPtyPair('radio');
    run.close.push(async () => radioPty.close());
    const boardDir = makeBoardDir(tools!, {
      'chub.json': JSON.stringify({ host: { path: hostPty.a }, radio: { path: radioPty.a }, debug: true, hubConfig }),
      '.bootcde': bundle.source,
      ...(ballast ? { '.boot0': ballastBoot0(ballast) } : {}),
    });
    run.close.push(async () => fs.rmSync(boardDir, { recursive: true, force: true }));
    // The stick is listening before the board powers on, as on a real bench.
    const radioPort = await openPort(radioPty.b);
    run.close.push(() => new Promise<void>((r) => (radioPort.isOpen ? radioPort.close(() => r()) : r())));
    const stick = new ScriptedStick(radioPort);
    const mem: MemSample[] = [];
    const board = bootBoard(tools!, boardDir, {
      binary,
      onLine: (l) => {
        const m = /CHUB_MEM (\{.*\})/.exec(l);
        if (m) mem.push(JSON.parse(m[1]));
      },
    });
    run.board = board;
    run.close.unshift(() => board.kill()); // the board goes first, before its ports
    await board.waitFor(/chub .* started/, 10000);
    const failIfCrashed = () => expect(board.output()).not.toMatch(FAILURE_PATTERN);

    const client = await HubClient.open(hostPty.b, 10000);
    run.close.unshift(() => client.close().catch(() => undefined));
    expect(client.info).toMatchObject({ board: bundle.board.name, mode: bundle.board.imageMode });
    expect(stick.registered).toBe(1);
    const alerts: Alert[] = [];
    client.on('alert', (a) => alerts.push(a));
    return { client, stick, mem, alerts, failIfCrashed };
  }

  /** The highest JsVar use the firmware printed, and its total; after one more print, so the end is in. */
  async function peakOf(b: Booted): Promise<{ peak: number; total: number; last: MemSample }> {
    await new Promise((r) => setTimeout(r, 700));
    b.failIfCrashed();
    expect(b.mem.length).toBeGreaterThan(0);
    return { peak: Math.max(...b.mem.map((m) => m.peak)), total: b.mem[0].total, last: b.mem[b.mem.length - 1] };
  }

  it(`streams a ${STREAM_KB} KB image to ${STREAM_DEVICES} devices at once (64-bit build)`, async () => {
    await withRun('espruino (64-bit, streamed)', 0, (run) =>
      streamTo(run, 'big', STREAM_DEVICES, { maxJobs: STREAM_DEVICES, maxAlerts: STREAM_DEVICES, maxSessions: STREAM_DEVICES, streamRanges: 3 * STREAM_DEVICES }),
    );
  }, 60000 + STREAM_SIZE * STREAM_DEVICES * 3);

  it(`streams a ${STREAM_KB} KB image to ${STREAM_DEVICES} devices at once within espruino-2500's JsVars, with the Puck.js-class board's own limits`, async () => {
    await withRun('espruino-2500 (streamed)', 0, (run) => streamTo(run, 'small', STREAM_DEVICES, {}));
  }, 60000 + STREAM_SIZE * STREAM_DEVICES * 6);

  /** A streamed image to `n` devices asked for at once (the linux-streamed board file's limits, with
   *  `hubConfig` over them): when the hub holds fewer jobs than that (hello's maxJobs), job.start for all is
   *  FULL and the devices go in waves, as chub distribute sends them. Checks every byte, the alerts and the
   *  JsVar peak. Clients without a session slot are told to wait 1 s here (busyWaitS), not 30. Alerts are
   *  acknowledged only when the hub's maxAlerts stops a wave, as a head end that collects them late would. */
  async function streamTo(run: Run, binary: string, n: number, hubConfig: object): Promise<void> {
      const t0 = Date.now();
      const b = await boot(run, binary, 0, streamedBuild, { busyWaitS: 1, ...hubConfig });
      // The host takes each alert as it comes, as a head end would: a small board holds few (JsVars).
      const image = buildImage({ ...IMAGE, size: STREAM_SIZE, seed: 7 });
      const streamer = await b.client.stream('big.ota', image, IMAGE);
      expect(streamer.image).toMatchObject({ name: 'big.ota', streamed: true, size: STREAM_SIZE });
      const devs = Array.from({ length: n }, (_, i) => ({ eui: `000D6F00000B1B${(0x10 + i).toString(16).toUpperCase()}`, nwk: 0x5000 + i }));
      for (const d of devs) await b.client.request('dev.add', { eui: d.eui, type: 'PPMID' });
      for (const d of devs) b.stick.announce(d.eui, d.nwk);
      await new Promise((r) => setTimeout(r, 300));
      const wave = b.client.info.maxJobs!;
      if (n > wave) await expect(b.client.request('job.start', { image: 'big.ota', devices: devs.map((d) => d.eui) })).rejects.toMatchObject({ code: 'FULL' });
      const downloads: { data: Uint8Array; waits: number }[] = [];
      let fullOfAlerts = 0;
      for (let from = 0; from < n; from += wave) {
        const these = devs.slice(from, from + wave);
        const held = (await b.client.request('alert.list')).alerts as unknown as Alert[];
        if (held.length + these.length > b.client.info.maxAlerts!) {
          // Every alert is kept until the host takes it; past maxAlerts the hub starts nothing more. An ack makes room.
          await expect(b.client.request('job.start', { image: 'big.ota', devices: these.map((d) => d.eui) })).rejects.toMatchObject({ code: 'FULL' });
          await b.client.request('alert.ack', { ids: held.map((a) => a.id) });
          fullOfAlerts++;
        }
        await b.client.request('job.start', { image: 'big.ota', devices: these.map((d) => d.eui) });
        // Every device of the wave at once: Image Notify → Query Next Image → all blocks → Upgrade End.
        for (const dl of await Promise.all(
          these.map(async (d) => {
            expect((await b.stick.next(d.nwk, 15000)).cmd).toMatchObject({ cmd: 0x00 });
            b.stick.sendOta(d.nwk, { cmd: 0x01, ...IMAGE, fileVersion: 0x00010000, hardwareVersion: 2 }, 1);
            expect((await b.stick.next(d.nwk, 15000)).cmd).toMatchObject({ cmd: 0x02, status: STATUS.SUCCESS, image: { imageSize: STREAM_SIZE } });
            const dl = await b.stick.download(d.nwk, IMAGE, STREAM_SIZE, MAX_DATA, 1);
            b.stick.sendOta(d.nwk, { cmd: 0x06, status: STATUS.SUCCESS, ...IMAGE }, (dl.seq + 1) & 0xff);
            expect((await b.stick.next(d.nwk, 15000)).cmd).toMatchObject({ cmd: 0x07, ...IMAGE });
            return dl;
          }),
        ))
          downloads.push(dl);
      }
      for (const dl of downloads) expect(Buffer.from(dl.data).equals(Buffer.from(image))).toBe(true);
      // The linux-streamed board (Puck.js limits) holds all five transfers and their alerts at once: one wave.
      if (binary === 'small') expect([wave, fullOfAlerts]).toEqual([Math.max(wave, n), 0]);
      for (let i = 0; i < 50 && b.alerts.length < devs.length; i++) await new Promise((r) => setTimeout(r, 100));
      expect(b.alerts.map((a) => [a.eui, a.code]).sort()).toEqual(devs.map((d) => [d.eui, 0x8f8a]).sort());
      streamer.stop();
      const { peak, total } = await peakOf(b);
      expect(peak).toBeLessThan(total);
      const waits = downloads.reduce((k, d) => k + d.waits, 0);
      console.log(
        `streamed ${STREAM_SIZE} bytes to ${n} devices (${Math.min(n, wave)} held at once) on ${binary === 'small' ? 'espruino-2500' : 'espruino (64-bit)'}: JsVars peak ${peak} of ${total} ` +
          `(${Math.round((peak / total) * 100)}%; the issue's aim for Puck.js-class boards is 60%); ${streamer.served()} range bytes from the host, ` +
          `${waits} WAIT_FOR_DATA; ${Date.now() - t0} ms`,
      );
  }

  async function session(run: Run, binary: string, label: string, ballast: number): Promise<{ peak: number; total: number }> {
    const t0 = Date.now();
    const booted = await boot(run, binary, ballast);
    const { client, stick, alerts, failIfCrashed } = booted;
    await client.request('dev.add', { eui: EUI, type: 'PPMID' });
    const image = buildImage({ ...IMAGE, size: IMAGE_SIZE, seed: 42, minHardwareVersion: 1, maxHardwareVersion: 3 });
    const up = await client.upload('ppmid-v2.ota', image);
    expect(up.image).toMatchObject({ name: 'ppmid-v2.ota', size: IMAGE_SIZE, complete: true, ...IMAGE });
    const tUploaded = Date.now();
    failIfCrashed();

    // The PPMID joins; the job starts; the hub tells it an image is waiting.
    stick.announce(EUI, NWK);
    await new Promise((r) => setTimeout(r, 300));
    const started = await client.request('job.start', { image: 'ppmid-v2.ota', devices: [EUI] });
    expect((started.jobs as unknown as Job[])[0]).toMatchObject({ eui: EUI, state: 'queued' });
    const notify = await stick.next(NWK);
    expect(notify.cmd).toMatchObject({ cmd: 0x00, payloadType: 0, queryJitter: 100 });

    // Query Next Image (older version, hardware in range).
    let seq = 1;
    stick.sendOta(NWK, { cmd: 0x01, ...IMAGE, fileVersion: 0x00010000, hardwareVersion: 2 }, seq);
    const q = await stick.next(NWK);
    expect(q.seq).toBe(seq);
    expect(q.cmd).toMatchObject({ cmd: 0x02, status: STATUS.SUCCESS, image: { ...IMAGE, imageSize: IMAGE_SIZE } });

    // Every block, in order, MAX_DATA bytes at a time.
    const dl = await stick.download(NWK, IMAGE, IMAGE_SIZE, MAX_DATA, seq);
    seq = dl.seq;
    const got = dl.data;
    const waits = dl.waits;
    expect(Buffer.from(got).equals(Buffer.from(image))).toBe(true);
    const tBlocks = Date.now();
    failIfCrashed();

    // Upgrade End SUCCESS → Upgrade End Response (a PPMID upgrades now) and alert 0x8F8A to the host.
    seq = (seq + 1) & 0xff;
    stick.sendOta(NWK, { cmd: 0x06, status: STATUS.SUCCESS, ...IMAGE }, seq);
    const end = await stick.next(NWK);
    expect(end.cmd).toMatchObject({ cmd: 0x07, ...IMAGE });
    const e = end.cmd as Extract<OtaCommand, { cmd: 0x07 }>;
    expect(e.upgradeTime).toBe(e.currentTime);
    for (let i = 0; i < 50 && alerts.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(alerts).toEqual([expect.objectContaining({ code: 0x8f8a, eui: EUI, fileVersion: IMAGE.fileVersion, responseCode: 0 })]);
    const listed = await client.request('job.list');
    expect((listed.jobs as unknown as Job[]).find((j) => j.eui === EUI)).toMatchObject({ state: 'done', off: IMAGE_SIZE });

    // Let the firmware print its memory once more, then check it never ran out.
    const { peak, total, last } = await peakOf(booted);
    expect(peak).toBeLessThan(total);
    const blocks = Math.ceil(IMAGE_SIZE / MAX_DATA);
    console.log(
      [
        `OTA session on ${label}${ballast ? ` + ${ballast} JsVars ballast` : ''}: bundle ${built.bytes} bytes (pretokenised)`,
        `JsVars: peak ${peak} of ${total} sampled after each serial chunk/tick (free then ${total - peak}); ` +
          `in use after the session ${last.usage} (free ${last.free})`,
        `upload ${IMAGE_SIZE} bytes in ${up.ms} ms; ${blocks} blocks of ${MAX_DATA} in ${tBlocks - tUploaded} ms ` +
          `(incl. join/query), ${waits} WAIT_FOR_DATA; ${stick.dataRequests} AF_DATA_REQUESTs answered; whole session ${Date.now() - t0} ms`,
      ].join('\n'),
    );
    return { peak, total };
  }
});
