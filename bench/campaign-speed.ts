// How fast campaign runners drive hubs through a stage, and what the database costs them: a one-stage
// campaign over 60 emulated hubs (3 devices each, a 2 KB image, simulator time scale 0.05) run by one runner on
// SQLite and by three bench runners sharing one PostgreSQL database (a throwaway cluster). Each runner is its
// own process, as `chub campaign run` is, with its store wrapped to time every call: database time per device
// is the summed length of those calls (waiting for a connection, and on PostgreSQL for the campaign's
// transaction lock, included) ÷ devices, and busy time per device the time any call was under way, counting
// calls made at once once. Hubs per second are the stage's hubs ÷ the time from the stage's
// start to its gate, as the database records them. `make bench` (bench/run.ts) includes it; run alone, it
// prints its own JSON.
import { fork } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { runPool } from '../host-tools/campaign/async-pool';
import { loadPlan } from '../host-tools/campaign/campaign-plan';
import { runCampaign } from '../host-tools/campaign/campaign-runner';
import { CampaignStore } from '../host-tools/campaign/campaign-store';
import { FleetLinks } from '../host-tools/campaign/fleet-links';
import { openCampaignStore } from '../host-tools/campaign/open-campaign-store';
import { fleetYaml, HubSpec, RunningHub, startHub } from '../test/campaign/fleet-bench';
import { makeImage } from '../test/helpers/images';
import { startPostgresCluster } from '../test/helpers/postgres-cluster';

const HUBS = 60;
const DEVICES_PER_HUB = 3;
const TIME_SCALE = 0.05;
const IMAGE_BYTES = 2 * 1024;
/** Hubs in flight across the fleet, the same on both databases: one runner works them all, or three a third each. */
const IN_FLIGHT = 12;
const BENCHES = ['north', 'central', 'south'];

/** What a runner process reports when its run ends. */
interface RunnerReport {
  result: string;
  /** The store calls' lengths, summed: calls the runner's hubs make at once each count in full. */
  storeMs: number;
  /** The time at least one store call was under way: what the database held the runner up, counted once. */
  busyMs: number;
  storeCalls: number;
}

type Timing = Omit<RunnerReport, 'result'>;

/** The store with every call that returns a promise timed, from the call to its settling. */
function timed(store: CampaignStore, t: Timing): CampaignStore {
  let inFlight = 0;
  let busySince = 0;
  return new Proxy(store, {
    get(target, key, receiver) {
      const v: unknown = Reflect.get(target, key, receiver);
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r: unknown = v.apply(target, args);
        if (!(r instanceof Promise)) return r;
        t.storeCalls++;
        if (inFlight++ === 0) busySince = t0;
        return r.finally(() => {
          const t1 = performance.now();
          t.storeMs += t1 - t0;
          if (--inFlight === 0) t.busyMs += t1 - busySince;
        });
      };
    },
  });
}

/** The child's side: one runner, as `chub campaign run plan --bench NAME --db DB` runs, reporting its store time. */
async function runnerProcess(planFile: string, bench: string, db: string): Promise<void> {
  const loaded = loadPlan(planFile, undefined, bench || undefined);
  const t: Timing = { storeMs: 0, busyMs: 0, storeCalls: 0 };
  const store = timed(await openCampaignStore(db), t);
  const links = new FleetLinks(loaded.fleet);
  try {
    const outcome = await runCampaign({ ...loaded, store, links, log: () => undefined });
    process.send!({ result: outcome.result, ...t } satisfies RunnerReport);
  } finally {
    await links.closeAll();
    await store.close();
  }
}

/** A runner in its own process; resolves with its report. */
function runner(planFile: string, bench: string, db: string): Promise<RunnerReport> {
  const child = fork(__filename, ['runner', planFile, bench, db], {
    execArgv: ['-r', require.resolve('ts-node/register/transpile-only')],
    env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '..', 'tsconfig.json'), TS_NODE_SWC: 'true' },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let report: RunnerReport | undefined;
  child.on('message', (m) => (report = m as RunnerReport));
  return new Promise((resolve, reject) =>
    child.once('exit', (code) => {
      if (report?.result === 'done') resolve(report);
      else reject(new Error(`runner${bench ? ` of bench ${bench}` : ''} ended ${report ? report.result : `with exit code ${code}`}: ${stderr.trim()}`));
    }),
  );
}

function specs(): HubSpec[] {
  return Array.from({ length: HUBS }, (_, i) => ({
    id: `hub-${String(i + 1).padStart(3, '0')}`,
    variant: 'A',
    region: BENCHES[i % 3],
    devices: Array.from({ length: DEVICES_PER_HUB }, (_, j) => ({
      eui: `000D6F02${i.toString(16).padStart(4, '0')}${j.toString(16).padStart(4, '0')}`.toUpperCase(),
      type: j === 1 ? ('HCALCS' as const) : ('PPMID' as const),
    })),
  }));
}

interface StageFigures {
  runners: number;
  hubsAtOnce: number;
  stageS: number;
  hubsPerS: number;
  dbMsPerDevice: number;
  dbBusyMsPerDevice: number;
  storeCallsPerDevice: number;
}

/** Writes a fleet file of `hubs` in `dir`; returns its name there. */
function writeFleet(dir: string, name: string, hubs: RunningHub[]): string {
  fs.writeFileSync(path.join(dir, `fleet-${name}.yaml`), fleetYaml(hubs));
  return `fleet-${name}.yaml`;
}

/** Runs the one-stage campaign over fresh hubs with one runner per bench (or one without benches); measures it. */
async function measure(dir: string, db: string, benches: string[]): Promise<StageFigures> {
  let hubs: RunningHub[] = [];
  try {
    await runPool(specs(), 20, async (s) => void hubs.push(await startHub(s, TIME_SCALE)), () => true);
    hubs = hubs.sort((a, b) => a.id.localeCompare(b.id));
    const where = benches.length ? { benches: benches.map((b, i) => ({ name: b, fleet: writeFleet(dir, b, hubs.filter((_, j) => j % benches.length === i)) })) } : { fleet: writeFleet(dir, 'all', hubs) };
    const concurrency = IN_FLIGHT / Math.max(1, benches.length);
    const planFile = path.join(dir, `plan-${benches.length}.yaml`);
    const deploy = { image: 'fw-v2.ota', name: 'fw-v2', activate: true };
    fs.writeFileSync(planFile, stringify({ name: 'speed', ...where, deploy, concurrency, confirm: { interval: 0.5, tries: 20 }, stages: [{ name: 'mass' }] }));
    const reports = await Promise.all((benches.length ? benches : ['']).map((b) => runner(planFile, b, db)));
    const store = await openCampaignStore(db, { readonly: true });
    const [stage] = await store.stages();
    await store.close();
    const stageS = (stage.finished! - stage.started!) / 1000;
    const devices = HUBS * DEVICES_PER_HUB;
    const sum = (f: (r: RunnerReport) => number) => reports.reduce((n, r) => n + f(r), 0);
    return {
      runners: reports.length,
      hubsAtOnce: IN_FLIGHT,
      stageS: round(stageS),
      hubsPerS: round(HUBS / stageS),
      dbMsPerDevice: round(sum((r) => r.storeMs) / devices),
      dbBusyMsPerDevice: round(sum((r) => r.busyMs) / devices),
      storeCallsPerDevice: round(sum((r) => r.storeCalls) / devices, 1),
    };
  } finally {
    await Promise.all(hubs.map((h) => h.close()));
  }
}

const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

export async function campaignSpeed() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-campaign-speed-'));
  try {
    fs.writeFileSync(path.join(dir, 'fw-v2.ota'), makeImage({ fileVersion: 2, size: IMAGE_BYTES }));
    const sqlite = await measure(dir, path.join(dir, 'speed.db'), []);
    // Without PostgreSQL the figure says why (how to install it), as the other sections' missing figures do.
    const cluster = await startPostgresCluster().catch((e: Error) => e);
    let postgres: StageFigures | { error: string };
    if (cluster instanceof Error) postgres = { error: cluster.message };
    else {
      try {
        postgres = await measure(dir, await cluster.newDatabase(), BENCHES);
      } finally {
        await cluster.stop();
      }
    }
    return { hubs: HUBS, devices: HUBS * DEVICES_PER_HUB, imageBytes: IMAGE_BYTES, timeScale: TIME_SCALE, sqlite, postgres };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const [mode, ...args] = process.argv.slice(2);
  const work = mode === 'runner' ? runnerProcess(args[0], args[1], args[2]) : campaignSpeed().then((r) => console.log(JSON.stringify(r, null, 2)));
  work.catch((e) => {
    console.error(`campaign-speed: ${(e as Error).stack}`);
    process.exitCode = 1;
  });
}
