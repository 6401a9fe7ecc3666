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
import { SerialPort } from 'serialport';
import { Alert } from '../../firmware/core/alert-queue';
import { buildZclFrame, DIR_CLIENT_TO_SERVER, FRAME_TYPE_CLUSTER, parseZclFrame } from '../../firmware/core/zcl-frame';
import { decodeOta, encodeOta, OtaCommand, OTA_CLUSTER, STATUS } from '../../firmware/core/zcl-ota';
import { Job } from '../../firmware/core/transfer-jobs';
import {
  decodeAfDataRequest,
  encodeAfDataConfirm,
  encodeAfIncomingMsg,
  encodeEndDeviceAnnce,
  encodeStatus,
} from '../../firmware/radio/znp-commands';
import {
  AF_DATA_CONFIRM,
  AF_DATA_REQUEST,
  AF_INCOMING_MSG,
  AF_REGISTER,
  buildZnpFrame,
  commandOf,
  srspOf,
  ZDO_END_DEVICE_ANNCE_IND,
  ZnpFrameReader,
} from '../../firmware/radio/znp-frame';
import { buildFirmware, BuildResult } from '../../host-tools/build/build-firmware';
import { buildImage } from '../../host-tools/image/image-builder';
import { HubClient } from '../../host-tools/link/hub-client';
import { openPtyPair } from '../../host-tools/serial/pty-pair';
import { ballastBoot0, BootedBoard, bootBoard, espruinoForSuite, FAILURE_PATTERN, haveSocat, makeBoardDir } from '../helpers/espruino';

const tools = espruinoForSuite('OTA session on Espruino');
if (tools && !haveSocat()) {
  if (process.env.CI) throw new Error('OTA session on Espruino: socat is missing (apt-get install socat)');
  console.warn('\n*** SKIPPING OTA session on Espruino: socat is missing (apt-get install socat)\n');
}
const describeOnEspruino = tools && haveSocat() ? describe : describe.skip;

const EUI = '000D6F00000A1B2C';
const NWK = 0x4f21;
const DEVICE_EP = 1;
const IMAGE = { manufacturerCode: 0x1234, imageType: 0x0005, fileVersion: 0x00020001 };
const IMAGE_SIZE = 6 * 1024;
const BIN = process.env.CHUB_ESPRUINO_BIN || 'small';
const BALLAST = Number(process.env.CHUB_ESPRUINO_BALLAST || 0);
const MAX_DATA = 64;

/** The ZNP stick side of the radio UART, scripted: answers SREQs like a stick and hands over the hub's ZCL frames. */
class ScriptedStick {
  private reader = new ZnpFrameReader();
  registered = 0;
  dataRequests = 0;
  private fromHub: { seq: number; cmd: OtaCommand | null; raw: Uint8Array }[] = [];
  private waiting: (() => void) | null = null;
  private transSeq = 0;

  constructor(private port: SerialPort) {
    port.on('data', (d: Buffer) => {
      for (const f of this.reader.push(new Uint8Array(d))) this.onFrame(commandOf(f), f.data);
    });
  }

  private write(command: number, data: Uint8Array): void {
    this.port.write(Buffer.from(buildZnpFrame(command, data)));
  }

  private onFrame(cmd: number, data: Uint8Array): void {
    if (cmd === AF_REGISTER) {
      this.registered++;
      this.write(srspOf(AF_REGISTER), encodeStatus(0));
    } else if (cmd === AF_DATA_REQUEST) {
      this.dataRequests++;
      const r = decodeAfDataRequest(data);
      this.write(srspOf(AF_DATA_REQUEST), encodeStatus(0));
      this.write(AF_DATA_CONFIRM, encodeAfDataConfirm({ status: 0, endpoint: r.srcEndpoint, transId: r.transId }));
      if (r.clusterId !== OTA_CLUSTER || r.dstAddr !== NWK) return;
      const z = parseZclFrame(r.data);
      let c: OtaCommand | null = null;
      if (z.header.frameType === FRAME_TYPE_CLUSTER) c = decodeOta(z.header.commandId, z.payload);
      this.fromHub.push({ seq: z.header.seq, cmd: c, raw: r.data });
      if (this.waiting) this.waiting();
    }
  }

  announce(): void {
    this.write(ZDO_END_DEVICE_ANNCE_IND, encodeEndDeviceAnnce({ srcAddr: NWK, nwkAddr: NWK, eui: EUI, capabilities: 0x80 }));
  }

  /** Sends a client→server OTA command as an AF_INCOMING_MSG (Z-Stack 3.x form, with the trailer). */
  sendOta(c: OtaCommand, seq: number): void {
    const zcl = buildZclFrame({ frameType: FRAME_TYPE_CLUSTER, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: false, seq, commandId: c.cmd }, encodeOta(c));
    this.write(
      AF_INCOMING_MSG,
      encodeAfIncomingMsg({
        groupId: 0,
        clusterId: OTA_CLUSTER,
        srcAddr: NWK,
        srcEndpoint: DEVICE_EP,
        dstEndpoint: 1,
        wasBroadcast: 0,
        linkQuality: 200,
        securityUse: 0,
        timestamp: 0,
        transSeq: this.transSeq++ & 0xff,
        data: zcl,
        macSrcAddr: NWK,
        radius: 29,
      }),
    );
  }

  /** The next OTA command the hub sent the device (or rejects after `ms`). */
  async next(ms = 5000): Promise<{ seq: number; cmd: OtaCommand | null; raw: Uint8Array }> {
    const t0 = Date.now();
    while (this.fromHub.length === 0) {
      if (Date.now() - t0 > ms) throw new Error(`the hub sent the device nothing within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiting = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.waiting = null;
    }
    return this.fromHub.shift()!;
  }
}

function openPort(p: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path: p, baudRate: 115200, autoOpen: false });
    port.open((e) => (e ? reject(e) : resolve(port)));
  });
}

interface MemSample {
  usage: number;
  free: number;
  total: number;
  peak: number;
}

describeOnEspruino('full OTA session on Espruino, booted from Storage', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-ota-esp-'));
  let built: BuildResult;
  beforeAll(async () => {
    built = await buildFirmware({ board: 'linux', outFile: path.join(tmp, 'linux.js'), es5Dir: path.join(tmp, 'es5'), log: () => undefined });
  }, 60000);
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
            `board's total (the code alone holds ~1650 JsVars; see the stack below)\n` +
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

  async function session(run: Run, binary: string, label: string, ballast: number): Promise<{ peak: number; total: number }> {
    const t0 = Date.now();
    const hostPty = await openPtyPair('host');
    run.close.push(async () => hostPty.close());
    const radioPty = await openPtyPair('radio');
    run.close.push(async () => radioPty.close());
    const boardDir = makeBoardDir(tools!, {
      'chub.json': JSON.stringify({ host: { path: hostPty.a }, radio: { path: radioPty.a }, debug: true }),
      '.bootcde': built.source,
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
    expect(client.info).toMatchObject({ board: 'linux', mode: 'stored' });
    expect(stick.registered).toBe(1);
    const alerts: Alert[] = [];
    const jobs: Job[] = [];
    client.on('alert', (a) => alerts.push(a));
    client.on('job', (j) => jobs.push(j));

    await client.request('dev.add', { eui: EUI, type: 'PPMID' });
    const image = buildImage({ ...IMAGE, size: IMAGE_SIZE, seed: 42, minHardwareVersion: 1, maxHardwareVersion: 3 });
    const up = await client.upload('ppmid-v2.ota', image);
    expect(up.image).toMatchObject({ name: 'ppmid-v2.ota', size: IMAGE_SIZE, complete: true, ...IMAGE });
    const tUploaded = Date.now();
    failIfCrashed();

    // The PPMID joins; the job starts; the hub tells it an image is waiting.
    stick.announce();
    await new Promise((r) => setTimeout(r, 300));
    const started = await client.request('job.start', { image: 'ppmid-v2.ota', devices: [EUI] });
    expect((started.jobs as unknown as Job[])[0]).toMatchObject({ eui: EUI, state: 'queued' });
    const notify = await stick.next();
    expect(notify.cmd).toMatchObject({ cmd: 0x00, payloadType: 0, queryJitter: 100 });

    // Query Next Image (older version, hardware in range).
    let seq = 1;
    stick.sendOta({ cmd: 0x01, ...IMAGE, fileVersion: 0x00010000, hardwareVersion: 2 }, seq);
    const q = await stick.next();
    expect(q.seq).toBe(seq);
    expect(q.cmd).toMatchObject({ cmd: 0x02, status: STATUS.SUCCESS, image: { ...IMAGE, imageSize: IMAGE_SIZE } });

    // Every block, in order, MAX_DATA bytes at a time.
    const got = new Uint8Array(IMAGE_SIZE);
    let off = 0;
    let waits = 0;
    while (off < IMAGE_SIZE) {
      seq = (seq + 1) & 0xff;
      stick.sendOta({ cmd: 0x03, ...IMAGE, fileOffset: off, maxDataSize: MAX_DATA }, seq);
      const r = await stick.next();
      expect(r.seq).toBe(seq);
      const c = r.cmd as Extract<OtaCommand, { cmd: 0x05 }>;
      expect(c.cmd).toBe(0x05);
      if (c.status === STATUS.WAIT_FOR_DATA) {
        waits++;
        await new Promise((res) => setTimeout(res, Math.max(50, c.wait!.minimumBlockPeriod ?? 0)));
        continue;
      }
      expect(c.status).toBe(STATUS.SUCCESS);
      expect(c.block!.fileOffset).toBe(off);
      expect(c.block!.data.length).toBe(Math.min(MAX_DATA, IMAGE_SIZE - off));
      got.set(c.block!.data, off);
      off += c.block!.data.length;
    }
    expect(Buffer.from(got).equals(Buffer.from(image))).toBe(true);
    const tBlocks = Date.now();
    failIfCrashed();

    // Upgrade End SUCCESS → Upgrade End Response (a PPMID upgrades now) and alert 0x8F8A to the host.
    seq = (seq + 1) & 0xff;
    stick.sendOta({ cmd: 0x06, status: STATUS.SUCCESS, ...IMAGE }, seq);
    const end = await stick.next();
    expect(end.cmd).toMatchObject({ cmd: 0x07, ...IMAGE });
    const e = end.cmd as Extract<OtaCommand, { cmd: 0x07 }>;
    expect(e.upgradeTime).toBe(e.currentTime);
    for (let i = 0; i < 50 && alerts.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(alerts).toEqual([expect.objectContaining({ code: 0x8f8a, eui: EUI, fileVersion: IMAGE.fileVersion, responseCode: 0 })]);
    const listed = await client.request('job.list');
    expect((listed.jobs as unknown as Job[]).find((j) => j.eui === EUI)).toMatchObject({ state: 'done', off: IMAGE_SIZE });

    // Let the firmware print its memory once more, then check it never ran out.
    await new Promise((r) => setTimeout(r, 700));
    failIfCrashed();
    expect(mem.length).toBeGreaterThan(0);
    const peak = Math.max(...mem.map((m) => m.peak));
    const total = mem[0].total;
    expect(peak).toBeLessThan(total);
    const blocks = Math.ceil(IMAGE_SIZE / MAX_DATA);
    console.log(
      [
        `OTA session on ${label}${ballast ? ` + ${ballast} JsVars ballast` : ''}: bundle ${built.bytes} bytes (minified ES5)`,
        `JsVars: peak ${peak} of ${total} sampled after each serial chunk/tick (free then ${total - peak}); ` +
          `in use after the session ${mem[mem.length - 1].usage} (free ${mem[mem.length - 1].free})`,
        `upload ${IMAGE_SIZE} bytes in ${up.ms} ms; ${blocks} blocks of ${MAX_DATA} in ${tBlocks - tUploaded} ms ` +
          `(incl. join/query), ${waits} WAIT_FOR_DATA; ${stick.dataRequests} AF_DATA_REQUESTs answered; whole session ${Date.now() - t0} ms`,
      ].join('\n'),
    );
    return { peak, total };
  }
});
