// A hub bundle on the Linux Espruino interpreter with the HAN simulator as its radio and a HubClient on its
// host link, for make bench's footprint (bench/footprint*.ts). Only the stable host-side surface is used:
// the bundle booted from Storage as a flashed board boots it (chub.json for the pty paths and any hubConfig
// override), HubClient, the HAN simulator, and the interpreter's REPL for process.memory() — never the
// hub core's internals, so it measures whichever core is in place.
import * as fs from 'fs';
import { buildImage } from '../host-tools/image/image-builder';
import { HubClient } from '../host-tools/link/hub-client';
import { openPtyPair, PtyPair } from '../host-tools/serial/pty-pair';
import { HanSimulator, SimDeviceConfig } from '../host-tools/sim/han-simulator';
import { ClientTiming, SimDeviceSpec } from '../host-tools/sim/ota-client';
import { bootBoardRepl, EspruinoTools, FAILURE_PATTERN, makeBoardDir, ReplBoard } from '../test/helpers/espruino';

/** The OTA image the simulated devices run (version 1) and are offered (version 2). */
export const IMAGE_ID = { manufacturerCode: 0x1234, imageType: 0x0001, fileVersion: 0x00000002 };
const RUNNING_VERSION = 0x00000001;
const HARDWARE_VERSION = 2;

export const IMAGE_NAME = 'fw.ota';
const TRANSFER_TIMEOUT_MS = 120000;

/** A failure that names the board and the step; `outOfMemory` when the hub ran out of JsVars there (a
 *  measurement of the core, reported as such, rather than a fault of the bench). */
export class StepError extends Error {
  constructor(
    readonly where: string,
    message: string,
    readonly outOfMemory = false,
  ) {
    super(`${where}: ${message}`);
    this.name = 'StepError';
  }
}

/** What a figure is when the hub ran out of memory before it could be read. */
export interface RanOut {
  outOfMemory: true;
  /** Board, scenario and step. */
  during: string;
  /** What the interpreter printed. */
  detail: string;
}

export function ranOut(e: unknown): RanOut | null {
  if (!(e instanceof StepError) || !e.outOfMemory) return null;
  const m = /the interpreter failed: ([^\n]*)/.exec(e.message);
  return { outOfMemory: true, during: e.where, detail: (m ? m[1] : 'OUT OF MEMORY').trim().slice(0, 200) };
}

/** `n` simulated PPMIDs (they upgrade at once, so a transfer ends with the device running the image). */
export function simDevices(n: number, extra: (i: number) => Partial<SimDeviceConfig> = () => ({})): SimDeviceConfig[] {
  return Array.from({ length: n }, (_, i) => {
    const spec: SimDeviceSpec = {
      eui: `000D6F00000C${(0x1000 + i).toString(16).toUpperCase()}`,
      nwk: 0x2001 + i,
      type: 'PPMID',
      manufacturerCode: IMAGE_ID.manufacturerCode,
      imageType: IMAGE_ID.imageType,
      fileVersion: RUNNING_VERSION,
      hardwareVersion: HARDWARE_VERSION,
      maxDataSize: 64,
      // Idle devices do not keep asking: only Image Notify (job.start) makes them query.
      queryIntervalMs: 1e9,
    };
    return { ...spec, ...extra(i) };
  });
}

/** An EUI as this harness spells it (16 upper-case hex digits), whatever form the hub's record gives. */
export function euiOf(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v).reverse().toString('hex').toUpperCase(); // wire order: LSB first
  return String(v).toUpperCase().replace(/[^0-9A-F]/g, '');
}

export interface AlertSeen {
  id: number;
  code: number;
  eui: string;
}

/** A CHUB_MEM line (chub.json debug): JsVars in use without GC, and the high-water mark since boot. */
export interface MemSample {
  usage: number;
  peak: number;
  total: number;
}

export interface HubRunOptions {
  /** For messages: board and scenario. */
  label: string;
  tools: EspruinoTools;
  /** The interpreter binary (bootBoard `binary`). */
  binary: string;
  /** What Storage holds as .bootcde (the pretokenised bundle). */
  bundle: Uint8Array;
  /** Over the board's baked-in hub config (chub.json hubConfig). */
  hubConfig?: Record<string, number>;
  /** chub.json debug: the firmware prints its JsVar use (CHUB_MEM lines) every 500 ms with a peak. */
  debug?: boolean;
  /** chub.json inspect: the hub stays reachable at the REPL as `chubHub`. */
  inspect?: boolean;
  /** The board's REPL is on the host link's port (console-port.ts): once the hub holds it, what the interpreter
   *  prints (CHUB_MEM lines, failures) reaches the host as console events, and there is no REPL to probe. */
  consoleOnLink?: boolean;
  /** Simulated HAN delays × this. */
  timeScale: number;
  timing?: Partial<ClientTiming>;
}

export interface HubRun {
  label: string;
  client: HubClient;
  /** The simulator, once attach()ed. */
  readonly sim: HanSimulator;
  /**
   * Powers up the simulated stick on the hub's radio UART with `devices` (the hub registers its endpoint
   * again on its reset indication, as a board does when the stick starts after it). Devices join
   * `spacingMs` of real time apart, so they do not all announce and query in the same instant.
   */
  attach(devices: SimDeviceConfig[], spacingMs?: number): Promise<void>;
  board: ReplBoard;
  /** CHUB_MEM lines so far (debug only). */
  mem: MemSample[];
  alerts: AlertSeen[];
  /** JsVars in use after a garbage collection, read at the REPL: the second of two reads (ReplMemory.usage). */
  probe(): Promise<number>;
  /** The interpreter's failure text (out of memory, uncaught error), or null. */
  failure(): string | null;
  /** Runs `f` as step `what`; a failure names the board and the step, with the interpreter's last lines. */
  step<T>(what: string, f: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Last lines the interpreter printed, without CHUB_MEM lines, for error messages. */
export function tail(board: ReplBoard | undefined, n = 25): string {
  if (!board) return '';
  const lines = board.output().split('\n').filter((l) => !/CHUB_MEM|BENCHMEM|^print\(/.test(l) && l.trim() !== '');
  return `\n--- interpreter output (last ${n} lines) ---\n${lines.slice(-n).join('\n')}`;
}

/**
 * Boots the bundle and opens a HubClient (hello). The radio UART has nothing on it until attach(): the host
 * sets the hub up first (images, device log), then the devices come, so the hub knows them when they
 * announce and query, rather than answering a burst of unknown devices at boot.
 */
export async function startHubRun(o: HubRunOptions): Promise<HubRun> {
  const closers: (() => Promise<void> | void)[] = [];
  let board: ReplBoard | undefined;
  const stop = async () => {
    for (const c of closers.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  const fail = (where: string, e: unknown) => {
    const out = board ? board.output() : '';
    const failed = FAILURE_PATTERN.test(out);
    const failure = failed && !/the interpreter failed/.test((e as Error).message) ? ' (the interpreter reported a failure: see its output)' : '';
    return new StepError(`${o.label}: ${where}`, `${(e as Error).message}${failure}${tail(board)}`, failed && /OUT OF MEMORY|LOW_MEMORY|,MEMORY/.test(out));
  };
  try {
    let host: PtyPair | undefined;
    let radio: PtyPair | undefined;
    try {
      host = await openPtyPair('host');
      closers.push(() => host!.close());
      radio = await openPtyPair('radio');
      closers.push(() => radio!.close());
    } catch (e) {
      throw fail('opening pty pairs (socat)', e);
    }
    let dir: string;
    try {
      const chub = JSON.stringify({ host: { path: host.a }, radio: { path: radio.a }, debug: o.debug === true, ...(o.inspect ? { inspect: true } : {}), ...(o.hubConfig ? { hubConfig: o.hubConfig } : {}) });
      dir = makeBoardDir(o.tools, { '.bootcde': o.bundle, 'chub.json': chub }, 'chub-bench-');
    } catch (e) {
      throw fail('writing the bundle to Storage', e);
    }
    closers.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const mem: MemSample[] = [];
    board = bootBoardRepl(o.tools, dir, {
      binary: o.binary,
      onLine: (l) => {
        const m = /CHUB_MEM (\{.*\})/.exec(l);
        if (m) mem.push(JSON.parse(m[1]));
      },
    });
    const b = board;
    closers.push(() => b.kill());
    // With the console on the link, "started" is printed after the hub took the port: it reaches the host.
    if (!o.consoleOnLink)
      await b.waitFor(/chub .* started/, 30000).catch((e) => {
        throw fail('booting the hub (waiting for "chub ... started")', e);
      });
    const client = await HubClient.open(host.b, o.consoleOnLink ? 30000 : 15000).catch((e) => {
      throw fail('hello over the host link', e);
    });
    closers.push(() => client.close());
    // The console's text, as the hub forwards it (lines may come split over events).
    let consoleText = '';
    if (o.consoleOnLink)
      client.on('log', (e: { msg: string }) => {
        const lines = (consoleText.slice(consoleText.lastIndexOf('\n') + 1) + e.msg).split('\n');
        consoleText += e.msg;
        for (const l of lines.slice(0, -1)) {
          const m = /CHUB_MEM (\{.*\})/.exec(l);
          if (m) mem.push(JSON.parse(m[1]));
        }
      });
    const alerts: AlertSeen[] = [];
    client.on('alert', (a) => {
      const r = a as unknown as { id: number; code: number; eui: unknown };
      alerts.push({ id: r.id, code: r.code, eui: euiOf(r.eui) });
    });
    const failure = () => {
      const out = b.output() + consoleText;
      const m = FAILURE_PATTERN.exec(out);
      return m ? out.slice(m.index, m.index + 400).trim() : null;
    };
    let sim: HanSimulator | undefined;
    const radioPath = radio.b;
    const run: HubRun = {
      label: o.label,
      client,
      get sim(): HanSimulator {
        if (!sim) throw new Error(`${o.label}: the simulator is not attached`);
        return sim;
      },
      async attach(devices: SimDeviceConfig[], spacingMs = 0) {
        const joining = devices.map((d, i) => (spacingMs > 0 ? { ...d, joinAtMs: (i * spacingMs) / o.timeScale } : d));
        const s = new HanSimulator({ devices: joining, timeScale: o.timeScale, timing: o.timing, lossRate: 0 });
        sim = s;
        closers.push(() => s.close());
        await s.openPort(radioPath).catch((e) => {
          throw fail('opening the simulator on the radio pty', e);
        });
        s.resetStick();
      },
      board: b,
      mem,
      alerts,
      probe: () => replUsage(b),
      failure,
      async step<T>(what: string, f: () => Promise<T>): Promise<T> {
        // An interpreter that failed (out of memory) answers nothing more: say so at once, not at a timeout.
        let poll: NodeJS.Timeout | undefined;
        const died = new Promise<never>((_, reject) => {
          poll = setInterval(() => {
            const why = failure();
            if (why) reject(new Error(`the interpreter failed: ${why}`));
          }, 100);
        });
        try {
          return await Promise.race([f(), died]);
        } catch (e) {
          if (e instanceof StepError) throw e;
          throw fail(what, e);
        } finally {
          clearInterval(poll);
        }
      },
      stop,
    };
    return run;
  } catch (e) {
    await stop();
    throw e instanceof StepError ? e : fail('starting', e);
  }
}

/** JsVars in use after a garbage collection, read at the REPL twice: the second read (see ReplMemory.usage). */
export async function replUsage(b: ReplBoard): Promise<number> {
  await b.memory(true);
  await sleep(200);
  return (await b.memory(true)).usage;
}

/** Waits until `cond` holds, polling; throws `what` after `ms`. */
export async function until(what: string, ms: number, cond: () => boolean, pollMs = 50): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${Math.round(ms / 1000)} s`);
    await sleep(pollMs);
  }
}

/** Time between two devices joining the network. */
export const JOIN_SPACING_MS = 250;

/** Registers an image with the hub (streamed: it asks for ranges as clients need them; or uploaded), adds
 *  the devices to its log, then brings them onto the network (attach) and waits until the hub has them. */
export async function registerAll(r: HubRun, devices: SimDeviceConfig[], size: number, mode: 'streamed' | 'stored' = 'streamed'): Promise<void> {
  const image = buildImage({ ...IMAGE_ID, size, seed: 11 });
  if (mode === 'streamed') await r.step(`registering streamed image ${IMAGE_NAME} (HubClient.stream)`, () => r.client.stream(IMAGE_NAME, image, IMAGE_ID));
  else await r.step(`uploading image ${IMAGE_NAME} (HubClient.upload)`, () => r.client.upload(IMAGE_NAME, image));
  await r.step('adding the devices to the device log (dev.add)', async () => {
    for (const d of devices) await r.client.request('dev.add', { eui: d.eui, type: d.type });
  });
  await r.step('starting the simulated stick and devices on the radio UART', () => r.attach(devices, JOIN_SPACING_MS));
  // Each announces when it joins and queries once; the hub, which has no job for it yet, says no image.
  // Watched on the simulator, so the hub is asked nothing more.
  const querying = new Set<string>();
  const answered = new Set<string>();
  r.sim.on('client', (eui, e) => {
    if (e.kind !== 'state') return;
    if (e.state === 'querying') querying.add(eui);
    else if (e.state === 'idle' && querying.has(eui) && e.error === undefined) answered.add(eui);
  });
  await r.step('waiting for the devices to join and have their first query answered (no image yet)', () =>
    until(`${devices.length} devices answered`, 30000 + devices.length * JOIN_SPACING_MS, () => {
      const f = r.failure();
      if (f) throw new Error(`the interpreter failed: ${f}`);
      return devices.every((d) => answered.has(d.eui));
    }),
  );
}

export async function startJob(r: HubRun, euis: string[]): Promise<void> {
  await r.step(`job.start for ${euis.join(', ')}`, () => r.client.request('job.start', { image: IMAGE_NAME, devices: euis }));
}

/** Waits for the hub's 0x8F8A (transfer succeeded) alert for each device, and for each simulated device to
 *  be back to idle running the new image (it reboots into it, announces and queries once more). */
export async function transferred(r: HubRun, euis: string[], ms = TRANSFER_TIMEOUT_MS): Promise<void> {
  await r.step(`waiting for the transfers to ${euis.join(', ')} to end (alert 0x8F8A, device running the image)`, () =>
    until(`alerts for ${euis.join(', ')}`, ms, () => {
      const f = r.failure();
      if (f) throw new Error(`the interpreter failed: ${f}`);
      return euis.every((e) => {
        const s = r.sim.client(e)!.status();
        return r.alerts.some((a) => a.eui === e && a.code === 0x8f8a) && s.state === 'idle' && s.fileVersion === IMAGE_ID.fileVersion;
      });
    }),
  );
}

export async function ack(r: HubRun, euis: string[]): Promise<void> {
  const ids = r.alerts.filter((a) => euis.includes(a.eui)).map((a) => a.id);
  await r.step(`alert.ack for ${euis.join(', ')}`, () => r.client.request('alert.ack', { ids }));
}

