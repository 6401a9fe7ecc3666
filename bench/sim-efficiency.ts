// How close the hub comes to what the system allows, and how fast the simulator runs: for 1, 10 and 50
// devices at 0% and 10% loss per attempt, the measured time of the transfers ÷ their system floor (host-tools/
// sim/system-floor.ts: UART, stick and channel together) and ÷ their airtime floor (airtime-floor.ts: the
// channel alone), each device's time, Jain's fairness index over the devices' throughputs, averaged over a
// few seeds; and the simulator's own speed in frames per second. `make bench` (bench/run.ts) includes it;
// run alone, it prints its own JSON. Its options are for sensitivity runs only (docs/simulator.md, *Figures*):
// `make bench` passes none.
import { parseScenario } from '../host-tools/sim/scenario';
import { runScenario } from '../host-tools/sim/scenario-run';
import { DEFAULT_TIMING } from '../host-tools/sim/ota-client';
import { floorDevice, systemFloor } from '../host-tools/sim/system-floor';
import { DEFAULT_CONFIG } from '../firmware/core/hub';

const IMAGE_BYTES = 200 * 1024; // a typical PPMID/HCALCS image is 200–300 kB (FACTS §3)
/** 50 devices of 200 kB would take over half an hour of virtual time a run; a 40 kB image keeps the bench to seconds and every ratio comparable. */
const SCALED_IMAGE_BYTES = 40 * 1024;
const SEEDS = [1, 2, 3];
const CASES = [1, 10, 50].flatMap((devices) => [0, 0.1].map((loss) => ({ devices, loss, imageBytes: devices >= 50 ? SCALED_IMAGE_BYTES : IMAGE_BYTES })));

/** Devices join 200 ms apart, as a HAN forms, and the jobs start once all are on the network. */
function scenario(devices: number, loss: number, imageBytes: number) {
  const half = Math.ceil(devices / 2);
  const join = (first: number) => `join: ${first}ms, joinSpacing: 200ms`;
  const groups = [`  - { type: PPMID, count: ${half}, ${join(1000)} }`, devices > half ? `  - { type: HCALCS, count: ${devices - half}, ${join(1000 + half * 200)} }` : ''].filter(Boolean).join('\n');
  const start = 5000 + devices * 200;
  return parseScenario(`image: { size: ${imageBytes} }\nstart: ${start}ms\nlink: { loss: ${loss} }\ndevices:\n${groups}\nexpect: { allSucceed: true }\n`, `bench-${devices}x-${loss}.yaml`);
}

/** Jain's fairness index, (Σx)² ÷ (n·Σx²): 1 when every x is equal, 1/n when one takes everything. */
function jainIndex(xs: number[]): number {
  const s = xs.reduce((n, x) => n + x, 0);
  return (s * s) / (xs.length * xs.reduce((n, x) => n + x * x, 0));
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const mean = (xs: number[]) => xs.reduce((n, x) => n + x, 0) / xs.length;

export interface SimEfficiencyOptions {
  /** Every simulated client's processing time (ota-client.ts processingMs, default 0), ms; its system floor counts it
   *  too. An illustrative, unsourced value for a sensitivity run, never the bench's. */
  clientProcessingMs?: number;
  /** Only the cases with these device counts / loss rates (default: every case). */
  devices?: number[];
  losses?: number[];
}

export function simEfficiency(opts: SimEfficiencyOptions = {}) {
  let frames = 0;
  let wallMs = 0;
  const timing = opts.clientProcessingMs !== undefined ? { processingMs: opts.clientProcessingMs } : undefined;
  const cases = CASES.filter((c) => (!opts.devices || opts.devices.includes(c.devices)) && (!opts.losses || opts.losses.includes(c.loss)));
  const runs = cases.map(({ devices, loss, imageBytes }) => {
    const s = scenario(devices, loss, imageBytes);
    const maxBlock = s.hub.maxBlock ?? DEFAULT_CONFIG.maxBlock;
    const per = SEEDS.map((seed) => {
      const { report, speed } = runScenario(s, { seed, timing });
      if (!report.ok || report.measuredMs === null || report.floorMs === null) throw new Error(`${devices} devices at ${loss * 100}% loss, seed ${seed}: ${JSON.stringify(report.expectations.filter((e) => !e.ok))}`);
      frames += report.radio.frames;
      wallMs += speed.wallMs;
      const floor = systemFloor(report.imageSize, s.devices.map((d) => floorDevice(d, maxBlock, { ...DEFAULT_TIMING, ...timing })));
      const times = report.devices.map((d) => (d.timeMs as number) / 1000);
      return { measuredS: report.measuredMs / 1000, floor, airtimeFloorS: report.floorMs / 1000, times, jain: jainIndex(times.map((t) => report.imageSize / t)) };
    });
    const floor = per[0].floor; // the same for every seed
    const measuredS = mean(per.map((r) => r.measuredS));
    return {
      devices,
      lossPerAttempt: loss,
      imageBytes,
      measuredS: round(measuredS, 1),
      perSystemFloor: round(mean(per.map((r) => r.measuredS / (r.floor.ms / 1000)))),
      perAirtimeFloor: round(mean(per.map((r) => r.measuredS / r.airtimeFloorS))),
      jain: round(mean(per.map((r) => r.jain)), 3),
      systemFloorS: round(floor.ms / 1000, 1),
      systemFloorBound: floor.bound,
      /** criticalPath includes its mean CSMA-CA initial backoffs (3.5 × 320 µs a frame) and mean query jitter, shown on their own. */
      systemFloorTermsS: { criticalPath: round(floor.criticalPathMs / 1000, 1), criticalPathCsmaBackoff: round(floor.csmaBackoffMs / 1000, 2), criticalPathQueryJitter: round(floor.queryJitterMs / 1000, 2), uartToStick: round(floor.toStickMs / 1000, 1), uartToHub: round(floor.toHubMs / 1000, 1), channel: round(floor.airMs / 1000, 1) },
      airtimeFloorS: round(mean(per.map((r) => r.airtimeFloorS)), 1),
      perSystemFloorBySeed: per.map((r) => round(r.measuredS / (r.floor.ms / 1000))),
      /** Each device's time from the jobs' start to its 0x8F8A (s), seed by seed, in device order. */
      deviceTimesSBySeed: per.map((r) => r.times.map((t) => round(t, 1))),
    };
  });
  return {
    what:
      'measured = jobs start to last 0x8F8A; ÷ system floor (the larger of the slowest device critical path, with the mean initial CSMA-CA backoff of each of its frames and the mean client query jitter, and the busiest of UART to stick incl. each SRSP, UART to hub, channel; frames by the real encoders, NWK security included) and ÷ airtime floor (mandatory frames + ACKs only); jain = Jain index over per-device throughput; ' +
      `image ${IMAGE_BYTES} bytes for 1 and 10 devices, scaled to ${SCALED_IMAGE_BYTES} bytes for 50 devices to keep the run short; means over seeds; hub at its default config but for its limits, which take every device at once (maxJobs and maxSessions = devices; radioWindow ${DEFAULT_CONFIG.radioWindow}; host-tools/sim/virtual-bench.ts)`,
    seeds: SEEDS,
    ...(timing ? { clientProcessingMs: timing.processingMs } : {}),
    runs,
    simulator: { frames, wallS: round(wallMs / 1000), framesPerSecond: Math.round(frames / (wallMs / 1000)) },
  };
}

if (require.main === module) console.log(JSON.stringify(simEfficiency(), null, 2));
