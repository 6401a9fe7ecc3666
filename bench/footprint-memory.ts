// make bench's footprint, the memory side: JsVars of a board's bundle on espruino-2500-i386 (13-byte
// JsVars, as on nRF52), booted from Storage, with the HAN simulator as its radio (bench/footprint-harness.ts).
// Every figure is process.memory().usage after a garbage collection, read at the interpreter's REPL (the
// second of two reads, footprint-harness.ts replUsage), except peaks, which are the firmware's own
// high-water mark (chub.json debug: sampled after every piece of work, without GC, in CHUB_MEM lines).
// A scenario in which the hub runs out of JsVars is a result ({outOfMemory, during}), not a bench failure.
import { hubConfigFor } from '../host-tools/boards/hub-config';
import { JOB_START_MAX } from '../host-tools/link/hub-protocol';
import { BoardFile } from '../host-tools/boards/board-file';
import { bootBoardRepl, EspruinoTools, makeBoardDir } from '../test/helpers/espruino';
import { ack, HubRun, RanOut, ranOut, registerAll, replUsage, simDevices, sleep, startHubRun, startJob, StepError, transferred, until } from './footprint-harness';
import * as fs from 'fs';

/** Simulated delays × this; device timeouts are set apart so they stay ~3 s of real time. */
const TIME_SCALE = 0.05;
const TIMING = { responseTimeoutMs: 3000 / TIME_SCALE, maxRetries: 5 };
/** Memory does not grow with the image (a streamed image is held as a few ranges). */
const IMAGE_BYTES = 4 * 1024;
/** For the marginal figures: transfers on the interpreter take ~0.1 s a block (its serial polling). */
export const SMALL_IMAGE_BYTES = 2 * 1024;
const DEVICES_IN_LOG = 8;
const AT_ONCE = 5;
/** The hub's work after an event is done well within this; then memory is read. */
const SETTLE_MS = 500;
const PAUSE_TIMEOUT_MS = 120000;

export interface Limits {
  maxJobs: number;
  maxAlerts: number;
  maxSessions: number;
  keepFinishedJobs: number;
}

/** The board's limits as its bundle has them baked in (board file over the core's defaults). */
export function limitsOf(board: BoardFile): Limits {
  const c = hubConfigFor(board, '0') as unknown as Record<string, number>;
  return { maxJobs: c.maxJobs, maxAlerts: c.maxAlerts, maxSessions: c.maxSessions, keepFinishedJobs: c.keepFinishedJobs };
}

/** A figure: measured, or the hub ran out of memory before it could be (a result), or the bench failed. */
type Figure<T> = T | RanOut | { error: string };

function failed(e: unknown): RanOut | { error: string } {
  return ranOut(e) ?? { error: (e as Error).message };
}

async function attempt<T>(f: () => Promise<T>): Promise<Figure<T>> {
  try {
    return await f();
  } catch (e) {
    return failed(e);
  }
}

export interface Ctx {
  tools: EspruinoTools;
  binary: string;
  board: BoardFile;
  bundle: Uint8Array;
  log: (l: string) => void;
}

async function withRun<T>(ctx: Ctx, scenario: string, extra: { hubConfig?: Record<string, number>; debug?: boolean; inspect?: boolean }, f: (r: HubRun) => Promise<T>): Promise<T> {
  const t0 = Date.now();
  const run = await startHubRun({ label: `${ctx.board.name}: ${scenario}`, tools: ctx.tools, binary: ctx.binary, bundle: ctx.bundle, timeScale: TIME_SCALE, timing: TIMING, consoleOnLink: ctx.board.console !== undefined && ctx.board.console === ctx.board.host.serial, ...extra });
  try {
    return await f(run);
  } finally {
    await run.stop();
    ctx.log(`footprint: ${ctx.board.name}: ${scenario}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/** A device whose client stopped part way (the 'pause' quirk): downloading, past `fraction`, no block for 400 ms. */
async function pausedPartWay(r: HubRun, eui: string, fraction: number): Promise<void> {
  let last = -1;
  let since = Date.now();
  await r.step(`waiting for ${eui} to pause ${fraction * 100} % of the way through its download`, () =>
    until(`${eui} paused`, PAUSE_TIMEOUT_MS, () => {
      const f = r.failure();
      if (f) throw new Error(`the interpreter failed: ${f}`);
      const s = r.sim.client(eui)!.status();
      if (s.offset !== last) {
        last = s.offset;
        since = Date.now();
      }
      return s.state === 'downloading' && s.size > 0 && s.offset >= s.size * fraction && Date.now() - since > 400;
    }),
  );
}

async function settleAndProbe(r: HubRun, what: string): Promise<number> {
  await sleep(SETTLE_MS);
  return r.step(`reading process.memory() at the REPL (${what})`, () => r.probe());
}

/** The empty interpreter's JsVars, read the same way. */
export async function emptyInterpreter(tools: EspruinoTools, binary: string): Promise<number> {
  const dir = makeBoardDir(tools, {}, 'chub-bench-empty-');
  const b = bootBoardRepl(tools, dir, { binary });
  try {
    return await replUsage(b);
  } finally {
    await b.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A UART no board has: main() fails on it before it builds anything. */
const NO_UART = 'NoSuchUart';

/**
 * The bundle's code alone, exactly as this board's build has it: booted with a chub.json that names a UART
 * the interpreter lacks, the bundle's top level runs (every function, prototype and table of every module
 * is defined) and main() fails opening the port, before it builds the hub.
 */
async function codeAlone(ctx: Ctx): Promise<number> {
  const t0 = Date.now();
  const chub = JSON.stringify({ host: { serial: NO_UART, path: '/nonexistent' }, radio: { serial: NO_UART, path: '/nonexistent' } });
  const dir = makeBoardDir(ctx.tools, { '.bootcde': ctx.bundle, 'chub.json': chub }, 'chub-bench-code-');
  const b = bootBoardRepl(ctx.tools, dir, { binary: ctx.binary });
  try {
    await b.waitFor(/Uncaught|started/, 30000);
    await sleep(300);
    const out = b.output();
    if (/chub .* started/.test(out)) throw new StepError(`${ctx.board.name}: code alone`, `the hub started with chub.json naming a UART it lacks (${NO_UART}); this measure needs main() to fail before it builds the hub`);
    if (/OUT OF MEMORY/.test(out)) throw new StepError(`${ctx.board.name}: code alone`, 'the interpreter ran out of memory defining the code', true);
    return await replUsage(b);
  } catch (e) {
    if (e instanceof StepError) throw e;
    throw new StepError(`${ctx.board.name}: code alone`, `${(e as Error).message}\n${b.output().slice(-1500)}`);
  } finally {
    await b.kill();
    fs.rmSync(dir, { recursive: true, force: true });
    ctx.log(`footprint: ${ctx.board.name}: code alone: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}

/** codeAlone as a figure, with the empty interpreter's JsVars taken off. */
export function codeAloneFigure(ctx: Ctx, empty: number): Promise<Figure<{ usage: number; aboveEmpty: number }>> {
  return attempt(async () => {
    const usage = await codeAlone(ctx);
    return { usage, aboveEmpty: usage - empty };
  });
}

/** JsVars after boot with the hub started and idle: no devices, images or jobs (the stick answered its registration). */
async function codeResident(ctx: Ctx): Promise<number> {
  return withRun(ctx, 'code resident', {}, async (r) => {
    await r.attach([]);
    await sleep(1000); // the hub registers its endpoint with the stick
    return settleAndProbe(r, 'hub started, nothing registered');
  });
}

/** Idle: a streamed image registered and 8 devices in the log, on the network, each having queried once. */
async function idle(ctx: Ctx): Promise<number> {
  const devices = simDevices(DEVICES_IN_LOG);
  return withRun(ctx, 'idle', {}, async (r) => {
    await registerAll(r, devices, IMAGE_BYTES);
    return settleAndProbe(r, 'idle: streamed image, 8 devices');
  });
}

/** Sizes (JsVars) of an object's fields at the REPL: each typed array's own, and each buffer once, with the
 *  fields that view it; functions and `skip` left out. ES5, as the interpreter runs it. */
const SIZES = (skip: string) =>
  `(function(h){var f={},b=[],n=[];for(var k in h){var v=h[k];if(k=="${skip}"||typeof v=="function")continue;var s=E.getSizeOf(v);` +
  `if(v&&v.buffer){s-=E.getSizeOf(v.buffer);var i=b.indexOf(v.buffer);if(i<0){b.push(v.buffer);n.push([k])}else n[i].push(k)}f[k]=s}` +
  `var u=[];for(var i=0;i<b.length;i++)u.push([n[i],E.getSizeOf(b[i])]);return{fields:f,buffers:u,methods:E.getSizeOf(h.__proto__)}})`;

export interface Sizes {
  /** JsVars of each field (a typed array's without its buffer), by its name in the source. */
  fields: Record<string, number>;
  /** Each buffer once: the fields that view it, and its JsVars. */
  buffers: { fields: string[]; jsVars: number }[];
  /** The prototype: the methods' code. */
  methods: number;
}

/**
 * Where the idle hub's JsVars are (the idle figure's run, with the hub left reachable at the REPL): the hub's
 * fields and buffers, and its radio driver's, sized on the interpreter (E.getSizeOf). Fields are named as in
 * the source (`members`: the build's shortened names). What is not here: the code outside the two classes,
 * the reply buffer and the interpreter's own.
 */
async function idleSizes(ctx: Ctx, members: Record<string, string>): Promise<{ hub: Sizes; driver: Sizes }> {
  const source = Object.fromEntries(Object.entries(members).map(([long, short]) => [short, long]));
  const named = (s: { fields: Record<string, number>; buffers: [string[], number][]; methods: number }): Sizes => ({
    fields: Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [source[k] ?? k, v])),
    buffers: s.buffers.map(([f, n]) => ({ fields: f.map((k) => source[k] ?? k), jsVars: n })),
    methods: s.methods,
  });
  const devices = simDevices(DEVICES_IN_LOG);
  return withRun(ctx, 'idle, sized', { inspect: true }, async (r) => {
    await registerAll(r, devices, IMAGE_BYTES);
    await sleep(SETTLE_MS);
    type Raw = Parameters<typeof named>[0];
    const hub = await r.step('sizing the hub (E.getSizeOf at the REPL)', () => r.board.json(`${SIZES('p')}(chubHub)`));
    const driver = await r.step("sizing the hub's radio driver", () => r.board.json(`${SIZES(members.sink ?? 'sink')}(chubHub.p.radio)`));
    return { hub: named(hub as Raw), driver: named(driver as Raw) };
  });
}

interface Marginal {
  perTransfer: Figure<{ jsVars: number; first: number; readings: { idle: number; oneTransfer: number; twoTransfers: number } }>;
  perAlert: Figure<{ jsVars: number; readings: { twoHeld: number; oneHeld: number; noneHeld: number } }>;
}

/**
 * Two devices (no others, so today's core has room for both transfers): their transfers held part way
 * (the 'pause' quirk: one half way, the other a quarter of the way) one after the other; then each
 * finished in turn (a power cycle ends its pause), both alerts held, then acknowledged one at a time.
 * A figure whose step failed says why; one taken before it stands.
 */
async function marginal(ctx: Ctx): Promise<Marginal> {
  // Held at different offsets, as concurrent transfers are: each needs its own ranges of the image.
  const pause = (atFraction: number) => ({ quirks: { midway: { atFraction, kind: 'pause' as const, ms: 1e9 } } });
  const devices = simDevices(2, (i) => pause(i === 0 ? 0.5 : 0.25));
  const [a, b] = devices.map((d) => d.eui);
  const out: Marginal = { perTransfer: { error: 'not reached' }, perAlert: { error: 'not reached' } };
  let phase: keyof Marginal = 'perTransfer';
  try {
    await withRun(ctx, 'per transfer, per alert', {}, async (r) => {
      await registerAll(r, devices, SMALL_IMAGE_BYTES);
      const idle = await settleAndProbe(r, 'streamed image, 2 devices');
      await startJob(r, [a]);
      await pausedPartWay(r, a, 0.5);
      const one = await settleAndProbe(r, 'one transfer held half way');
      await startJob(r, [b]);
      await pausedPartWay(r, b, 0.25);
      const two = await settleAndProbe(r, 'two transfers held, half and a quarter of the way');
      out.perTransfer = { jsVars: two - one, first: one - idle, readings: { idle, oneTransfer: one, twoTransfers: two } };
      phase = 'perAlert';
      // A power cycle ends the pause: the device downloads again from 0 and finishes. One at a time: the
      // figures wanted here are the alerts', not two transfers' peak.
      r.sim.reboot(a);
      await transferred(r, [a]);
      r.sim.reboot(b);
      await transferred(r, [b]);
      const twoHeld = await settleAndProbe(r, 'two alerts held');
      await ack(r, [a]);
      const oneHeld = await settleAndProbe(r, 'one alert held');
      await ack(r, [b]);
      const noneHeld = await settleAndProbe(r, 'no alert held');
      out.perAlert = { jsVars: (twoHeld - noneHeld) / 2, readings: { twoHeld, oneHeld, noneHeld } };
    });
  } catch (e) {
    if (phase === 'perTransfer') out.perTransfer = failed(e);
    out.perAlert = failed(e);
  }
  return out;
}

/**
 * JsVars with every table the hub holds allocated: a streamed image registered, one device in the log, its
 * transfer held a quarter of the way (the 'pause' quirk), so the streamed ranges are allocated too. With
 * `hubConfig` over the board's limits; two configs' difference is what their tables differ by.
 */
export async function tablesHeld(ctx: Ctx, hubConfig?: Record<string, number>): Promise<number> {
  const devices = simDevices(1, () => ({ quirks: { midway: { atFraction: 0.25, kind: 'pause' as const, ms: 1e9 } } }));
  return withRun(ctx, `tables held${hubConfig ? ' ' + JSON.stringify(hubConfig) : ''}`, { hubConfig }, async (r) => {
    await registerAll(r, devices, IMAGE_BYTES);
    await startJob(r, [devices[0].eui]);
    await pausedPartWay(r, devices[0].eui, 0.25);
    return settleAndProbe(r, 'one transfer held a quarter of the way');
  });
}

interface FinishedJobs {
  jsVars: number;
  readings: { oneKept: number; twoKept: number };
  hubConfig?: Record<string, number>;
}

/** Two transfers one after the other, each alert acknowledged: JsVars with one and with two finished jobs kept. */
async function finishedJobs(ctx: Ctx, limits: Limits): Promise<FinishedJobs> {
  // A board that keeps fewer than 2 is measured as if it kept 2 (what raising keepFinishedJobs would cost).
  const hubConfig = limits.keepFinishedJobs < 2 ? { keepFinishedJobs: 2 } : undefined;
  const devices = simDevices(2);
  const [a, b] = devices.map((d) => d.eui);
  return withRun(ctx, 'per finished job', { hubConfig }, async (r) => {
    await registerAll(r, devices, SMALL_IMAGE_BYTES);
    await startJob(r, [a]);
    await transferred(r, [a]);
    await ack(r, [a]);
    const oneKept = await settleAndProbe(r, 'one finished job kept');
    await startJob(r, [b]);
    await transferred(r, [b]);
    await ack(r, [b]);
    const twoKept = await settleAndProbe(r, 'two finished jobs kept');
    return { jsVars: twoKept - oneKept, readings: { oneKept, twoKept }, ...(hubConfig ? { hubConfig } : {}) };
  });
}

export interface PeakRun {
  /** hubConfig over the board's own (chub.json): limits raised when the board's do not allow them all at once, or the caller's. */
  hubConfig?: Record<string, number>;
  /** Devices asked for at once (one job.start), or in waves of the board's maxJobs. */
  started: 'at once' | string;
  /** The firmware's JsVar high-water mark (CHUB_MEM peak), of `total`; null when it ran out (see peakSampledBeforeFailure). */
  peak: number | null;
  /** When the interpreter failed: the last high-water mark it printed before (the true peak is past `total`). */
  peakSampledBeforeFailure?: number | null;
  total: number | null;
  /** Most devices downloading at once (simulator states). */
  inProgressAtOnce: number;
  /** Most devices that got a block within the same second. */
  servedAtOnce: number;
  completed: number;
  outOfMemory: boolean;
  /** What the interpreter printed when it failed. */
  failure?: string;
  seconds: number;
}

/** job.start for `euis`, back to back: the hub takes at most JOB_START_MAX devices in one (its reply fits one frame). */
async function startJobs(r: HubRun, euis: string[]): Promise<void> {
  for (let i = 0; i < euis.length; i += JOB_START_MAX) await startJob(r, euis.slice(i, i + JOB_START_MAX));
}

/**
 * `at.n` devices (5 unless given), 4 KB (or `at.imageBytes`) streamed: all asked for at once (limits raised if need be, or
 * `at.hubConfig` over the board's) or in the board's waves.
 */
export async function peakRun(ctx: Ctx, limits: Limits, mode: 'at once' | 'waves', at: { n: number; hubConfig?: Record<string, number>; imageBytes?: number } = { n: AT_ONCE }): Promise<PeakRun> {
  const n = at.n;
  const devices = simDevices(n);
  const euis = devices.map((d) => d.eui);
  const raise = !at.hubConfig && mode === 'at once' && (limits.maxJobs < n || limits.maxSessions < n || limits.maxAlerts < n);
  const hubConfig = at.hubConfig ?? (raise ? { maxJobs: Math.max(n, limits.maxJobs), maxSessions: Math.max(n, limits.maxSessions), maxAlerts: Math.max(n, limits.maxAlerts) } : undefined);
  const scenario = mode === 'at once' ? `${n} transfers at once${raise ? ' (limits raised)' : at.hubConfig ? ' ' + JSON.stringify(at.hubConfig) : ''}` : `${n} transfers in the board's waves`;
  return withRun(ctx, scenario, { hubConfig, debug: true }, async (r) => {
    await registerAll(r, devices, at.imageBytes ?? IMAGE_BYTES);
    let inProgress = 0;
    let served = 0;
    const lastBlock = new Map<string, number>();
    r.sim.on('client', (eui, e) => {
      if (e.kind === 'block') lastBlock.set(eui, Date.now());
    });
    const sampler = setInterval(() => {
      const now = Date.now();
      const states = r.sim.devices().filter((s) => euis.includes(s.eui));
      inProgress = Math.max(inProgress, states.filter((s) => s.state === 'downloading').length);
      served = Math.max(served, states.filter((s) => s.state === 'downloading' && now - (lastBlock.get(s.eui) ?? 0) < 1000).length);
    }, 100);
    const t0 = Date.now();
    let started = 'at once';
    try {
      if (mode === 'at once') {
        await startJobs(r, euis);
        await transferred(r, euis);
      } else {
        const wave = Math.max(1, Math.min(r.client.info.maxJobs ?? limits.maxJobs, limits.maxJobs));
        const acked = new Set<number>();
        started = `in waves of ${wave}`;
        for (let from = 0; from < euis.length; from += wave) {
          const these = euis.slice(from, from + wave);
          // Every alert is held until the host takes it; past maxAlerts the hub starts nothing: ack, as chub distribute --ack does.
          const held = r.alerts.filter((a) => !acked.has(a.id));
          if (held.length + these.length > Math.min(r.client.info.maxAlerts ?? limits.maxAlerts, limits.maxAlerts)) {
            await ack(r, held.map((a) => a.eui));
            for (const a of held) acked.add(a.id);
          }
          await startJobs(r, these);
          await transferred(r, these);
        }
      }
    } catch (e) {
      if (!r.failure()) throw e;
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - t0) / 1000;
    const failure = r.failure();
    if (!failure) await sleep(700); // one more CHUB_MEM line
    const peak = r.mem.length ? Math.max(...r.mem.map((m) => m.peak)) : null;
    const total = r.mem.length ? r.mem[0].total : null;
    const completed = euis.filter((e) => r.alerts.some((a) => a.eui === e && a.code === 0x8f8a)).length;
    if (peak === null && !failure) throw new StepError(`${ctx.board.name}: ${scenario}`, 'the firmware printed no CHUB_MEM lines (chub.json debug): no peak to report');
    return {
      ...(hubConfig ? { hubConfig } : {}),
      started,
      peak: failure ? null : peak,
      ...(failure ? { peakSampledBeforeFailure: peak } : {}),
      total,
      inProgressAtOnce: inProgress,
      servedAtOnce: served,
      completed,
      outOfMemory: failure !== null && /OUT OF MEMORY|LOW_MEMORY|,MEMORY/.test(failure),
      ...(failure ? { failure: failure.replace(/\s+/g, ' ').slice(0, 300) } : {}),
      seconds: Math.round(seconds * 10) / 10,
    };
  });
}

export interface BoardMemory {
  board: string;
  interpreter: string;
  limits: Limits;
  emptyInterpreter: number;
  codeResident: Figure<{ usage: number; aboveEmpty: number }>;
  idle: Figure<number>;
  /** Where the idle JsVars are (idleSizes), when the build's member names were given. */
  idleSizes?: Figure<{ hub: Sizes; driver: Sizes }>;
  perTransfer: Marginal['perTransfer'];
  perAlert: Marginal['perAlert'];
  perFinishedJob: Figure<FinishedJobs>;
  peak5: Figure<{ fitsAtOnce: boolean; fitsAtOnceWithLimitsRaised?: boolean; peak: number | null; concurrent: number; atOnce: PeakRun; boardLimits?: Figure<PeakRun> }>;
}

export async function boardMemory(tools: EspruinoTools, binary: string, interpreter: string, board: BoardFile, bundle: Uint8Array, empty: number, log: (l: string) => void, members?: Record<string, string>): Promise<BoardMemory> {
  const ctx: Ctx = { tools, binary, board, bundle, log };
  const limits = limitsOf(board);
  const code = await attempt(async () => {
    const usage = await codeResident(ctx);
    return { usage, aboveEmpty: usage - empty };
  });
  const idleFigure = await attempt(() => idle(ctx));
  const sizes = members ? await attempt(() => idleSizes(ctx, members)) : undefined;
  const st = await marginal(ctx);
  const fin = await attempt(() => finishedJobs(ctx, limits));
  const peak5 = await attempt(async () => {
    const atOnce = await peakRun(ctx, limits, 'at once');
    const allServed = atOnce.completed === AT_ONCE && !atOnce.failure && atOnce.servedAtOnce === AT_ONCE;
    // With the board's own limits too, when they do not allow 5 at once: its peak serving them as it can.
    const boardLimits = atOnce.hubConfig ? await attempt(() => peakRun(ctx, limits, 'waves')) : undefined;
    const own = boardLimits && !('error' in boardLimits) && !('during' in boardLimits) ? boardLimits : atOnce.hubConfig ? undefined : atOnce;
    return {
      /** The board as its file configures it serves all 5 at once, within its JsVars. */
      fitsAtOnce: !atOnce.hubConfig && allServed,
      ...(atOnce.hubConfig ? { fitsAtOnceWithLimitsRaised: allServed } : {}),
      /** With the board's own limits (at once, or in its waves). */
      peak: own ? own.peak : null,
      concurrent: own ? own.servedAtOnce : atOnce.servedAtOnce,
      atOnce,
      ...(boardLimits ? { boardLimits } : {}),
    };
  });
  return {
    board: board.name,
    interpreter,
    limits,
    emptyInterpreter: empty,
    codeResident: code,
    idle: idleFigure,
    ...(sizes ? { idleSizes: sizes } : {}),
    perTransfer: st.perTransfer,
    perAlert: st.perAlert,
    perFinishedJob: fin,
    peak5,
  };
}
