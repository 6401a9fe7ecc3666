// How close the hub comes to the radio's limit, and how fast the simulator runs: for 1 and 10 devices at
// 0% and 10% loss per attempt, the measured time of the transfers ÷ their airtime floor (host-tools/sim/
// airtime-floor.ts), averaged over a few seeds, and the simulator's own speed in frames per second.
// `make bench` (bench/run.ts) includes it; run alone, it prints its own JSON.
import { parseScenario } from '../host-tools/sim/scenario';
import { runScenario } from '../host-tools/sim/scenario-run';

const IMAGE_BYTES = 200 * 1024; // a typical PPMID/HCALCS image is 200–300 kB (FACTS §3)
const SEEDS = [1, 2, 3];
const CASES = [
  { devices: 1, loss: 0 },
  { devices: 1, loss: 0.1 },
  { devices: 10, loss: 0 },
  { devices: 10, loss: 0.1 },
];

function scenario(devices: number, loss: number) {
  const half = Math.ceil(devices / 2);
  const groups = [`  - { type: PPMID, count: ${half} }`, devices > half ? `  - { type: HCALCS, count: ${devices - half} }` : ''].filter(Boolean).join('\n');
  return parseScenario(`image: { size: ${IMAGE_BYTES} }\nlink: { loss: ${loss} }\ndevices:\n${groups}\nexpect: { allSucceed: true }\n`, `bench-${devices}x-${loss}.yaml`);
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export function simEfficiency() {
  let frames = 0;
  let wallMs = 0;
  const runs = CASES.map(({ devices, loss }) => {
    const per = SEEDS.map((seed) => {
      const { report, speed } = runScenario(scenario(devices, loss), { seed });
      if (!report.ok || report.efficiency === null) throw new Error(`${devices} devices at ${loss * 100}% loss, seed ${seed}: ${JSON.stringify(report.expectations.filter((e) => !e.ok))}`);
      frames += report.radio.frames;
      wallMs += speed.wallMs;
      return { seed, efficiency: report.efficiency, measuredS: (report.measuredMs as number) / 1000, floorS: (report.floorMs as number) / 1000, macRetries: report.radio.macRetries };
    });
    const mean = (k: 'efficiency' | 'measuredS' | 'floorS') => per.reduce((n, r) => n + r[k], 0) / per.length;
    return {
      devices,
      lossPerAttempt: loss,
      efficiency: round(mean('efficiency')),
      measuredS: round(mean('measuredS'), 1),
      floorS: round(mean('floorS'), 1),
      efficiencyBySeed: per.map((r) => round(r.efficiency)),
    };
  });
  return {
    what: 'efficiency = measured time (jobs start to last success) ÷ airtime floor (mandatory frames + ACKs, no backoff, no loss); 1 is the radio limit',
    imageBytes: IMAGE_BYTES,
    seeds: SEEDS,
    runs,
    simulator: { frames, wallS: round(wallMs / 1000), framesPerSecond: Math.round(frames / (wallMs / 1000)) },
  };
}

if (require.main === module) console.log(JSON.stringify(simEfficiency(), null, 2));
