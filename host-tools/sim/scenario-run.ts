// Runs a scenario on the virtual bench: devices join, the host uploads the image and starts one transfer
// job per device, faults strike at their times, and the run ends when every job has its alert (or the
// scenario's time is up). Out come a per-device report, the airtime floor, the expectations' verdicts,
// a timeline and, if asked, a capture.
import * as fs from 'fs';
import { ALERT_TRANSFER_FAILED, ALERT_TRANSFER_SUCCEEDED, JOB_START_MAX as JOB_START_BATCH } from '../link/hub-protocol';
import { bytesSource, parseImageHeader } from '../../firmware/core/image-header';
import { buildImage } from '../image/image-builder';
import { transferFloorMs } from './airtime-floor';
import { formatDuration } from './durations';
import { ClientEvent, ClientState, ClientTiming, SimDeviceType, SimOtaClient } from './ota-client';
import { HanCapture } from './pcap-writer';
import { AirFrame, RadioStats } from './radio-model';
import { Fault, ImageSource, Scenario, ScenarioDevice, ScenarioError } from './scenario';
import { Timeline, TimelineLane } from './timeline-svg';
import { VirtualBench } from './virtual-bench';

/** 'unfinished': a listed device without its transfer alert; 'none': an unlisted one, rightly without. */
export type Outcome = 'success' | 'failed' | 'unfinished' | 'none';

export interface DeviceResult {
  eui: string;
  type: SimDeviceType;
  profile: string;
  result: Outcome;
  responseCode?: number;
  /** From the job's start to its transfer alert. */
  timeMs?: number;
  /** Requests the client had to repeat, WAIT_FOR_DATA answers, downloads lost to a reboot. */
  retries: number;
  waits: number;
  reboots: number;
  /** Block data the client received, repeats included. */
  bytes: number;
  /** Image bytes per second over timeMs (successes only). */
  throughput?: number;
  macRetries: number;
  lostFrames: number;
  /** Every alert the hub raised for the device, in order (0x8F8A, 0x8F89, 0x8F8B…). */
  alerts: number[];
  /** The device when the run ended. */
  final: { state: ClientState; fileVersion: number; heldVersion?: number; lastError?: string };
}

export interface ExpectationResult {
  what: string;
  ok: boolean;
  detail?: string;
}

export interface RunReport {
  scenario: string;
  file: string;
  seed: number;
  imageSize: number;
  devices: DeviceResult[];
  succeeded: number;
  /** From the jobs' start to the last successful transfer. */
  measuredMs: number | null;
  /** Airtime floor of the successful transfers (airtime-floor.ts). */
  floorMs: number | null;
  /** measured ÷ floor: 1 would be a hub that keeps the channel busy with nothing but mandatory frames. */
  efficiency: number | null;
  /** Virtual time the run covered. */
  simulatedMs: number;
  radio: RadioStats;
  hubErrors: string[];
  expectations: ExpectationResult[];
  ok: boolean;
}

/** How fast the simulator itself ran (not part of the replayable report). */
export interface RunSpeed {
  wallMs: number;
  /** Frames the radio model carried per second of wall time. */
  framesPerSecond: number;
}

export interface RunOutput {
  report: RunReport;
  speed: RunSpeed;
  timeline: Timeline;
  /** A pcap file, when asked for. */
  pcap?: Buffer;
}

const IMAGE_NAME = 'scenario.ota';
/** After the last transfer alert the run goes on this long, so devices finish what the hub's last answer set off
 *  (an activating PPMID reboots in 3 s and queries again) and their final state is the settled one. */
const SETTLE_MS = 10000;

interface Trace {
  lane: TimelineLane;
  state: ClientState;
  retries: number;
  waits: number;
  reboots: number;
  bytes: number;
}

interface Ending {
  at: number;
  code: number;
  responseCode?: number;
}

function loadImage(src: ImageSource): { bytes: Uint8Array; manufacturerCode: number; imageType: number } {
  if (src.kind === 'built') return { bytes: buildImage(src.options), ...src.options };
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(fs.readFileSync(src.path));
  } catch (e) {
    throw new ScenarioError(`image.file: ${(e as Error).message}`);
  }
  const r = parseImageHeader(bytesSource(bytes));
  if (!r.ok) throw new ScenarioError(`image.file ${src.path}: not an OTA file: ${r.message}`);
  return { bytes, manufacturerCode: r.header.manufacturerCode, imageType: r.header.imageType };
}

export interface RunOptions {
  /** Replaces the scenario's seed. */
  seed?: number;
  /** Make a pcap file of the run. */
  capture?: boolean;
  /** Sees every frame put on the air. */
  observe?: (a: AirFrame) => void;
  /** Every client's timing over ota-client.ts DEFAULT_TIMING (tests: a query jitter of 0, say; sensitivity runs: a processingMs). */
  timing?: Partial<ClientTiming>;
}

export function runScenario(s: Scenario, opts: RunOptions = {}): RunOutput {
  const wall0 = Date.now();
  const seed = opts.seed ?? s.seed;
  const image = loadImage(s.image);
  // Devices are made for the image they are to receive (a file's header names it).
  const devices = s.devices.map((d) => ({ ...d, manufacturerCode: image.manufacturerCode, imageType: image.imageType }));
  const bench = new VirtualBench({ devices, seed, link: s.link, hub: s.hub, timing: opts.timing });
  const capture = opts.capture ? new HanCapture(bench.epochMs) : undefined;
  if (capture) bench.sim.radio.observe((a) => capture.add(a));
  if (opts.observe) bench.sim.radio.observe(opts.observe);

  const traces = new Map<string, Trace>();
  for (const d of devices) traces.set(d.eui, { lane: { label: `${d.eui} ${d.type}`, size: image.bytes.length, points: [], marks: [] }, state: 'idle', retries: 0, waits: 0, reboots: 0, bytes: 0 });
  bench.sim.on('client', (eui, e) => record(traces.get(eui) as Trace, e, bench.clock.now()));
  const endings = new Map<string, Ending>();
  const alerts = new Map<string, number[]>(devices.map((d) => [d.eui, []]));
  bench.onEvent((e, at) => {
    const a = e.alert as { code?: number; eui?: string; responseCode?: number } | undefined;
    if (e.ev !== 'alert' || !a || typeof a.eui !== 'string' || typeof a.code !== 'number') return;
    alerts.get(a.eui)?.push(a.code);
    if ((a.code === ALERT_TRANSFER_SUCCEEDED || a.code === ALERT_TRANSFER_FAILED) && !endings.has(a.eui)) endings.set(a.eui, { at, code: a.code, responseCode: a.responseCode });
  });
  const events: Timeline['events'] = [];

  bench.upload(IMAGE_NAME, image.bytes);
  const listed = devices.filter((d) => d.listed);
  for (const d of listed) bench.request('dev.add', { eui: d.eui, type: d.type });
  // Fault times count from the jobs' start, like every time in the report.
  for (const f of s.faults) bench.clock.setTimer(s.startMs + f.atMs, () => strike(bench, f, traces, events));
  bench.clock.setTimer(s.startMs, () => {
    for (const force of [false, true]) {
      const euis = listed.filter((d) => d.force === force).map((d) => d.eui);
      // The hub takes a few devices per job.start (its reply must fit one host-link frame).
      for (let i = 0; i < euis.length; i += JOB_START_BATCH) bench.request('job.start', { image: IMAGE_NAME, devices: euis.slice(i, i + JOB_START_BATCH), force });
    }
  });
  bench.run(s.durationMs, () => listed.length > 0 && endings.size === listed.length);
  bench.run(Math.min(s.durationMs, bench.clock.now() + SETTLE_MS));

  const results = devices.map((d) => deviceResult(d, traces.get(d.eui) as Trace, endings.get(d.eui), alerts.get(d.eui) as number[], s.startMs, image.bytes.length, bench));
  const ok = results.filter((r) => r.result === 'success');
  const blockSize = (d: ScenarioDevice) => Math.min(d.maxDataSize ?? 64, bench.cfg.maxBlock);
  const floorMs = ok.length ? devices.filter((d) => endings.get(d.eui)?.code === ALERT_TRANSFER_SUCCEEDED).reduce((n, d) => n + transferFloorMs(image.bytes.length, blockSize(d)), 0) : null;
  const measuredMs = ok.length ? Math.max(...ok.map((r) => r.timeMs as number)) : null;
  const simulatedMs = bench.clock.now();
  const partial = {
    scenario: s.name,
    file: s.file,
    seed,
    imageSize: image.bytes.length,
    devices: results,
    succeeded: ok.length,
    measuredMs,
    floorMs,
    efficiency: measuredMs !== null && floorMs ? measuredMs / floorMs : null,
    simulatedMs,
    radio: bench.sim.radio.stats(),
    hubErrors: bench.hubErrors.slice(),
  };
  const expectations = judge(s, partial);
  const report: RunReport = { ...partial, expectations, ok: expectations.every((e) => e.ok) };
  const wallMs = Date.now() - wall0;
  const timeline: Timeline = {
    title: `${s.name} (seed ${seed}): time from the jobs' start, ${ok.length}/${devices.length} succeeded`,
    from: s.startMs,
    to: simulatedMs,
    lanes: devices.map((d) => endLane(traces.get(d.eui) as Trace, endings.get(d.eui), s.startMs)),
    events,
  };
  return { report, speed: { wallMs, framesPerSecond: report.radio.frames / Math.max(wallMs / 1000, 1e-3) }, timeline, pcap: capture?.file() };
}

function record(tr: Trace, e: ClientEvent, t: number): void {
  const marks = tr.lane.marks;
  if (e.kind === 'block') {
    tr.bytes += e.bytes;
    tr.lane.points.push({ t, offset: e.offset });
  } else if (e.kind === 'retry') {
    tr.retries++;
    marks.push({ t, kind: 'retry', note: e.what + ' unanswered' });
  } else if (e.kind === 'wait') {
    tr.waits++;
    marks.push({ t, kind: 'wait', until: t + e.ms, note: `WAIT_FOR_DATA ${formatDuration(e.ms)}` });
  } else {
    if (e.state === 'downloading') tr.lane.points.push({ t, offset: 0 });
    if (e.state === 'rebooting' && tr.state === 'downloading') {
      tr.reboots++;
      tr.lane.points.push({ t, offset: 0 });
      marks.push({ t, kind: 'reboot', note: 'rebooted mid-download' });
    }
    if (e.state === 'idle' && e.error !== undefined) marks.push({ t, kind: 'gave-up', note: e.error });
    tr.state = e.state;
  }
}

function strike(bench: VirtualBench, f: Fault, traces: Map<string, Trace>, events: Timeline['events']): void {
  const t = bench.clock.now();
  if (f.kind === 'reboot') bench.sim.reboot(f.eui);
  else if (f.kind === 'outage') {
    bench.sim.outage(f.eui, f.forMs);
    traces.get(f.eui)?.lane.marks.push({ t, kind: 'outage', until: t + f.forMs, note: `link outage ${formatDuration(f.forMs)}` });
  } else if (f.kind === 'hub-reset') {
    bench.resetHub();
    events.push({ t, note: 'hub reset' });
  } else {
    bench.sim.resetStick();
    events.push({ t, note: 'radio reset' });
  }
}

function deviceResult(d: ScenarioDevice, tr: Trace, end: Ending | undefined, alerts: number[], startMs: number, size: number, bench: VirtualBench): DeviceResult {
  const link = bench.sim.radio.linkStats(d.nwk);
  const s = (bench.sim.client(d.eui) as SimOtaClient).status();
  const final: DeviceResult['final'] = { state: s.state, fileVersion: s.fileVersion };
  if (s.heldVersion !== undefined) final.heldVersion = s.heldVersion;
  if (s.lastError !== undefined) final.lastError = s.lastError;
  const r: DeviceResult = {
    eui: d.eui,
    type: d.type,
    profile: d.profile,
    result: end ? (end.code === ALERT_TRANSFER_SUCCEEDED ? 'success' : 'failed') : d.listed ? 'unfinished' : 'none',
    retries: tr.retries,
    waits: tr.waits,
    reboots: tr.reboots,
    bytes: tr.bytes,
    macRetries: link.macRetries,
    lostFrames: link.undelivered,
    alerts,
    final,
  };
  if (end) {
    r.timeMs = end.at - startMs;
    if (end.responseCode !== undefined) r.responseCode = end.responseCode;
    if (r.result === 'success') r.throughput = size / Math.max(r.timeMs / 1000, 1e-3);
  }
  return r;
}

function endLane(tr: Trace, end: Ending | undefined, startMs: number): TimelineLane {
  if (!end) return tr.lane;
  const ok = end.code === ALERT_TRANSFER_SUCCEEDED;
  const note = `${ok ? 'ok' : `failed (${end.responseCode ?? '?'})`} ${formatDuration(end.at - startMs)}`;
  return { ...tr.lane, end: { t: end.at, ok, note } };
}

function judge(s: Scenario, r: Omit<RunReport, 'expectations' | 'ok'>): ExpectationResult[] {
  const out: ExpectationResult[] = [];
  const byEui = new Map(r.devices.map((d) => [d.eui, d]));
  const describe = (d: DeviceResult) => `${d.result}${d.responseCode !== undefined && d.result === 'failed' ? ` (code ${d.responseCode})` : ''}${d.timeMs !== undefined ? ` after ${formatDuration(d.timeMs)}` : ''}`;
  for (const d of s.devices) {
    const got = byEui.get(d.eui) as DeviceResult;
    const e = d.expect;
    if (e.result !== undefined) out.push({ what: `${d.eui} result ${e.result}`, ok: got.result === e.result, detail: describe(got) });
    if (e.responseCode !== undefined) out.push({ what: `${d.eui} responseCode ${e.responseCode}`, ok: got.responseCode === e.responseCode, detail: describe(got) });
    if (e.maxTimeMs !== undefined)
      out.push({ what: `${d.eui} done within ${formatDuration(e.maxTimeMs)}`, ok: got.timeMs !== undefined && got.timeMs <= e.maxTimeMs, detail: describe(got) });
    const f = got.final;
    const shown = `${f.state}, version ${f.fileVersion}, holding ${f.heldVersion ?? 'none'}`;
    if (e.state !== undefined) out.push({ what: `${d.eui} ends ${e.state}`, ok: f.state === e.state, detail: shown });
    if (e.fileVersion !== undefined) out.push({ what: `${d.eui} ends on version ${e.fileVersion}`, ok: f.fileVersion === e.fileVersion, detail: shown });
    if (e.heldVersion !== undefined) out.push({ what: `${d.eui} ends holding ${e.heldVersion ?? 'none'}`, ok: (f.heldVersion ?? null) === e.heldVersion, detail: shown });
  }
  const g = s.expect;
  if (g.allSucceed) {
    const bad = r.devices.filter((d) => d.result !== 'success');
    out.push({ what: 'all transfers succeed', ok: bad.length === 0, detail: bad.length ? `${bad.length} did not: ${bad.slice(0, 5).map((d) => `${d.eui} ${describe(d)}`).join('; ')}` : undefined });
  }
  if (g.maxTimeMs !== undefined) {
    const slow = r.devices.filter((d) => d.timeMs === undefined || d.timeMs > (g.maxTimeMs as number));
    out.push({ what: `every transfer ends within ${formatDuration(g.maxTimeMs)}`, ok: slow.length === 0, detail: slow.length ? `${slow.length} did not, e.g. ${slow[0].eui} ${describe(slow[0])}` : undefined });
  }
  if (g.maxEfficiency !== undefined)
    out.push({
      what: `efficiency (measured ÷ airtime floor) at most ${g.maxEfficiency}`,
      ok: r.efficiency !== null && r.efficiency <= g.maxEfficiency,
      detail: r.efficiency === null ? 'no transfer succeeded' : `${r.efficiency.toFixed(2)}×`,
    });
  out.push({ what: 'the hub core threw no exception', ok: r.hubErrors.length === 0, detail: r.hubErrors[0] });
  return out;
}
